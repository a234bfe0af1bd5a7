/**
 * Failure injection: seeded error responses (same seed, same failures), hangs, connections dropped
 * mid-stream, slow start (503 or connection refused until ready).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, type SimClusterOptions, startSimCluster } from '../../src/sim/index.js';
import { reservePort } from '../../src/util/ports.js';
import { postJson, readSseEvents, waitForMetrics } from './helpers.js';

const opened: SimCluster[] = [];

async function start(opts: SimClusterOptions): Promise<string> {
  const sim = await startSimCluster({ timeScale: 0.01, ...opts });
  opened.push(sim);
  return sim.replicas[0]!.url;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function statuses(seed: number): Promise<{ status: number; type?: string }[]> {
  const url = await start({
    seed,
    failureRate: 0.4,
    failureTypes: ['server-error', 'unavailable', 'rate-limit'],
  });
  const out: { status: number; type?: string }[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await postJson(`${url}/v1/completions`, { prompt: `request ${i}`, max_tokens: 1 });
    const body = (await res.json()) as { error?: { type: string; code: number } };
    if (body.error) expect(body.error.code).toBe(res.status);
    out.push({ status: res.status, type: body.error?.type });
  }
  return out;
}

describe('failure injection', () => {
  it('the same seed gives the same failures, with vLLM-style error bodies', async () => {
    const a = await statuses(42);
    const b = await statuses(42);
    expect(b).toEqual(a);
    const codes = new Set(a.map((x) => x.status));
    expect(codes.has(200)).toBe(true);
    expect([...codes].some((c) => c >= 429)).toBe(true);
    for (const x of a) {
      if (x.status === 500) expect(x.type).toBe('InternalServerError');
      if (x.status === 503) expect(x.type).toBe('ServiceUnavailableError');
      if (x.status === 429) expect(x.type).toBe('RateLimitError');
    }
    const c = await statuses(43);
    expect(c).not.toEqual(a);
  });

  it('a hang accepts the request and never answers; the engine never sees it', async () => {
    const url = await start({ hangRate: 1 });
    const ctl = new AbortController();
    let answered = false;
    const pending = postJson(`${url}/v1/completions`, { prompt: 'hello', max_tokens: 2 }, ctl.signal).then(
      () => {
        answered = true;
      },
      (err: unknown) => err,
    );
    const s = await waitForMetrics(
      url,
      (m) => m.valueOr('sim_injected_failures_total', { kind: 'hang' }, 0) === 1,
    );
    expect(s.value('vllm:num_requests_running') + s.value('vllm:num_requests_waiting')).toBe(0);
    expect(answered).toBe(false);
    ctl.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(answered).toBe(false);
  });

  it('a disconnect drops the stream before [DONE] and aborts the request in the engine', async () => {
    const url = await start({ disconnectRate: 1, seed: 4 });
    const res = await postJson(`${url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 50,
      ignore_eos: true,
      stream: true,
    });
    expect(res.status).toBe(200);
    let error: unknown = null;
    let events: unknown[] = [];
    try {
      events = await readSseEvents(res, 1000);
    } catch (err) {
      error = err;
    }
    // Either the body ended early or the read failed: never the full stream.
    expect(error !== null || !events.includes('[DONE]')).toBe(true);
    const s = await waitForMetrics(url, (m) => m.value('sim_requests_aborted_total') === 1);
    expect(s.value('sim_injected_failures_total', { kind: 'disconnect' })).toBe(1);
    expect(s.value('vllm:num_requests_running')).toBe(0);
    expect(s.value('vllm:kv_cache_usage_perc')).toBe(0);
  });
});

describe('slow start', () => {
  it('unavailable mode: listens at once, answers 503 until ready, then 200', async () => {
    const port = await reservePort();
    const starting = startSimCluster({ port, slowStartSeconds: 1.5, slowStartMode: 'unavailable' });
    let first: number | undefined;
    while (first === undefined) {
      try {
        first = (await fetch(`http://127.0.0.1:${port}/health`)).status;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(first).toBe(503);
    const busy = await postJson(`http://127.0.0.1:${port}/v1/completions`, { prompt: 'x' });
    expect(busy.status).toBe(503);
    const sim = await starting;
    opened.push(sim);
    expect((await fetch(`${sim.replicas[0]!.url}/health`)).status).toBe(200);
  });

  it('refuse mode: connections are refused until the replica is ready', async () => {
    const port = await reservePort();
    const starting = startSimCluster({ port, slowStartSeconds: 1, slowStartMode: 'refuse' });
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    const sim = await starting;
    opened.push(sim);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});
