/**
 * Failures behind Envoy + `infergate epp`, with real processes:
 * - a replica dies mid-run: Envoy follows the picker's fallback list (override-host policy with
 *   retries) and every request still succeeds; the picker hears which endpoint served and moves its
 *   in-flight count there;
 * - EppUnAvailableFailOpen: the picker of a FailOpen pool is gone and requests are still served
 *   (Envoy's own least-request over the pool); a FailClose pool answers 5xx instead;
 * - a sheddable request under saturation is refused with 429 and the reference's
 *   `x-llm-d-request-dropped-reason`, while a critical one goes on.
 */
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../gateway/helpers/http.js';
import { waitFor } from '../gateway/helpers/upstream.js';
import { hasTool } from '../helpers/deps.js';
import { onePoolManifests } from '../helpers/fleet.js';
import { harness } from './helpers.js';

const CHAT = { model: 'm', max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] };

function manifests(pools: { name: string; failureMode: 'FailOpen' | 'FailClose'; header: string }[]): string {
  const head = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: envoy
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
${pools
  .map(
    (
      p,
    ) => `  - matches: [{ path: { type: PathPrefix, value: / }, headers: [{ name: x-pool, value: ${p.header} }] }]
    backendRefs: [{ group: inference.networking.x-k8s.io, kind: InferencePool, name: ${p.name} }]`,
  )
  .join('\n')}
`;
  const poolDocs = pools.map(
    (p) => `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: ${p.name}, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: sim }
  extensionRef: { name: ${p.name}-epp, failureMode: ${p.failureMode} }
`,
  );
  return head + poolDocs.join('');
}

describe.skipIf(!hasTool('envoy'))('failures behind Envoy + epp', () => {
  const h = harness('epp-resilience');
  afterAll(() => h.stopAll());

  it('a replica killed mid-run: Envoy follows the fallback list, every request succeeds', async () => {
    const [a, b] = await Promise.all([
      h.startSims(['--replicas', '1', '--served-model-name', 'm', '--time-scale', '0.01'], {
        labels: 'app=sim',
        namePrefix: 'a',
      }),
      await h.startSims(['--replicas', '1', '--served-model-name', 'm', '--time-scale', '0.01'], {
        labels: 'app=sim',
        namePrefix: 'b',
      }),
    ]);
    const files = [
      h.file('one.yaml', manifests([{ name: 'pool', failureMode: 'FailClose', header: 'one' }])),
      a.podsFile,
      b.podsFile,
    ];
    // Round-robin picking, and no scrape after the first: the picker keeps choosing the dead replica
    // as primary, so only Envoy's retries on the fallback can save those requests.
    const epp = await h.startEpp(files, 'pool', ['--scheduler', 'round-robin', '--scrape-interval', '1h']);
    const envoy = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
    const send = () => call(envoy.url, '/v1/chat/completions', { headers: { 'x-pool': 'one' }, json: CHAT });
    for (let i = 0; i < 4; i++) expect((await send()).status).toBe(200);
    await b.proc.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await send()).status);
    expect(statuses).toEqual(Array(8).fill(200));
    expect(
      await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'fallback' }),
    ).toBeGreaterThanOrEqual(3);
    expect(await epp.metric('infergate_pool_endpoint_inflight_requests')).toBe(0);
  }, 180_000);

  it('EppUnAvailableFailOpen: FailOpen keeps serving without its picker, FailClose answers 5xx', async () => {
    const sims = await h.startSims(['--replicas', '2', '--served-model-name', 'm', '--time-scale', '0.01'], {
      labels: 'app=sim',
      namePrefix: 'fo',
    });
    const files = [
      h.file(
        'two.yaml',
        manifests([
          { name: 'open-pool', failureMode: 'FailOpen', header: 'open' },
          { name: 'closed-pool', failureMode: 'FailClose', header: 'closed' },
        ]),
      ),
      sims.podsFile,
    ];
    const [open, closed] = await Promise.all([
      h.startEpp(files, 'open-pool'),
      h.startEpp(files, 'closed-pool'),
    ]);
    const envoy = await h.startEnvoy(files, {
      extra: [
        '--epp',
        `open-pool=127.0.0.1:${open.grpcPort}`,
        '--epp',
        `closed-pool=127.0.0.1:${closed.grpcPort}`,
      ],
    });
    const send = (pool: string) =>
      call(envoy.url, '/v1/chat/completions', { headers: { 'x-pool': pool }, json: CHAT });
    expect((await send('open')).status).toBe(200);
    expect((await send('closed')).status).toBe(200);
    expect(await open.metric('infergate_requests_total')).toBe(1);
    expect(await closed.metric('infergate_requests_total')).toBe(1);

    await open.proc.stop();
    await closed.proc.stop();
    // A request whose body already streamed to a dead picker answers 500, even for a FailOpen pool
    // (docs/extproc.md); the first stream that cannot connect ejects the picker (outlier detection),
    // after which the stream is not opened at all and failure_mode_allow applies. Requests back to
    // back, without waiting for the health check: at most the first one or two fail.
    const early: number[] = [];
    for (let i = 0; i < 6 && early.at(-1) !== 200; i++) early.push((await send('open')).status);
    expect(early.at(-1), `statuses after the picker stopped: ${early.join(', ')}`).toBe(200);
    expect(early.length).toBeLessThanOrEqual(3);
    const flags = await (await fetch(`${envoy.adminUrl}/clusters`)).text();
    expect(flags).toMatch(/^epp\.default\.open-pool::[^:]+:\d+::health_flags::.*failed_outlier_check/m);
    for (let i = 0; i < 4; i++) {
      const r = await send('open');
      expect(r.status, r.text).toBe(200);
      expect((r.json() as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
      const c = await send('closed');
      expect(c.status).toBeGreaterThanOrEqual(500);
    }
  }, 180_000);

  it('a sheddable request under saturation gets 429 with the dropped reason; a critical one goes on', async () => {
    const sims = await h.startSims(
      ['--replicas', '1', '--served-model-name', 'm', '--num-gpu-blocks', '64', '--max-model-len', '1024'],
      { labels: 'app=sat', namePrefix: 'sat' },
    );
    const files = [
      h.file(
        'sat.yaml',
        `${onePoolManifests({ gatewayClass: 'envoy', pool: 'sat', app: 'sat' })}---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: chat, namespace: default }
spec: { modelName: chat, criticality: Critical, poolRef: { name: sat }, targetModels: [{ name: m, weight: 1 }] }
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: batch, namespace: default }
spec: { modelName: batch, criticality: Sheddable, poolRef: { name: sat }, targetModels: [{ name: m, weight: 1 }] }
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
  plugins: [{ pluginRef: saturation-filter }, { pluginRef: kv-cache-utilization-scorer }, { pluginRef: max-score-picker }]
`,
      ),
      sims.podsFile,
    ];
    const epp = await h.startEpp(files, 'sat');
    const envoy = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
    // A long stream fills > 20 % of the replica's KV cache; wait until the picker has scraped that.
    const res = await request(`${envoy.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'chat',
        prompt: 'tell me a long story about the sea '.repeat(40),
        max_tokens: 150,
        stream: true,
      }),
    });
    expect(res.statusCode).toBe(200);
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    // A scrape sent after the stream started sees its KV use (the age tells when it was sent).
    const since = Date.now();
    let fresh = false;
    await waitFor(
      () => fresh,
      'a scrape taken after the long request started',
      20_000,
      async () => {
        const askedAt = Date.now();
        const page = await (await fetch(`${epp.metricsUrl}/metrics`)).text();
        const age = page.match(/^infergate_pool_endpoint_metrics_age_seconds\{[^}]*\} (\S+)$/m)?.[1];
        fresh = age !== undefined && askedAt - Number(age) * 1000 > since;
      },
    );
    const shed = await call(envoy.url, '/v1/completions', {
      json: { model: 'batch', prompt: 'hi', max_tokens: 4 },
    });
    expect(shed.status).toBe(429);
    expect(shed.headers['x-llm-d-request-dropped-reason']).toBe('rejected-saturated');
    expect((shed.json() as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'RateLimitError',
      message: expect.stringMatching(/saturated/),
    });
    const critical = await call(envoy.url, '/v1/completions', {
      json: { model: 'chat', prompt: 'hi', max_tokens: 4 },
    });
    expect(critical.status).toBe(200);
    for (;;) if ((await it.next()).done) break;
  }, 180_000);
});
