/**
 * Test fixture (not the product's simulator): a tiny OpenAI-compatible streaming server on
 * 127.0.0.1 with controllable timing and failures, that records what it received and the most
 * requests it had in flight at once. It streams like vLLM: chat sends a role-only chunk first, then
 * one chunk per token, then (with include_usage) a `choices: []` usage chunk, then `[DONE]`.
 * /metrics exposes vLLM V1 prefix-cache counters from a naive block cache (64-character blocks,
 * chained), enough to check that the benchmark reads them.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the server answers request number `n` (0-based, in arrival order). */
export interface Behaviour {
  /** Delay before the first chunk, ms. */
  ttftMs?: number;
  /** Delay between token chunks, ms. */
  itlMs?: number;
  /** Answer with this status and an OpenAI error body instead of streaming. */
  status?: number;
  /** Accept and never answer (until the client goes away). */
  hang?: boolean;
  /** Tokens to stream (default: max_tokens / max_completion_tokens, else 16). */
  tokens?: number;
  /** Leave out the usage chunk even when asked for. */
  noUsage?: boolean;
  /** Usage's completion_tokens to report, when it should differ from the chunks streamed. */
  reportedTokens?: number;
  /** Send a chunk with empty `choices` at once, before the TTFT delay (it must not count as a token). */
  emptyFirst?: boolean;
}

export interface ReceivedRequest {
  n: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
  /** Date.now() at arrival. */
  at: number;
}

export interface FakeOpenAi {
  url: string;
  received: ReceivedRequest[];
  /** Most requests in flight at once so far. */
  maxConcurrent(): number;
  inFlight(): number;
  /** Requests whose client went away before the end. */
  aborted(): number;
  close(): Promise<void>;
}

const BLOCK_CHARS = 64;

function promptText(json: Record<string, unknown>): string {
  if (typeof json.prompt === 'string') return json.prompt;
  const msgs = json.messages;
  if (!Array.isArray(msgs)) return '';
  return msgs.map((m: { role?: string; content?: string }) => `<${m.role}>${m.content ?? ''}`).join('');
}

export async function startFakeOpenAi(
  behaviour: (n: number, req: ReceivedRequest) => Behaviour = () => ({}),
  opts: { model?: string } = {},
): Promise<FakeOpenAi> {
  const model = opts.model ?? 'fake-model';
  const received: ReceivedRequest[] = [];
  const cachedBlocks = new Set<string>();
  let prefixQueries = 0;
  let prefixHits = 0;
  let successes = 0;
  let current = 0;
  let max = 0;
  let aborted = 0;
  const sockets = new Set<import('node:net').Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model' }] }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        '# TYPE vllm:prefix_cache_queries counter\n' +
          `vllm:prefix_cache_queries_total{engine="0",model_name="${model}"} ${prefixQueries}\n` +
          '# TYPE vllm:prefix_cache_hits counter\n' +
          `vllm:prefix_cache_hits_total{engine="0",model_name="${model}"} ${prefixHits}\n` +
          '# TYPE vllm:request_success counter\n' +
          `vllm:request_success_total{engine="0",finished_reason="length",model_name="${model}"} ${successes}\n` +
          '# TYPE vllm:num_requests_running gauge\n' +
          `vllm:num_requests_running{engine="0",model_name="${model}"} ${current}\n` +
          '# TYPE vllm:num_requests_waiting gauge\n' +
          `vllm:num_requests_waiting{engine="0",model_name="${model}"} 0\n` +
          '# TYPE vllm:kv_cache_usage_perc gauge\n' +
          `vllm:kv_cache_usage_perc{engine="0",model_name="${model}"} ${Math.min(1, current / 10)}\n`,
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const json = JSON.parse(body) as Record<string, unknown>;
    const n = received.length;
    const record: ReceivedRequest = { n, path, headers: req.headers, body, json, at: Date.now() };
    received.push(record);
    const b = behaviour(n, record);
    current++;
    if (current > max) max = current;
    let closed = false;
    res.on('close', () => {
      if (!res.writableEnded) aborted++;
      closed = true;
    });
    try {
      if (b.status !== undefined) {
        res.writeHead(b.status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: 'injected', type: 'InjectedError', param: null, code: b.status },
          }),
        );
        return;
      }
      if (b.hang) {
        await once(res, 'close');
        return;
      }
      // Naive prefix cache: leading 64-character blocks seen before count as hits (4 chars/token).
      const text = promptText(json);
      let matched = true;
      for (let i = 0; i + BLOCK_CHARS <= text.length; i += BLOCK_CHARS) {
        const key = text.slice(0, i + BLOCK_CHARS);
        if (matched && cachedBlocks.has(key)) prefixHits += BLOCK_CHARS / 4;
        else matched = false;
        cachedBlocks.add(key);
      }
      prefixQueries += Math.floor(text.length / 4);
      const chat = path.endsWith('/chat/completions');
      const maxTokens = (json.max_completion_tokens ?? json.max_tokens) as number | undefined;
      const tokens = b.tokens ?? maxTokens ?? 16;
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = `"id":"fake-${n}","created":0,"model":"${model}"`;
      if (b.emptyFirst) res.write(`data: {${base},"object":"text_completion","choices":[]}\n\n`);
      await sleep(b.ttftMs ?? 0);
      if (chat && !closed) {
        res.write(
          `data: {${base},"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`,
        );
      }
      for (let i = 0; i < tokens && !closed; i++) {
        if (i > 0 || chat) await sleep(b.itlMs ?? 0);
        const last = i === tokens - 1;
        const finish = last ? '"length"' : 'null';
        const payload = chat
          ? `{${base},"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" w${i}"},"finish_reason":${finish}}]}`
          : `{${base},"object":"text_completion","choices":[{"index":0,"text":" w${i}","finish_reason":${finish}}]}`;
        res.write(`data: ${payload}\n\n`);
      }
      const streamOptions = json.stream_options as { include_usage?: boolean } | undefined;
      if (!closed && streamOptions?.include_usage && !b.noUsage) {
        const completion = b.reportedTokens ?? tokens;
        res.write(
          `data: {${base},"object":"${chat ? 'chat.completion.chunk' : 'text_completion'}","choices":[],"usage":{"prompt_tokens":${Math.floor(text.length / 4)},"completion_tokens":${completion},"total_tokens":${Math.floor(text.length / 4) + completion}}}\n\n`,
        );
      }
      if (!closed) {
        res.end('data: [DONE]\n\n');
        successes++;
      }
    } finally {
      current--;
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    maxConcurrent: () => max,
    inFlight: () => current,
    aborted: () => aborted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
