/**
 * The user's mirroring document (seed 000), reproduced: its manifests served unchanged by the real
 * `infergate serve`, against simulated vLLM replicas (`infergate sim --emit-pods` supplies the Pods
 * that resolve the pool and the mirror Service). The document sends its curl request and then reads
 * both deployments' logs: each saw every request with 200 OK. Here the same counts come from each
 * simulated replica's `vllm:request_success_total`.
 */
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sumSamples } from '../../src/scraping/promtext.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { type Fleet, fleet } from '../helpers/fleet.js';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/upstream.js';

const SEEDS = join(REPO_ROOT, 'examples/seeds');
/** The request of the document, as sent with curl. */
const DOCUMENT_REQUEST = {
  model: '/model/llama2',
  max_completion_tokens: 100,
  temperature: 0,
  messages: [{ role: 'user', content: 'introduce yourself' }],
};

async function metricSum(replicaUrls: string[], name: string): Promise<number> {
  let total = 0;
  for (const u of replicaUrls) {
    const { families } = parsePrometheusText(await (await fetch(`${u}/metrics`)).text());
    total += sumSamples(families, name) ?? 0;
  }
  return total;
}

const successCount = (urls: string[]) => metricSum(urls, 'vllm:request_success_total');

describe('seed 000: traffic mirroring with an InferencePool primary and a Service mirror', () => {
  let rig: Fleet;
  let primaryReplicas: string[] = [];
  let mirrorReplicas: string[] = [];
  let gateway = '';
  let admin = '';

  /** `infergate sim` replicas serving the document's model whose Pods carry `app=<name>`. */
  function sim(replicas: number, name: string) {
    const args = [
      '--replicas',
      String(replicas),
      '--served-model-name',
      '/model/llama2',
      '--time-scale',
      '0.01',
    ];
    return rig.startSims(args, { labels: `app=${name}`, namePrefix: name });
  }

  beforeAll(async () => {
    rig = fleet('seed000');
    // APP: the InferencePool's replicas; APP1: the mirror Service's (selector app: vllm-llama2-7b-pool-1).
    const [primary, mirror] = await Promise.all([
      sim(2, 'vllm-llama2-7b-pool'),
      sim(1, 'vllm-llama2-7b-pool-1'),
    ]);
    primaryReplicas = primary.urls;
    mirrorReplicas = mirror.urls;
    const files = [
      join(SEEDS, '000-inference-rules.yaml'),
      join(SEEDS, '000-gateway.yaml'),
      primary.podsFile,
      mirror.podsFile,
    ];
    ({ url: gateway, admin } = await rig.startServe(files, [], { listener: 'default/example-gateway/http' }));
  });

  afterAll(async () => {
    await rig?.stopAll();
  });

  it('answers the client from the pool while the mirror receives every request too', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await call(gateway, '/v1/chat/completions', {
        headers: { host: 'example.com' },
        json: DOCUMENT_REQUEST,
      });
      expect(r.status).toBe(200);
      const body = r.json() as { object: string; model: string; usage: { completion_tokens: number } };
      expect(body.object).toBe('chat.completion');
      expect(body.model).toBe('/model/llama2');
      expect(body.usage.completion_tokens).toBe(100);
    }
    // "original logs": two requests, 200 OK, on the pool's replicas.
    expect(await successCount(primaryReplicas)).toBe(2);
    // "mirror logs": the same two on the mirror's replica (the copies finish on their own time).
    let mirrored = 0;
    await waitFor(
      () => mirrored === 2,
      'the mirror to finish both copies',
      20_000,
      async () => {
        mirrored = await successCount(mirrorReplicas);
      },
    );
    const summary = (await (await fetch(`${admin}/admin/mirrors`)).json()) as {
      mirrors: { key: string; sent: number; completed: number; sameStatus: number; dropped: number }[];
    };
    expect(summary.mirrors).toHaveLength(1);
    expect(summary.mirrors[0]).toMatchObject({
      key: 'HTTPRoute default/mirror-route#0 → Service default/vllm-llama2-7b-pool-1:8000',
      sent: 2,
      completed: 2,
      dropped: 0,
    });
    // A request without the document's Host header matches no route (hostnames: example.com).
    expect((await call(gateway, '/v1/chat/completions', { json: DOCUMENT_REQUEST })).status).toBe(404);
  });

  it('frees the replica when a streaming client disconnects (the simulator counts the abort)', async () => {
    const before = await metricSum(primaryReplicas, 'sim_requests_aborted_total');
    const ctl = new AbortController();
    const r = await request(`${gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { host: 'example.com', 'content-type': 'application/json' },
      // ignore_eos: the simulated model must not stop on its own before the client goes away.
      body: JSON.stringify({
        ...DOCUMENT_REQUEST,
        max_completion_tokens: 4000,
        ignore_eos: true,
        stream: true,
      }),
      signal: ctl.signal,
    });
    const it = r.body[Symbol.asyncIterator]();
    await it.next(); // the first chunk arrived: the replica is generating
    ctl.abort();
    await it.next().catch(() => undefined);
    let aborted = 0;
    await waitFor(
      () => aborted > before,
      'the replica to count the abort',
      20_000,
      async () => {
        aborted = await metricSum(primaryReplicas, 'sim_requests_aborted_total');
      },
    );
  });
});
