/**
 * The user's seed 003 manifests (prefix-aware routing for Qwen with LoRA) behind a real Envoy:
 * the InferencePool route on listener 8081 is picked by `infergate epp`, the plain Service route on
 * 8080 is balanced by Envoy alone (no picker). Streaming with usage through the official `openai`
 * SDK; prefix affinity (requests sharing a long prefix stay on one replica) and load spreading
 * (concurrent distinct requests use several replicas), as `serve` routes them.
 */

import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../gateway/helpers/http.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool } from '../helpers/deps.js';
import { type Envoy, type Epp, harness, type Sims } from './helpers.js';

const SEEDS = join(REPO_ROOT, 'examples/seeds');
const SEED_003 = ['003-inference-gateway.yaml', '003-inference-pool.yaml', '003-vllm-service.yaml'].map((f) =>
  join(SEEDS, f),
);
const MODEL = '/model/qwen';

describe.skipIf(!hasTool('envoy'))('seed 003 through Envoy + infergate epp', () => {
  const h = harness('epp-seed003');
  let sims: Sims;
  let epp: Epp;
  let envoy: Envoy;
  let client: OpenAI;

  beforeAll(async () => {
    sims = await h.startSims(['--replicas', '3', '--served-model-name', MODEL, '--time-scale', '0.02'], {
      labels: 'app=qwen',
      namePrefix: 'qwen',
    });
    const files = [...SEED_003, sims.podsFile];
    epp = await h.startEpp(files, 'vllm-qwen-pool', ['--debug-headers']);
    envoy = await h.startEnvoy(files, { ports: [8080, 8081], extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
    client = new OpenAI({ baseURL: `${envoy.urls.get(8081)}/v1`, apiKey: 'none', maxRetries: 0 });
  }, 120_000);

  afterAll(() => h.stopAll());

  it('streams with usage through the openai SDK; the picker counts the same tokens', async () => {
    const before = await epp.metric('infergate_completion_tokens_total');
    const stream = await client.chat.completions.create({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 12,
      messages: [{ role: 'user', content: 'plan a trip to Hangzhou' }],
    });
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      if (c.choices.length > 0) chunks++;
      if (c.usage) usage = c.usage;
    }
    expect(chunks).toBeGreaterThanOrEqual(12);
    expect(usage?.completion_tokens).toBe(12);
    expect((await epp.metric('infergate_completion_tokens_total')) - before).toBe(12);
    expect(await epp.metric('infergate_time_to_first_token_seconds_count')).toBeGreaterThan(0);
  });

  it('prefix affinity: requests sharing a long prefix stay on one replica', async () => {
    const system = `You are a travel assistant for the West Lake area. ${'Answer with care and detail. '.repeat(40)}`;
    const counts = new Map<string, number>();
    const n = 8;
    for (let i = 0; i < n; i++) {
      const r = await call(envoy.urls.get(8081)!, '/v1/chat/completions', {
        json: {
          model: MODEL,
          max_tokens: 4,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: `question ${i}` },
          ],
        },
      });
      expect(r.status, r.text).toBe(200);
      const ep = String(r.headers['x-infergate-endpoint']);
      counts.set(ep, (counts.get(ep) ?? 0) + 1);
    }
    // All on one replica, but for at most one: a replica whose scrape still shows the previous
    // request running for a moment loses one draw to the load scorers (as it would under serve).
    // Without affinity, ≥ 7 of 8 on one of 3 replicas has probability < 1 %.
    expect(Math.max(...counts.values()), JSON.stringify([...counts])).toBeGreaterThanOrEqual(n - 1);
    expect(await epp.metric('infergate_prefix_index_hits_total')).toBeGreaterThan(0);
  });

  it('load spreading: concurrent distinct requests use several replicas', async () => {
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(envoy.urls.get(8081)!, '/v1/chat/completions', {
          json: {
            model: MODEL,
            max_tokens: 16,
            messages: [{ role: 'user', content: `topic ${i} ${'x'.repeat(i * 37)}` }],
          },
        }),
      ),
    );
    const served = new Set<string>();
    for (const r of replies) {
      expect(r.status).toBe(200);
      served.add(String(r.headers['x-infergate-endpoint']));
    }
    expect(served.size).toBeGreaterThanOrEqual(2);
  });

  it('the Service route on listener 8080 is balanced by Envoy without the picker', async () => {
    const before = await epp.metric('infergate_requests_total');
    const r = await call(envoy.urls.get(8080)!, '/v1/chat/completions', {
      json: { model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(r.status, r.text).toBe(200);
    expect(await epp.metric('infergate_requests_total')).toBe(before);
  });
});
