/**
 * Writers of a request's output, in the exact shapes of vLLM's OpenAI server
 * (serving_chat.py / serving_completion.py):
 *
 * chat stream:  role chunk `delta:{"role":"assistant","content":""}` with the first token (i.e. only
 *               after prefill), one content chunk per token, the last one carrying finish_reason and
 *               stop_reason, then with include_usage a `choices:[]` chunk with usage, then [DONE].
 *               Chunks are serialised with exclude_unset (no `usage` key in content chunks).
 * completion stream: one `text_completion` chunk per token with `stop_reason` and `"usage":null`
 *               (exclude_unset=False), usage chunk, [DONE]. No role chunk.
 * non-stream:   one JSON body when the request finishes.
 *
 * Chunks are built from per-request string templates: generated text is VOCABULARY words (ASCII
 * letters and spaces), so it is embedded in JSON without escaping. Output buffered by `onToken` is
 * written by `flush` in one socket write, when the engine driver decides (see EngineDriver):
 * `onToken` says whether it must be at once (first token, last token, injected disconnect).
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EngineRequest, FinishReason, TokenSink } from '../engine/request.js';

export interface SinkContext {
  res: ServerResponse;
  /** chatcmpl-… / cmpl-… */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The `model` echoed in responses. */
  model: string;
  includeUsage: boolean;
  /** --enable-prompt-tokens-details: report usage.prompt_tokens_details.cached_tokens. */
  promptTokensDetails: boolean;
  /** Drop the connection after this many tokens (failure injection); 0 = never. */
  disconnectAfter: number;
  /** Called when the connection is dropped on purpose (the replica aborts the request). */
  onInjectedDisconnect: (req: EngineRequest) => void;
}

const SSE_DONE = 'data: [DONE]\n\n';
/** The rest of a content chunk after its text (not the last token). */
const CHAT_TOKEN_SUFFIX = '"},"logprobs":null,"finish_reason":null}]}\n\n';
const COMPLETION_TOKEN_SUFFIX =
  '","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}\n\n';

function usageJson(req: EngineRequest, details: boolean, nullDetails: boolean): string {
  const p = req.promptLen;
  const c = req.numOutputTokens;
  let s = `{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c}`;
  if (details && req.numCachedPromptTokens > 0) {
    s += `,"prompt_tokens_details":{"cached_tokens":${req.numCachedPromptTokens}}`;
  } else if (nullDetails) s += ',"prompt_tokens_details":null';
  return `${s}}`;
}

function finishJson(req: EngineRequest, finish: FinishReason): string {
  return `"finish_reason":"${finish}","stop_reason":${req.stopReason === null ? 'null' : JSON.stringify(req.stopReason)}`;
}

/** How a stream's chunks reach the client (decided once, when the headers are sent). */
type StreamWriter = (res: ServerResponse, data: string, bytes: number) => void;

/**
 * Writes one HTTP/1.1 chunk straight to the socket: `<hex length>\r\n<data>\r\n` in a single
 * write. ServerResponse.write would frame the same chunk as four corked writes flushed by a
 * `writev` on the next tick; this path is one `write` of one string (measured: 1.4–1.8 µs of user
 * CPU per write against 3.2 µs; the kernel's part, 5–7 µs, is the same).
 * Valid only while ServerResponse has handed everything it buffered to this socket and frames
 * the body as chunked; `res.end()` then writes the last chunk and the terminator as usual.
 */
function rawChunkWriter(socket: Socket, encoding: 'latin1' | 'utf8'): StreamWriter {
  return (res, data, bytes) => {
    if (!socket.destroyed) socket.write(`${bytes.toString(16)}\r\n${data}\r\n`, encoding);
    else if (!res.destroyed) res.write(data);
  };
}

const responseWriter: StreamWriter = (res, data) => {
  if (!res.destroyed) res.write(data);
};

/** The cheapest correct writer for a response whose headers were just flushed. */
function writerFor(res: ServerResponse, ascii: boolean): StreamWriter {
  const socket = res.socket;
  // Everything ServerResponse wrote is in the socket (nothing queued in the response itself, as
  // with a pipelined request waiting for its turn) and the body is chunked (HTTP/1.1).
  if (socket && res.chunkedEncoding && res.writableLength === socket.writableLength) {
    return rawChunkWriter(socket, ascii ? 'latin1' : 'utf8');
  }
  return responseWriter;
}

const ASCII = /^[\x20-\x7e]*$/;

abstract class StreamSink implements TokenSink {
  /** Chunks buffered since the last write, and their length in bytes. */
  protected pending = '';
  protected pendingBytes = 0;
  protected emitted = 0;
  protected done = false;
  private dropped = false;
  private lastReq: EngineRequest | undefined;
  protected readonly ctx: SinkContext;
  /** `data: {"id":…,"model":…,"choices":[` — shared head of every chunk. */
  protected readonly head: string;
  /** Bytes of `head` (the model name may be non-ASCII). */
  protected readonly headBytes: number;
  private readonly writer: StreamWriter;

  constructor(ctx: SinkContext, object: string) {
    this.ctx = ctx;
    this.head = `data: {"id":"${ctx.id}","object":"${object}","created":${ctx.created},"model":${JSON.stringify(ctx.model)},"choices":[`;
    this.headBytes = Buffer.byteLength(this.head);
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    ctx.res.flushHeaders();
    this.writer = writerFor(ctx.res, this.headBytes === this.head.length && ASCII.test(this.head));
  }

  /** Buffers `text` (a VOCABULARY word: ASCII, no JSON escaping) as chunk(s); sets `done` on finish. */
  protected abstract append(req: EngineRequest, text: string, finish: FinishReason | null): void;

  onToken(req: EngineRequest, text: string, finish: FinishReason | null): boolean {
    this.lastReq = req;
    this.append(req, text, finish);
    this.emitted++;
    const disconnect = this.ctx.disconnectAfter;
    return this.emitted === 1 || finish !== null || (disconnect > 0 && this.emitted >= disconnect);
  }

  /** Appends a string whose byte length the caller knows. */
  protected add(s: string, bytes: number): void {
    this.pending += s;
    this.pendingBytes += bytes;
  }

  /** Appends a string that may contain non-ASCII characters (usage, stop reasons: rare). */
  protected addText(s: string): void {
    this.pending += s;
    this.pendingBytes += Buffer.byteLength(s);
  }

  flush(): number {
    if (this.dropped) return 0;
    const res = this.ctx.res;
    let writes = 0;
    if (this.done) {
      if (!res.writableEnded && !res.destroyed) {
        res.end(this.pending);
        writes = 1;
      }
    } else if (this.pendingBytes > 0) {
      this.writer(res, this.pending, this.pendingBytes);
      writes = 1;
    }
    this.pending = '';
    this.pendingBytes = 0;
    const req = this.lastReq;
    if (!this.done && this.ctx.disconnectAfter > 0 && this.emitted >= this.ctx.disconnectAfter && req) {
      this.dropped = true;
      res.destroy();
      this.ctx.onInjectedDisconnect(req);
    }
    return writes;
  }
}

export class ChatStreamSink extends StreamSink {
  /** head + the role chunk, and the two halves of a content chunk around its text. */
  private readonly roleChunk: string;
  private readonly roleChunkBytes: number;
  private readonly tokenPrefix: string;
  private readonly tokenPrefixBytes: number;

  constructor(ctx: SinkContext) {
    super(ctx, 'chat.completion.chunk');
    this.roleChunk = `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
    this.roleChunkBytes = this.headBytes + (this.roleChunk.length - this.head.length);
    this.tokenPrefix = `${this.head}{"index":0,"delta":{"content":"`;
    this.tokenPrefixBytes = this.headBytes + (this.tokenPrefix.length - this.head.length);
  }

  protected append(req: EngineRequest, text: string, finish: FinishReason | null): void {
    if (this.emitted === 0) this.add(this.roleChunk, this.roleChunkBytes);
    this.add(this.tokenPrefix, this.tokenPrefixBytes);
    if (finish === null) {
      this.add(text, text.length);
      this.add(CHAT_TOKEN_SUFFIX, CHAT_TOKEN_SUFFIX.length);
      return;
    }
    this.addText(`${text}"},"logprobs":null,${finishJson(req, finish)}}]}\n\n`);
    if (this.ctx.includeUsage) {
      this.addText(`${this.head}],"usage":${usageJson(req, this.ctx.promptTokensDetails, false)}}\n\n`);
    }
    this.add(SSE_DONE, SSE_DONE.length);
    this.done = true;
  }
}

export class CompletionStreamSink extends StreamSink {
  private readonly tokenPrefix: string;
  private readonly tokenPrefixBytes: number;

  constructor(ctx: SinkContext) {
    super(ctx, 'text_completion');
    this.tokenPrefix = `${this.head}{"index":0,"text":"`;
    this.tokenPrefixBytes = this.headBytes + (this.tokenPrefix.length - this.head.length);
  }

  protected append(req: EngineRequest, text: string, finish: FinishReason | null): void {
    this.add(this.tokenPrefix, this.tokenPrefixBytes);
    if (finish === null) {
      this.add(text, text.length);
      this.add(COMPLETION_TOKEN_SUFFIX, COMPLETION_TOKEN_SUFFIX.length);
      return;
    }
    this.addText(`${text}","logprobs":null,${finishJson(req, finish)}}],"usage":null}\n\n`);
    if (this.ctx.includeUsage) {
      this.addText(`${this.head}],"usage":${usageJson(req, this.ctx.promptTokensDetails, true)}}\n\n`);
    }
    this.add(SSE_DONE, SSE_DONE.length);
    this.done = true;
  }
}

/** Non-streaming: the whole response as one JSON body when the request finishes. */
export class JsonResponseSink implements TokenSink {
  private readonly ctx: SinkContext;
  private readonly kind: 'chat' | 'completion';
  private text = '';
  private emitted = 0;
  private body: string | null = null;
  private dropped = false;
  private lastReq: EngineRequest | undefined;

  constructor(ctx: SinkContext, kind: 'chat' | 'completion') {
    this.ctx = ctx;
    this.kind = kind;
  }

  onToken(req: EngineRequest, text: string, finish: FinishReason | null): boolean {
    this.lastReq = req;
    this.text += text;
    this.emitted++;
    if (!finish) return this.ctx.disconnectAfter > 0 && this.emitted >= this.ctx.disconnectAfter;
    const c = this.ctx;
    const usage = usageJson(req, c.promptTokensDetails, true);
    const model = JSON.stringify(c.model);
    this.body =
      this.kind === 'chat'
        ? `{"id":"${c.id}","object":"chat.completion","created":${c.created},"model":${model},"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"${this.text}","tool_calls":[]},"logprobs":null,${finishJson(req, finish)}}],"usage":${usage},"prompt_logprobs":null,"kv_transfer_params":null}`
        : `{"id":"${c.id}","object":"text_completion","created":${c.created},"model":${model},"choices":[{"index":0,"text":"${this.text}","logprobs":null,${finishJson(req, finish)},"prompt_logprobs":null}],"usage":${usage},"kv_transfer_params":null}`;
    return true;
  }

  flush(): number {
    if (this.dropped) return 0;
    const res = this.ctx.res;
    if (this.body !== null) {
      let writes = 0;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(this.body);
        writes = 1;
      }
      this.body = null;
      return writes;
    }
    if (this.ctx.disconnectAfter > 0 && this.emitted >= this.ctx.disconnectAfter && this.lastReq) {
      this.dropped = true;
      res.destroy();
      this.ctx.onInjectedDisconnect(this.lastReq);
    }
    return 0;
  }
}
