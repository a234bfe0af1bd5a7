/**
 * Small upstream servers for gateway tests, on 127.0.0.1 with OS-chosen ports: they answer
 * `GET /metrics` with vLLM's load gauges (requests in flight) for the gateway's scheduler, record
 * every other request they received, count requests whose client went away before the response
 * ended (aborts), and can act like an OpenAI-compatible model server (chat/completions,
 * completions, SSE with usage).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface TestUpstream {
  name: string;
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests whose connection closed before their response ended. */
  aborted: number;
  /** Requests received but not answered yet. */
  open: number;
  waitFor(cond: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startUpstream(name: string, handler: Handler): Promise<TestUpstream> {
  const sockets = new Set<Socket>();
  const up: TestUpstream = {
    name,
    url: '',
    port: 0,
    requests: [],
    aborted: 0,
    open: 0,
    waitFor: (cond, what, timeoutMs = 10_000) => waitFor(cond, `${name}: ${what}`, timeoutMs),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      // A model server's load as vLLM reports it, for the gateway's scheduler (not recorded).
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(vllmMetrics(up.open));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      up.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      up.open++;
      res.on('close', () => {
        up.open--;
        if (!res.writableFinished) up.aborted++;
      });
      res.setHeader('x-upstream-name', name);
      Promise.resolve(handler(req, res, body)).catch(() => res.destroy());
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  up.port = (server.address() as AddressInfo).port;
  up.url = `http://127.0.0.1:${up.port}`;
  return up;
}

/** vLLM V1 gauges for `running` requests in flight, nothing waiting, an empty KV cache. */
function vllmMetrics(running: number): string {
  const l = '{engine="0",model_name="fake-model"}';
  return (
    `# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running${l} ${running}\n` +
    `# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting${l} 0\n` +
    `# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc${l} 0\n`
  );
}

/** Polls `cond` (refreshing state with `poll` first, if given) until true; rejects after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean,
  what: string,
  timeoutMs = 10_000,
  poll?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (poll) await poll();
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface FakeOpenAiOptions {
  /** Completion tokens per answer (overridden by max_tokens / max_completion_tokens). */
  tokens?: number;
  /** Delay before the first chunk and between chunks of a stream, ms. */
  chunkDelayMs?: number;
}

/**
 * An OpenAI-compatible handler. Behaviour switches by request header `x-test`:
 * `hang` (never answer), `status-<code>` (answer that status with an OpenAI error body),
 * `reset` (destroy the connection without answering), `cut` (stream two chunks, then destroy).
 */
export function fakeOpenAi(opts: FakeOpenAiOptions = {}): Handler {
  return async (req, res, body) => {
    const test = req.headers['x-test'];
    if (test === 'hang') return;
    if (test === 'reset') {
      res.socket?.destroy();
      return;
    }
    if (typeof test === 'string' && test.startsWith('status-')) {
      const status = Number(test.slice(7));
      json(res, status, { error: { message: `fake ${status}`, type: 'Fake', param: null, code: status } });
      return;
    }
    if (req.method === 'GET') {
      json(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model' }], path: req.url });
      return;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      json(res, 400, { error: { message: 'bad json', type: 'BadRequestError', param: null, code: 400 } });
      return;
    }
    const model = typeof parsed.model === 'string' ? parsed.model : 'fake-model';
    const chat = (req.url ?? '').includes('/chat/');
    const n =
      (typeof parsed.max_tokens === 'number' ? parsed.max_tokens : undefined) ??
      (typeof parsed.max_completion_tokens === 'number' ? parsed.max_completion_tokens : undefined) ??
      opts.tokens ??
      5;
    const promptTokens = Math.max(
      1,
      Math.ceil(JSON.stringify(parsed.messages ?? parsed.prompt ?? '').length / 4),
    );
    const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
    const id = chat ? 'chatcmpl-fake' : 'cmpl-fake';
    const object = chat ? 'chat.completion' : 'text_completion';
    if (parsed.stream !== true) {
      const choice = chat
        ? { index: 0, message: { role: 'assistant', content: 'tok '.repeat(n) }, finish_reason: 'length' }
        : { index: 0, text: 'tok '.repeat(n), finish_reason: 'length' };
      json(res, 200, { id, object, created: 1, model, choices: [choice], usage });
      return;
    }
    const includeUsage =
      typeof parsed.stream_options === 'object' &&
      parsed.stream_options !== null &&
      (parsed.stream_options as { include_usage?: unknown }).include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const delay = opts.chunkDelayMs ?? 0;
    const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion';
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    /** Resolves once everything written so far has left the process. */
    const flushed = () => new Promise<void>((r) => res.write('', () => r()));
    if (delay) await sleep(delay);
    if (chat)
      send({
        id,
        object: chunkObject,
        created: 1,
        model,
        choices: [{ index: 0, delta: { role: 'assistant' } }],
      });
    for (let i = 0; i < n; i++) {
      if (res.destroyed) return;
      if (test === 'cut' && i === 2) {
        await flushed();
        res.socket?.destroy();
        return;
      }
      const choice = chat
        ? { index: 0, delta: { content: 'tok ' }, finish_reason: i === n - 1 ? 'length' : null }
        : { index: 0, text: 'tok ', finish_reason: i === n - 1 ? 'length' : null };
      send({ id, object: chunkObject, created: 1, model, choices: [choice] });
      if (delay) await sleep(delay);
    }
    if (includeUsage) send({ id, object: chunkObject, created: 1, model, choices: [], usage });
    res.end('data: [DONE]\n\n');
  };
}

export function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
