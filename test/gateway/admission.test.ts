/**
 * Admission end to end: the real `infergate serve` in front of a simulated vLLM replica whose KV cache
 * is small, with a picker config that calls the replica saturated at 20 % KV use. While one long
 * request runs there, every endpoint is saturated:
 * - by default (the reference's behaviour), a sheddable request gets 429 at once and a critical one
 *   goes on to the replica;
 * - with `--flow-control`, the critical request waits in the gateway's queue until the long one
 *   finishes, then completes.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sumSamples } from '../../src/scraping/promtext.js';
import { type Fleet, fleet, ONE_POOL_MANIFESTS } from '../helpers/fleet.js';
import { call, errorOf } from './helpers/http.js';
import { waitFor } from './helpers/upstream.js';

const MANIFESTS = `${ONE_POOL_MANIFESTS}---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: chat, namespace: default }
spec:
  modelName: chat
  criticality: Critical
  poolRef: { name: pool }
  targetModels: [{ name: m, weight: 1 }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: batch, namespace: default }
spec:
  modelName: batch
  criticality: Sheddable
  poolRef: { name: pool }
  targetModels: [{ name: m, weight: 1 }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
metadata: { name: epp, namespace: default }
plugins:
- type: saturation-filter
  parameters: { kvCacheUtilThreshold: 0.2, metricsStalenessThreshold: 60000 }
- type: kv-cache-utilization-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: saturation-filter
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: max-score-picker
`;

/** ~300 prompt tokens: with 64 blocks of 16 tokens (1,024), one request alone uses > 20 % of the cache. */
const LONG_PROMPT = 'tell me a long story about the sea '.repeat(40);

async function gaugeOrCounter(admin: string, name: string): Promise<number> {
  const { families } = parsePrometheusText(await (await fetch(`${admin}/metrics`)).text());
  return sumSamples(families, name) ?? 0;
}

/**
 * Waits until the gateway holds a scrape that was sent after `sinceMs` (Date.now() scale): one that
 * saw the replica as it is now. A scrape sent while a request was still on its way to the replica
 * does not count it, and resets the gateway's own count of it (docs/scheduling.md, limits).
 */
async function waitForScrapeAfter(admin: string, sinceMs: number): Promise<void> {
  let fresh = false;
  await waitFor(
    () => fresh,
    'a scrape taken after the long request started',
    20_000,
    async () => {
      const askedAt = Date.now(); // ≤ when the page was rendered: the send time below errs early
      const page = await (await fetch(`${admin}/metrics`)).text();
      const age = page.match(/^infergate_pool_endpoint_metrics_age_seconds\{[^}]*\} (\S+)$/m)?.[1];
      fresh = age !== undefined && askedAt - Number(age) * 1000 > sinceMs;
    },
  );
}

/** Starts a long streamed request and resolves once its first chunk arrived (it is running). */
async function startLong(gateway: string): Promise<{ done: Promise<number> }> {
  const res = await request(`${gateway}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', prompt: LONG_PROMPT, max_tokens: 150, stream: true }),
  });
  expect(res.statusCode).toBe(200);
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  const done = (async () => {
    for (;;) if ((await it.next()).done) return res.statusCode;
  })();
  return { done };
}

describe('admission while every endpoint is saturated', () => {
  let rig: Fleet;
  let files: string[];

  async function serve(extra: string[]): Promise<{ gateway: string; admin: string }> {
    const { url: gateway, admin } = await rig.startServe(files, ['--no-watch', ...extra]);
    // The first scrape tells the gateway the replica's KV size; an endpoint never scraped is judged by
    // nothing (never saturated). Its metrics-age series appears with the first scrape.
    let scraped = false;
    await waitFor(
      () => scraped,
      'the gateway to scrape the replica',
      30_000,
      async () => {
        const page = await (await fetch(`${admin}/metrics`)).text();
        scraped = /^infergate_pool_endpoint_metrics_age_seconds\{/m.test(page);
      },
    );
    return { gateway, admin };
  }

  beforeAll(async () => {
    rig = fleet('admission');
    const sims = await rig.startSims(
      ['--served-model-name', 'm', '--num-gpu-blocks', '64', '--max-model-len', '1024'],
      { labels: 'app=sim' },
    );
    files = [rig.file('manifests.yaml', MANIFESTS), sims.podsFile];
  });

  afterAll(async () => {
    await rig?.stopAll();
  });

  it('by default: sheddable requests get 429, critical ones go on to the replica', async () => {
    const { gateway, admin } = await serve([]);
    const long = await startLong(gateway);
    await waitForScrapeAfter(admin, Date.now());

    const shed = await call(gateway, '/v1/completions', {
      json: { model: 'batch', prompt: 'hi', max_tokens: 4 },
    });
    expect(shed.status).toBe(429);
    expect(errorOf(shed).message).toMatch(/saturated/);

    const critical = await call(gateway, '/v1/completions', {
      json: { model: 'chat', prompt: 'hi', max_tokens: 4 },
    });
    expect(critical.status).toBe(200);
    expect(await gaugeOrCounter(admin, 'infergate_admission_queue_wait_seconds_count')).toBe(0);
    expect(await long.done).toBe(200);
  });

  it('with --flow-control: a critical request waits in the gateway queue until capacity frees', async () => {
    const { gateway, admin } = await serve(['--flow-control']);
    const long = await startLong(gateway);
    await waitForScrapeAfter(admin, Date.now());
    let longDone = false;
    void long.done.then(() => {
      longDone = true;
    });

    const critical = call(gateway, '/v1/completions', {
      json: { model: 'chat', prompt: 'hi', max_tokens: 4 },
    });
    let queued = 0;
    await waitFor(
      () => queued === 1,
      'the critical request to wait in the gateway queue',
      20_000,
      async () => {
        queued = await gaugeOrCounter(admin, 'infergate_admission_queue_size');
      },
    );
    const r = await critical;
    expect(r.status).toBe(200);
    // Released only once the long request had finished and its KV blocks were free.
    expect(longDone).toBe(true);
    expect(await gaugeOrCounter(admin, 'infergate_admission_queue_wait_seconds_count')).toBe(1);
  });
});
