/**
 * Fault suite: a failing fleet behind a real `serve`. Replicas reset streams mid-way, hang, answer
 * 5xx bursts, start slowly, all die; a replica's /metrics returns garbage or hangs. Asserts what the
 * client sees (status, OpenAI shape, no internal address), what /metrics says, and that the gateway
 * keeps serving. Bounded: a few dozen requests per case, each wait capped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { call, errorOf } from '../gateway/helpers/http.js';
import { fakeOpenAi } from '../gateway/helpers/upstream.js';
import { chat, type FaultRig, podYaml, startRig } from './harness.js';

const rigs: FaultRig[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function rig(o: Parameters<typeof startRig>[0]): Promise<FaultRig> {
  const r = await startRig(o);
  rigs.push(r);
  return r;
}

function expectOpenAiError(r: { status: number; text: string }, status: number): void {
  expect(r.status).toBe(status);
  expect(r.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|ECONNRESET/);
  expect(errorOf(r as Parameters<typeof errorOf>[0]).code).toBe(status);
}

describe('a failing fleet', () => {
  it('a replica resetting streams mid-way: the client gets an SSE error event; /metrics counts each', async () => {
    const r = await rig({ sim: ['--replicas', '2', '--disconnect-rate', '1'] });
    let cut = 0;
    for (let i = 0; i < 8; i++) {
      const res = await call(r.url, '/v1/chat/completions', { json: chat({ stream: true, max_tokens: 50 }) });
      expect(res.status).toBe(200);
      const last = res.text.trim().split('\n\n').at(-1)!;
      if (last === 'data: [DONE]') continue; // the replica finished before its planned drop
      expect(JSON.parse(last.slice('data: '.length)).error).toMatchObject({ code: 502 });
      cut++;
    }
    expect(cut).toBeGreaterThan(0);
    const m = await r.metrics();
    expect(r.sample(m, 'infergate_stream_errors_total', { reason: 'reset' })).toBe(cut);
    expect(r.sample(m, 'infergate_requests_total', { status: '502' })).toBe(cut);
    expect(r.sample(m, 'inference_objective_request_error_total', { error_code: '502' })).toBe(cut);
  }, 60_000);

  it('hung replicas: 504 at the request timeout, in OpenAI shape', async () => {
    const r = await rig({ sim: ['--replicas', '2', '--hang-rate', '1'], serve: ['--request-timeout', '1s'] });
    const res = await call(r.url, '/v1/chat/completions', { json: chat() });
    expectOpenAiError(res, 504);
    expect(r.sample(await r.metrics(), 'infergate_requests_total', { status: '504' })).toBe(1);
  }, 60_000);

  it('5xx bursts: each answer is an OpenAI error, the gateway keeps serving', async () => {
    const r = await rig({
      sim: ['--replicas', '2', '--failure-rate', '0.5', '--failure-types', 'unavailable', '--seed', '3'],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await call(r.url, '/v1/chat/completions', { json: chat() });
      statuses.push(res.status);
      if (res.status !== 200) expect(errorOf(res).code).toBe(res.status);
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    // 503s are retried on the other replica before any byte is sent.
    expect(
      r.sample(await r.metrics(), 'infergate_upstream_attempts_total', { result: 'status_503_retried' }),
    ).toBeGreaterThan(0);
  }, 60_000);

  it('every replica down: 502/503 without addresses; health stays up; serving resumes never hangs', async () => {
    const r = await rig({ sim: ['--replicas', '2'] });
    expect((await call(r.url, '/v1/chat/completions', { json: chat() })).status).toBe(200);
    r.sim!.child.kill('SIGKILL');
    await r.sim!.exited;
    for (let i = 0; i < 5; i++) {
      const res = await call(r.url, '/v1/chat/completions', { json: chat() });
      expect([502, 503]).toContain(res.status);
      expectOpenAiError(res, res.status);
    }
    expect((await call(r.admin, '/healthz')).status).toBe(200);
  }, 60_000);

  it('slow start (503 while loading): clients get OpenAI errors until the replicas are ready, then 200', async () => {
    const r = await rig({
      sim: ['--replicas', '1', '--slow-start', '3', '--slow-start-mode', 'unavailable'],
    });
    let ok = false;
    const deadline = Date.now() + 20_000;
    while (!ok && Date.now() < deadline) {
      const res = await call(r.url, '/v1/chat/completions', { json: chat() });
      if (res.status === 200) ok = true;
      else {
        expect(errorOf(res).code).toBe(res.status);
        await new Promise((x) => setTimeout(x, 200));
      }
    }
    expect(ok).toBe(true);
  }, 60_000);

  it('a replica whose /metrics returns garbage or hangs: routing is not blocked; those metrics never count as fresh', async () => {
    const handler = fakeOpenAi();
    const broken = async (mode: 'garbage' | 'hang') => {
      const s = createServer((req, res) => {
        if (req.url === '/metrics') {
          if (mode === 'garbage')
            res.end('vllm:num_requests_waiting{ this is not { prometheus text\n\u0000\u0001');
          return; // hang: never answer
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => void handler(req, res, Buffer.concat(chunks)));
      });
      servers.push(s);
      await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
      return (s.address() as AddressInfo).port;
    };
    const garbage = await broken('garbage');
    const hang = await broken('hang');
    const r = await rig({
      sim: ['--replicas', '1'],
      extra: podYaml('garbage', garbage) + podYaml('hang', hang),
    });
    for (let i = 0; i < 12; i++) {
      const res = await call(r.url, '/v1/chat/completions', { json: chat() });
      expect(res.status).toBe(200);
    }
    const m = await r.metrics();
    // The simulator's endpoint is scraped; the broken ones never give a fresh snapshot.
    expect(m).not.toMatch(new RegExp(`infergate_pool_endpoint_metrics_age_seconds\\{[^}]*:${garbage}"`));
    expect(m).not.toMatch(new RegExp(`infergate_pool_endpoint_metrics_age_seconds\\{[^}]*:${hang}"`));
    expect(r.sample(m, 'infergate_pool_endpoint_metrics_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(m).toMatch(/infergate_pool_endpoint_metrics_age_seconds\{/);
  }, 60_000);
});
