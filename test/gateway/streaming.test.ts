/**
 * Streaming and bodies end to end: the official `openai` client through the gateway, chunks relayed
 * as they arrive, backpressure, token usage for streams, model names rewritten back, large bodies.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { call, errorOf } from './helpers/http.js';
import { PlanBuilder } from './helpers/plan.js';
import { type RecordingRegistry, recordingRegistry } from './helpers/routers.js';
import { fakeOpenAi, sleep, startUpstream, type TestUpstream, waitFor } from './helpers/upstream.js';

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('streaming and bodies', () => {
  let model: TestUpstream;
  let gated: TestUpstream;
  let firehose: TestUpstream;
  let registry: RecordingRegistry;
  let gw: TestGateway;
  /** Releases the gated upstream's stream. */
  let release: () => void = () => undefined;
  const firehoseState = { written: 0, done: false, blockedAt: 0 };
  const FIREHOSE_TOTAL = 64 * 1024 * 1024;

  beforeAll(async () => {
    model = await startUpstream('model', fakeOpenAi({ tokens: 6 }));
    // Sends one chunk, then holds the stream open until the test releases it.
    gated = await startUpstream('gated', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ model: 'm', choices: [{ index: 0, delta: { content: 'first' } }] })}\n\n`,
      );
      await new Promise<void>((r) => {
        release = r;
      });
      res.end('data: [DONE]\n\n');
    });
    // Writes as fast as the gateway accepts.
    firehose = await startUpstream('firehose', async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': FIREHOSE_TOTAL });
      const chunk = Buffer.alloc(64 * 1024, 'z');
      while (firehoseState.written < FIREHOSE_TOTAL) {
        firehoseState.written += chunk.length;
        if (!res.write(chunk)) {
          firehoseState.blockedAt = Date.now();
          await new Promise((r) => res.once('drain', r));
          firehoseState.blockedAt = 0;
        }
        if (res.destroyed) return;
      }
      res.end();
      firehoseState.done = true;
    });
    registry = recordingRegistry({ alias: 'real-v2' });
    const b = new PlanBuilder();
    b.listener({ name: 'http', port: 80 });
    b.listener({ name: 'inference', port: 8081 });
    b.service('model', [{ port: model.port }]);
    b.service('gated', [{ port: gated.port }]);
    b.service('firehose', [{ port: firehose.port }]);
    b.pool('pool', [{ port: model.port }]);
    b.route({
      name: 'svc',
      listeners: ['default/gw/http'],
      rules: [
        { backends: [{ name: 'model' }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/gated' } }], backends: [{ name: 'gated' }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/firehose' } }], backends: [{ name: 'firehose' }] },
      ],
    });
    b.route({
      name: 'inf',
      listeners: ['default/gw/inference'],
      rules: [{ backends: [{ kind: 'InferencePool', name: 'pool' }] }],
    });
    gw = await startGateway(b.build(), { poolRegistryFactory: () => registry });
  });

  afterAll(async () => {
    release();
    await gw?.close();
    await Promise.all([model, gated, firehose].map((u) => u?.close()));
  });

  it('streams chat completions to the official openai client; usage is counted without being shown', async () => {
    const client = new OpenAI({ baseURL: `${gw.url(8081)}/v1`, apiKey: 'test', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'plain',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.choices.length).toBeGreaterThan(0); // the usage-only chunk is not shown
      expect(chunk.usage ?? undefined).toBeUndefined();
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('tok '.repeat(6));
    expect(chunks).toBe(7); // role chunk + 6 tokens
    // Upstream was asked for usage on the client's behalf.
    expect(JSON.parse(model.requests.at(-1)!.body.toString()).stream_options).toEqual({
      include_usage: true,
    });
    const [line] = (await gw.waitForAccess(1)).slice(-1);
    expect(line).toMatchObject({
      model: 'plain',
      completion_tokens: 6,
      status: 200,
      backend: 'InferencePool default/pool',
    });
    expect(line!.prompt_tokens).toBeGreaterThan(0);
    expect(line!.ttft_ms).toBeGreaterThanOrEqual(0);
  });

  it('keeps usage for a client that asked for it, and counts stream tokens in the metrics', async () => {
    const client = new OpenAI({ baseURL: `${gw.url(80)}/v1`, apiKey: 'test', maxRetries: 0 });
    const stream = await client.completions.create({
      model: 'counted',
      prompt: 'a b c',
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: { completion_tokens: number } | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBe(4);
    await gw.waitForAccess(2);
    const text = await (await fetch(`${gw.admin}/metrics`)).text();
    const labels = { model: 'counted', backend: 'Service default/model:8000' };
    expect(metricValue(text, 'infergate_completion_tokens_total', labels)).toBe(4);
    expect(metricValue(text, 'infergate_prompt_tokens_total', labels)).toBeGreaterThan(0);
    expect(metricValue(text, 'infergate_time_to_first_token_seconds_count', { model: 'counted' })).toBe(1);
    expect(metricValue(text, 'infergate_requests_total', { ...labels, status: '200' })).toBe(1);
  });

  it('relays each chunk as it arrives (no buffering until the upstream finishes)', async () => {
    const r = await request(`${gw.url(80)}/gated/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [], stream: true }),
    });
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    // The upstream has not finished: it is waiting for release().
    expect(gated.open).toBe(1);
    expect(Buffer.from(first.value as Buffer).toString()).toContain('"first"');
    release();
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next())
      rest += Buffer.from(n.value as Buffer).toString();
    expect(rest).toContain('[DONE]');
  });

  it('applies backpressure: a client that does not read stalls the upstream', async () => {
    const r = await request(`${gw.url(80)}/firehose`);
    // Do not read. Wait until the upstream is stalled on a full socket (or, wrongly, finished).
    await waitFor(
      () => firehoseState.done || (firehoseState.blockedAt > 0 && Date.now() - firehoseState.blockedAt > 300),
      'firehose to stall',
    );
    expect(firehoseState.done).toBe(false);
    expect(firehoseState.written).toBeLessThan(FIREHOSE_TOTAL);
    // Now read everything: it all arrives.
    let got = 0;
    for await (const c of r.body) got += (c as Buffer).length;
    expect(got).toBe(FIREHOSE_TOTAL);
  });

  it('rewrites the model name back in JSON and in every SSE chunk; one onDispatch/onComplete per attempt', async () => {
    const before = registry.completed.length;
    const plain = await call(gw.url(8081), '/v1/chat/completions', {
      json: { model: 'alias', messages: [] },
    });
    expect(plain.status).toBe(200);
    expect((plain.json() as { model: string }).model).toBe('alias');
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(plain.text));
    expect(JSON.parse(model.requests.at(-1)!.body.toString()).model).toBe('real-v2');

    const streamed = await call(gw.url(8081), '/v1/chat/completions', {
      json: { model: 'alias', messages: [], stream: true },
    });
    const events = streamed.text.split('\n\n').filter((e) => e.startsWith('data: {'));
    expect(events.length).toBe(7);
    for (const e of events) expect(JSON.parse(e.slice(6)).model).toBe('alias');
    expect(streamed.text).not.toContain('real-v2');

    const ids = registry.completed.slice(before).map((c) => c.id);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      expect(registry.dispatched.filter((d) => d.id === id)).toHaveLength(1);
      expect(registry.completed.filter((c) => c.id === id)).toHaveLength(1);
    }
    const outcome = registry.completed.at(-1)!.outcome;
    expect(outcome).toMatchObject({ status: 200, ok: true, completionTokens: 6 });
    expect(outcome.ttftMs).toBeGreaterThanOrEqual(0);
    const log = (await gw.waitForAccess(gw.access.length)).at(-1)!;
    expect(log).toMatchObject({ model: 'alias', target_model: 'real-v2', reason: 'test router' });
  });

  it('maps router errors to OpenAI errors (404 unknown model, 429 shed)', async () => {
    const nf = await call(gw.url(8081), '/v1/chat/completions', { json: { model: 'unknown', messages: [] } });
    expect(nf.status).toBe(404);
    expect(errorOf(nf)).toMatchObject({ type: 'NotFoundError', param: 'model', code: 404 });
    const shed = await call(gw.url(8081), '/v1/chat/completions', {
      json: { model: 'shed-me', messages: [] },
    });
    expect(shed.status).toBe(429);
    expect(errorOf(shed)).toMatchObject({ type: 'RateLimitError', code: 429 });
    expect(shed.headers['x-request-id']).toBeTruthy();
  });

  it.each([
    ['InferencePool route', 8081],
    ['Service route', 80],
  ])('carries a large long-context body (5 MiB) intact through a %s', async (_name, port) => {
    const prompt = 'lorem ipsum dolor sit amet '.repeat(200_000); // ≈ 5.4 MB
    const body = JSON.stringify({ model: 'long', messages: [{ role: 'user', content: prompt }] });
    const r = await call(gw.url(port), '/v1/chat/completions', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    const got = model.requests.at(-1)!.body;
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    expect(got.length).toBe(Buffer.byteLength(body));
    expect(sha(got)).toBe(sha(body));
    await sleep(0);
  });
});
