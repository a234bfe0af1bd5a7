/**
 * The user's seed 000 manifests behind a real Envoy: `infergate envoy-config` writes the bootstrap,
 * `infergate epp` picks, `infergate sim` serves. Modelled on the Inference Extension conformance
 * tests that apply without a cluster: GatewayFollowingEPPRouting (Envoy sends each request where
 * the picker chose) and GatewayDestinationEndpointServed (the proxy reports the endpoint that
 * served, and the picker reads it).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../gateway/helpers/http.js';
import { waitFor } from '../gateway/helpers/upstream.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool } from '../helpers/deps.js';
import { type Envoy, type Epp, harness, replicaMetric, type Sims } from './helpers.js';

const SEEDS = join(REPO_ROOT, 'examples/seeds');
const SEED_000 = [join(SEEDS, '000-gateway.yaml'), join(SEEDS, '000-inference-rules.yaml')];
const HOST = { host: 'example.com' };
const CHAT = {
  model: '/model/llama2',
  max_completion_tokens: 20,
  temperature: 0,
  messages: [{ role: 'user', content: 'introduce yourself' }],
};

let done = false;

describe.skipIf(!hasTool('envoy'))('seed 000 through Envoy + infergate epp', () => {
  const h = harness('epp-seed000');
  let sims: Sims;
  let epp: Epp;
  let envoy: Envoy;

  beforeAll(async () => {
    sims = await h.startSims(
      ['--replicas', '2', '--served-model-name', '/model/llama2', '--time-scale', '0.01'],
      { labels: 'app=vllm-llama2-7b-pool', namePrefix: 'vllm-llama2-7b-pool' },
    );
    const files = [...SEED_000, sims.podsFile];
    epp = await h.startEpp(files, 'default/vllm-llama2-7b-pool', ['--debug-headers']);
    envoy = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
  }, 120_000);

  afterAll(() => h.stopAll());

  it('GatewayFollowingEPPRouting: every request is served by the endpoint the picker chose', async () => {
    const ids = sims.urls.map((u) => new URL(u).host);
    const before = await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'primary' });
    const n = 8;
    for (let i = 0; i < n; i++) {
      const r = await call(envoy.url, '/v1/chat/completions', {
        headers: HOST,
        json: { ...CHAT, messages: [{ role: 'user', content: `question ${i}` }] },
      });
      expect(r.status, r.text).toBe(200);
      const body = r.json() as { model: string; usage: { completion_tokens: number } };
      expect(body.model).toBe('/model/llama2');
      expect(ids).toContain(r.headers['x-infergate-endpoint']);
    }
    // Envoy reported the primary as the serving endpoint every time: it followed the picker.
    expect(await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'primary' })).toBe(before + n);
    expect(await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'fallback' })).toBe(0);
    let served = 0;
    for (const u of sims.urls) served += await replicaMetric(u, 'vllm:request_success_total');
    expect(served).toBeGreaterThanOrEqual(n);
  });

  it('GatewayDestinationEndpointServed: the served endpoint reaches the picker on the response', async () => {
    const r = await call(envoy.url, '/v1/chat/completions', {
      headers: HOST,
      json: CHAT,
    });
    expect(r.status).toBe(200);
    const served = r.headers['x-infergate-endpoint'];
    expect(sims.urls.map((u) => new URL(u).host)).toContain(served);
    // --debug-headers also names the decision, as serve does: its pick is the endpoint that served.
    const decision = JSON.parse(String(r.headers['x-infergate-decision'])) as { pick: string };
    expect(decision.pick).toBe(served);
    expect(await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'unreported' })).toBe(0);
  });

  it('counts tokens and requests as serve does (usage from JSON answers)', async () => {
    const before = await epp.metric('infergate_prompt_tokens_total');
    const beforeOut = await epp.metric('infergate_completion_tokens_total');
    const r = await call(envoy.url, '/v1/chat/completions', { headers: HOST, json: CHAT });
    expect(r.status).toBe(200);
    const usage = (r.json() as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    expect((await epp.metric('infergate_prompt_tokens_total')) - before).toBe(usage.prompt_tokens);
    expect((await epp.metric('infergate_completion_tokens_total')) - beforeOut).toBe(usage.completion_tokens);
    expect(await epp.metric('infergate_pool_endpoint_inflight_requests')).toBe(0);
  });

  it('a request without a body (headers end of stream) still gets an endpoint', async () => {
    const r = await call(envoy.url, '/v1/models', { headers: HOST });
    expect(r.status, r.text).toBe(200);
    const models = r.json() as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('/model/llama2');
  });

  it('--response-bodies when-needed: no rewrite in this pool, so only response headers reach the picker', async () => {
    const files = [...SEED_000, sims.podsFile];
    const leanEpp = await h.startEpp(files, 'default/vllm-llama2-7b-pool', [
      '--response-bodies',
      'when-needed',
      '--debug-headers',
    ]);
    const lean = await h.startEnvoy(files, {
      extra: ['--epp', `127.0.0.1:${leanEpp.grpcPort}`, '--response-bodies', 'when-needed'],
    });
    const epp = leanEpp;
    const requests = 0;
    const tokens = 0;
    const stream = await call(lean.url, '/v1/chat/completions', {
      headers: HOST,
      json: { ...CHAT, stream: true },
    });
    expect(stream.status).toBe(200);
    expect(stream.text).toContain('data: [DONE]');
    expect(sims.urls.map((u) => new URL(u).host)).toContain(stream.headers['x-infergate-endpoint']);
    // The request ends with the stream: counted as a success, its in-flight count given back; its
    // tokens are not seen (the trade-off of this mode).
    await waitFor(
      () => done,
      'the picker to count the request as finished',
      10_000,
      async () => {
        done = (await epp.metric('infergate_requests_total', { status: '200' })) === requests + 1;
      },
    );
    expect(await epp.metric('infergate_pool_endpoint_inflight_requests')).toBe(0);
    expect(await epp.metric('infergate_completion_tokens_total')).toBe(tokens);
  });

  it('without --debug-headers no client gets an endpoint address or the decision, even asking for it', async () => {
    const files = [...SEED_000, sims.podsFile];
    const quiet = await h.startEpp(files, 'default/vllm-llama2-7b-pool');
    const front = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${quiet.grpcPort}`] });
    for (const stream of [false, true]) {
      const r = await call(front.url, '/v1/chat/completions', {
        headers: { ...HOST, 'x-infergate-debug': 'endpoint' },
        json: { ...CHAT, stream },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.headers['x-infergate-endpoint']).toBeUndefined();
      expect(r.headers['x-infergate-decision']).toBeUndefined();
      for (const u of sims.urls) expect(r.text).not.toContain(new URL(u).host);
    }
    // The picker did route both (so the absence is the gate, not a request that never got there).
    expect(await quiet.metric('infergate_epp_served_endpoint_total', { outcome: 'primary' })).toBe(2);
  });

  it('bad JSON is answered by the picker: 400 with an OpenAI-style body', async () => {
    const r = await call(envoy.url, '/v1/chat/completions', {
      headers: { ...HOST, 'content-type': 'application/json' },
      body: '{"model": ',
    });
    expect(r.status).toBe(400);
    const err = (r.json() as { error: { type: string; code: number; message: string } }).error;
    expect(err.type).toBe('BadRequestError');
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/not valid JSON/);
  });
});
