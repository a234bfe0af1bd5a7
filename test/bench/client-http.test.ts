/**
 * The bench client's HTTP side against a loopback server that answers scripted bytes: what it
 * sends (path under a base URL, headers, request ids), how each way of failing is named, and what
 * it reads from the stream (usage, cached tokens, answer text, the fallback token count).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientOptions, type RequestRecord, TargetClient } from '../../src/bench/client.js';
import type { BenchRequest, Endpoint } from '../../src/bench/workload/types.js';
import { reservePort } from '../../src/util/ports.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

interface Scripted {
  url: string;
  /** Each request's path and headers, in arrival order. */
  seen: { path: string; headers: IncomingMessage['headers'] }[];
}

const servers: Server[] = [];
const clients: TargetClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A loopback server that answers every request with `answer`. */
async function serve(answer: Answer): Promise<Scripted> {
  const seen: Scripted['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => answer(req, res));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** An answer streaming these SSE data lines (objects are JSON-encoded) and `[DONE]`. */
const sse =
  (...events: (object | string)[]): Answer =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
    res.end('data: [DONE]\n\n');
  };

const token = (text: string) => ({ choices: [{ index: 0, text }] });
const usage = (prompt: number, completion: number, cached?: number) => ({
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    ...(cached !== undefined ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  },
});

function benchRequest(over: Partial<BenchRequest> = {}): BenchRequest {
  return {
    index: 7,
    body: JSON.stringify({ model: 'm', prompt: 'hi', stream: true }),
    model: 'm',
    objective: 'obj',
    headers: undefined,
    promptTokens: 11,
    maxTokens: 4,
    group: 'g',
    ...over,
  };
}

interface SendOver {
  client?: ClientOptions;
  endpoint?: Endpoint;
  request?: Partial<BenchRequest>;
  collectText?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends one request to `url`; returns its record and the ITL gap lists pushed to the sink. */
async function send(url: string, o: SendOver = {}): Promise<{ rec: RequestRecord; itl: number[][] }> {
  const client = new TargetClient(url, o.endpoint ?? '/v1/completions', o.client);
  clients.push(client);
  const itl: number[][] = [];
  const rec = await client.send(benchRequest(o.request), {
    signal: o.signal ?? new AbortController().signal,
    timeoutMs: o.timeoutMs ?? 30_000,
    collectText: o.collectText ?? false,
    itl: { push: (gaps) => itl.push([...gaps]) },
    runStart: performance.now(),
  });
  return { rec, itl };
}

describe('what the bench client sends', () => {
  it('posts the body under the base URL’s path, with the key, the headers and a request id', async () => {
    const s = await serve(sse(token('a'), usage(1, 1)));
    await send(`${s.url}/base//`, {
      endpoint: '/v1/chat/completions',
      client: { apiKey: 'sk-test', headers: { 'x-team': 'a', 'x-both': 'client' }, requestIdPrefix: 'run1-' },
      request: { headers: { 'x-both': 'request' } },
    });
    expect(s.seen[0]!.path).toBe('/base/v1/chat/completions');
    expect(s.seen[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer sk-test',
      'x-team': 'a',
      'x-both': 'request',
      'x-request-id': 'run1-7',
    });
  });

  it('sends neither a key nor a request id unless asked', async () => {
    const s = await serve(sse(token('a'), usage(1, 1)));
    await send(s.url);
    expect(s.seen[0]!.path).toBe('/v1/completions');
    expect(s.seen[0]!.headers.authorization).toBeUndefined();
    expect(s.seen[0]!.headers['x-request-id']).toBeUndefined();
  });
});

describe('how a request fails', () => {
  it('an HTTP error: its status, no tokens, no gaps', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"busy"}}');
    });
    const { rec, itl } = await send(s.url);
    expect(rec).toMatchObject({ success: false, error: '503', status: 503, outputTokens: 0 });
    expect(rec.ttftMs).toBeNaN();
    expect(itl).toEqual([]);
  });

  it('an error event inside a 200 stream: stream-error, and its gaps are not pooled', async () => {
    const s = await serve(sse(token('a'), token('b'), { error: { message: 'engine died' } }));
    const { rec, itl } = await send(s.url);
    expect(rec).toMatchObject({ success: false, error: 'stream-error', status: 200 });
    expect(itl).toEqual([]);
  });

  it('an unparseable event: stream-error', async () => {
    const s = await serve(sse(token('a'), '{not json'));
    expect((await send(s.url)).rec.error).toBe('stream-error');
  });

  it('a stream without a token chunk: no-token', async () => {
    const s = await serve(sse({ choices: [] }, usage(3, 0)));
    const { rec } = await send(s.url);
    expect(rec).toMatchObject({ success: false, error: 'no-token', status: 200, promptTokens: 3 });
  });

  it('a connection cut after the headers: stream-error (the server had answered)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(token('a'))}\n\n`, () => res.socket?.destroy());
    });
    const { rec } = await send(s.url);
    expect(rec).toMatchObject({ success: false, error: 'stream-error', status: 200 });
  });

  it('nobody listening: network with the error code', async () => {
    const { rec } = await send(`http://127.0.0.1:${await reservePort()}`);
    expect(rec).toMatchObject({ success: false, error: 'network:ECONNREFUSED', status: 0 });
  });

  it('past the per-request limit: timeout; a run already stopped: aborted', async () => {
    const s = await serve(() => {}); // never answers
    expect((await send(s.url, { timeoutMs: 50 })).rec.error).toBe('timeout');
    const stopped = new AbortController();
    stopped.abort();
    expect((await send(s.url, { signal: stopped.signal })).rec.error).toBe('aborted');
    const later = new AbortController();
    const arrived = s.seen.length;
    const pending = send(s.url, { signal: later.signal });
    for (let i = 0; i < 2000 && s.seen.length === arrived; i++) await new Promise((r) => setTimeout(r, 5));
    expect(s.seen.length).toBe(arrived + 1);
    later.abort();
    expect((await pending).rec.error).toBe('aborted');
  });
});

describe('what the bench client reads', () => {
  it('usage wins over counting; cached prompt tokens when the server tells them', async () => {
    const s = await serve(sse(token('a'), token('b'), token('c'), usage(20, 9, 16)));
    const { rec, itl } = await send(s.url);
    expect(rec).toMatchObject({
      success: true,
      status: 200,
      promptTokens: 20,
      outputTokens: 9,
      cachedTokens: 16,
      index: 7,
      model: 'm',
      objective: 'obj',
      group: 'g',
      text: '',
    });
    expect(itl).toHaveLength(1);
    expect(itl[0]).toHaveLength(2); // one gap per token after the first
    expect(rec.ttftMs).toBeGreaterThanOrEqual(0);
    expect(rec.latencyMs).toBeGreaterThanOrEqual(rec.ttftMs);
    expect(rec.startMs).toBeGreaterThanOrEqual(0);
  });

  it('without usage: token chunks counted (a role-only first chat chunk not), prompt tokens from the workload', async () => {
    const role = { choices: [{ index: 0, delta: { role: 'assistant' } }] };
    const content = (t: string) => ({ choices: [{ index: 0, delta: { content: t } }] });
    const s = await serve(sse(role, content('x'), content('y')));
    const { rec } = await send(s.url, { endpoint: '/v1/chat/completions' });
    expect(rec).toMatchObject({ success: true, outputTokens: 2, promptTokens: 11, cachedTokens: undefined });
    const plain = await serve(sse(token('x'), token('y')));
    expect((await send(plain.url)).rec.outputTokens).toBe(2);
  });

  it('collects the answer text when asked, escapes and chat deltas included', async () => {
    const chat = await serve(
      sse(
        { choices: [{ index: 0, delta: { role: 'assistant', content: 'He' } }] },
        { choices: [{ index: 0, delta: { content: 'llo' } }] },
        { choices: [{ index: 0, delta: { content: ' "world"\n' } }] },
        usage(1, 3),
      ),
    );
    const chatRec = (await send(chat.url, { endpoint: '/v1/chat/completions', collectText: true })).rec;
    expect(chatRec.text).toBe('Hello "world"\n');
    expect(chatRec.outputTokens).toBe(3);
    const completion = await serve(sse(token('a'), token('b\\c'), token('d'), usage(1, 3)));
    expect((await send(completion.url, { collectText: true })).rec.text).toBe('ab\\cd');
    expect((await send(completion.url)).rec.text).toBe('');
  });

  it('recognises token chunks written with unusual spacing', async () => {
    const s = await serve(
      sse(
        '{"choices" : [ {"index":0,"text":"a"} ]}',
        '{"choices":  [{"index":0,"text":"b"}]}',
        '{"choices": null}',
      ),
    );
    const { rec, itl } = await send(s.url, { collectText: true });
    expect(rec).toMatchObject({ success: true, outputTokens: 2, text: 'ab' });
    expect(itl[0]).toHaveLength(1);
  });
});
