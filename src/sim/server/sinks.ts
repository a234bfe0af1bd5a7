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
 * written once per engine wake-up by `flush`.
 */
import type { ServerResponse } from 'node:http';
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

abstract class StreamSink implements TokenSink {
  protected pending = '';
  protected emitted = 0;
  protected done = false;
  private dropped = false;
  protected readonly ctx: SinkContext;
  /** `data: {"id":…,"model":…,"choices":[` — shared head of every chunk. */
  protected readonly head: string;

  constructor(ctx: SinkContext, object: string) {
    this.ctx = ctx;
    this.head = `data: {"id":"${ctx.id}","object":"${object}","created":${ctx.created},"model":${JSON.stringify(ctx.model)},"choices":[`;
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    ctx.res.flushHeaders();
  }

  abstract onToken(req: EngineRequest, text: string, finish: FinishReason | null): void;

  flush(req?: EngineRequest): void {
    if (this.dropped) return;
    const res = this.ctx.res;
    if (this.pending.length > 0 && !res.destroyed) res.write(this.pending);
    this.pending = '';
    if (this.done) {
      if (!res.writableEnded && !res.destroyed) res.end();
    } else if (this.ctx.disconnectAfter > 0 && this.emitted >= this.ctx.disconnectAfter && req) {
      this.dropped = true;
      res.destroy();
      this.ctx.onInjectedDisconnect(req);
    }
  }
}

export class ChatStreamSink extends StreamSink {
  private lastReq: EngineRequest | undefined;

  constructor(ctx: SinkContext) {
    super(ctx, 'chat.completion.chunk');
  }

  onToken(req: EngineRequest, text: string, finish: FinishReason | null): void {
    this.lastReq = req;
    if (this.emitted === 0) {
      this.pending += `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
    }
    this.emitted++;
    this.pending += `${this.head}{"index":0,"delta":{"content":"${text}"},"logprobs":null,${
      finish ? finishJson(req, finish) : '"finish_reason":null'
    }}]}\n\n`;
    if (finish) {
      if (this.ctx.includeUsage) {
        this.pending += `${this.head}],"usage":${usageJson(req, this.ctx.promptTokensDetails, false)}}\n\n`;
      }
      this.pending += SSE_DONE;
      this.done = true;
    }
  }

  override flush(): void {
    super.flush(this.lastReq);
  }
}

export class CompletionStreamSink extends StreamSink {
  private lastReq: EngineRequest | undefined;

  constructor(ctx: SinkContext) {
    super(ctx, 'text_completion');
  }

  onToken(req: EngineRequest, text: string, finish: FinishReason | null): void {
    this.lastReq = req;
    this.emitted++;
    this.pending += `${this.head}{"index":0,"text":"${text}","logprobs":null,${
      finish ? finishJson(req, finish) : '"finish_reason":null,"stop_reason":null'
    }}],"usage":null}\n\n`;
    if (finish) {
      if (this.ctx.includeUsage) {
        this.pending += `${this.head}],"usage":${usageJson(req, this.ctx.promptTokensDetails, true)}}\n\n`;
      }
      this.pending += SSE_DONE;
      this.done = true;
    }
  }

  override flush(): void {
    super.flush(this.lastReq);
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

  onToken(req: EngineRequest, text: string, finish: FinishReason | null): void {
    this.lastReq = req;
    this.text += text;
    this.emitted++;
    if (!finish) return;
    const c = this.ctx;
    const usage = usageJson(req, c.promptTokensDetails, true);
    const model = JSON.stringify(c.model);
    this.body =
      this.kind === 'chat'
        ? `{"id":"${c.id}","object":"chat.completion","created":${c.created},"model":${model},"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"${this.text}","tool_calls":[]},"logprobs":null,${finishJson(req, finish)}}],"usage":${usage},"prompt_logprobs":null,"kv_transfer_params":null}`
        : `{"id":"${c.id}","object":"text_completion","created":${c.created},"model":${model},"choices":[{"index":0,"text":"${this.text}","logprobs":null,${finishJson(req, finish)},"prompt_logprobs":null}],"usage":${usage},"kv_transfer_params":null}`;
  }

  flush(): void {
    if (this.dropped) return;
    const res = this.ctx.res;
    if (this.body !== null) {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(this.body);
      }
      this.body = null;
    } else if (this.ctx.disconnectAfter > 0 && this.emitted >= this.ctx.disconnectAfter && this.lastReq) {
      this.dropped = true;
      res.destroy();
      this.ctx.onInjectedDisconnect(this.lastReq);
    }
  }
}
