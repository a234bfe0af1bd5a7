/**
 * The InferencePool path with nothing stubbed: `infergate sim` replicas (vLLM's API and metrics)
 * behind `infergate serve` with its default scheduler registry (scrapes, picker, InferenceModel
 * target draws, model rewrite). Checks what a stub router cannot: the canary split between an
 * InferenceModel's targets within a binomial bound of its weights (seeded), and a streamed answer
 * whose every chunk carries the client's model name, not the target's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRecord } from '../../src/telemetry/access-log.js';
import { type Fleet, fleet } from '../helpers/fleet.js';
import { call } from './helpers/http.js';
import { gatewayYaml } from './helpers/manifests.js';
import { waitFor } from './helpers/upstream.js';

/** The InferenceModel's public name and its two targets (both served by the simulator). */
const PUBLIC = 'travel-helper';
const V1 = 'travel-helper-v1';
const V2 = 'travel-helper-v2';
const W1 = 75;
const W2 = 25;

const manifests = `${gatewayYaml('gw', [{ name: 'http', port: 80 }])}---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: pool
  namespace: default
spec:
  targetPortNumber: 8000
  selector:
    app: sim
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata:
  name: ${PUBLIC}
  namespace: default
spec:
  modelName: ${PUBLIC}
  criticality: Critical
  poolRef:
    name: pool
  targetModels:
  - name: ${V1}
    weight: ${W1}
  - name: ${V2}
    weight: ${W2}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  namespace: default
spec:
  parentRefs:
  - name: gw
  rules:
  - backendRefs:
    - group: inference.networking.x-k8s.io
      kind: InferencePool
      name: pool
`;

describe('InferencePool routing through the real scheduler and the simulator', () => {
  let rig: Fleet;
  let url: string;
  let accessLog: string;

  beforeAll(async () => {
    rig = fleet('real-router');
    accessLog = join(rig.dir, 'access.log');
    const sims = await rig.startSims(
      ['--replicas', '2', '--time-scale', '0.01', '--seed', '3', '--served-model-name', 'base', V1, V2],
      { labels: 'app=sim' },
      45_000,
    );
    const files = [rig.file('manifests.yaml', manifests), sims.podsFile];
    const extra = ['--seed', '11', '--scrape-interval', '20ms', '--access-log', accessLog];
    ({ url } = await rig.startServe(files, extra, { readyTimeoutMs: 45_000 }));
  }, 120_000);

  afterAll(async () => {
    await rig?.stopAll();
  });

  /** Access-log lines written so far (the log is batched: wait for the count you need). */
  function accessLines(): AccessRecord[] {
    let text = '';
    try {
      text = readFileSync(accessLog, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AccessRecord);
  }

  it('splits an InferenceModel between its targets within a binomial bound of the weights', async () => {
    const n = 160;
    const concurrency = 8;
    let next = 0;
    const statuses: number[] = [];
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const r = await call(url, '/v1/completions', {
          json: { model: PUBLIC, prompt: `trip ${i}`, max_tokens: 1 },
        });
        statuses.push(r.status);
        expect((r.json() as { model: string }).model).toBe(PUBLIC);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(statuses.filter((s) => s === 200)).toHaveLength(n);
    let lines: AccessRecord[] = [];
    await waitFor(
      () => lines.filter((l) => l.model === PUBLIC).length >= n,
      'the access log',
      15_000,
      async () => {
        lines = accessLines();
      },
    );
    const split = lines.filter((l) => l.model === PUBLIC);
    const v1 = split.filter((l) => l.target_model === V1).length;
    const v2 = split.filter((l) => l.target_model === V2).length;
    expect(v1 + v2).toBe(n);
    // Binomial(n, p): |v1 − np| ≤ 4.5 σ fails by chance with probability < 1e-5.
    const p = W1 / (W1 + W2);
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(v1 - n * p)).toBeLessThanOrEqual(4.5 * sigma);
    // And the split is not even (4.5 σ from 50/50 as well, for these weights and n).
    expect(Math.abs(v1 - n / 2)).toBeGreaterThan(4.5 * Math.sqrt(n * 0.25));
  });

  it('streams the answer of a target with the public model name in every chunk', async () => {
    const r = await call(url, '/v1/chat/completions', {
      json: {
        model: PUBLIC,
        messages: [{ role: 'user', content: 'Plan a weekend in Kyoto.' }],
        max_tokens: 6,
        stream: true,
      },
    });
    expect(r.status).toBe(200);
    const events = r.text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)) as { model: string; choices: unknown[] });
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) expect(e.model).toBe(PUBLIC);
    expect(r.text).not.toContain(V1);
    expect(r.text).not.toContain(V2);
    expect(r.text).toContain('data: [DONE]');
    // The upstream did answer for a target model (the rewrite happened, both ways).
    const id = String(r.headers['x-request-id']);
    let line: AccessRecord | undefined;
    await waitFor(
      () => line !== undefined,
      'the access-log line',
      15_000,
      async () => {
        line = accessLines().find((l) => l.id === id);
      },
    );
    expect([V1, V2]).toContain(line!.target_model);
  });
});
