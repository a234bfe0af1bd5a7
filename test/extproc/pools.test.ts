/**
 * Several endpoints per pod and several pools behind one Envoy, modelled on the Inference Extension
 * conformance tests GatewayFollowingEPPRouting (its data-parallel form: one pod, several
 * targetPorts, each its own endpoint) and GatewayWeightedAcrossTwoInferencePools (the route's
 * weights split traffic between two pools, each picked by its own `infergate epp`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../gateway/helpers/http.js';
import { hasTool } from '../helpers/deps.js';
import { harness } from './helpers.js';

const CHAT = { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hello' }] };

const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: envoy
  listeners: [{ name: http, port: 80, protocol: HTTP }]
`;

describe.skipIf(!hasTool('envoy'))('pools behind Envoy + epp', () => {
  const h = harness('epp-pools');
  afterAll(() => h.stopAll());

  it('GatewayFollowingEPPRouting with data parallelism: one pod, two targetPorts, both served as picked', async () => {
    const sims = await h.startSims(['--replicas', '2', '--served-model-name', 'm', '--time-scale', '0.05'], {
      labels: 'app=unused',
    });
    const ports = sims.urls.map((u) => Number(new URL(u).port));
    const files = [
      h.file(
        'dp.yaml',
        `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs: [{ group: inference.networking.k8s.io, kind: InferencePool, name: dp }]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: dp, namespace: default }
spec:
  targetPorts: [{ number: 8000 }, { number: 8001 }]
  selector: { matchLabels: { app: dp } }
  endpointPickerRef: { name: dp-epp, port: { number: 9002 } }
---
apiVersion: v1
kind: Pod
metadata: { name: dp-0, namespace: default, labels: { app: dp } }
spec:
  containers:
  - name: vllm
    image: vllm
    ports:
    - { name: rank0, containerPort: 8000, hostPort: ${ports[0]} }
    - { name: rank1, containerPort: 8001, hostPort: ${ports[1]} }
status:
  phase: Running
  podIP: 127.0.0.1
  hostIP: 127.0.0.1
  conditions: [{ type: Ready, status: "True" }]
`,
      ),
    ];
    const epp = await h.startEpp(files, 'dp', ['--debug-headers']);
    const envoy = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
    // Concurrent requests: the picker counts each decision at once, so they spread over both ranks.
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(envoy.url, '/v1/chat/completions', {
          json: { ...CHAT, messages: [{ role: 'user', content: `rank question ${i}` }] },
        }),
      ),
    );
    const served = new Set<string>();
    for (const r of replies) {
      expect(r.status, r.text).toBe(200);
      served.add(String(r.headers['x-infergate-endpoint']));
    }
    expect(served).toEqual(new Set(ports.map((p) => `127.0.0.1:${p}`)));
    expect(await epp.metric('infergate_epp_served_endpoint_total', { outcome: 'primary' })).toBe(8);
  }, 180_000);

  it('GatewayWeightedAcrossTwoInferencePools: the route weights split traffic between two pickers', async () => {
    const [a, b] = await Promise.all([
      h.startSims(['--replicas', '1', '--served-model-name', 'm', '--time-scale', '0.01'], {
        labels: 'app=a',
        namePrefix: 'a',
      }),
      h.startSims(['--replicas', '1', '--served-model-name', 'm', '--time-scale', '0.01'], {
        labels: 'app=b',
        namePrefix: 'b',
      }),
    ]);
    const pool = (name: string) => `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: pool-${name}, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: ${name} }
  extensionRef: { name: pool-${name}-epp }
`;
    const files = [
      h.file(
        'two.yaml',
        `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs:
    - { group: inference.networking.x-k8s.io, kind: InferencePool, name: pool-a, weight: 50 }
    - { group: inference.networking.x-k8s.io, kind: InferencePool, name: pool-b, weight: 50 }
${pool('a')}${pool('b')}`,
      ),
      a.podsFile,
      b.podsFile,
    ];
    const [eppA, eppB] = await Promise.all([
      h.startEpp(files, 'pool-a', ['--debug-headers']),
      h.startEpp(files, 'pool-b', ['--debug-headers']),
    ]);
    const envoy = await h.startEnvoy(files, {
      extra: ['--epp', `pool-a=127.0.0.1:${eppA.grpcPort}`, '--epp', `pool-b=127.0.0.1:${eppB.grpcPort}`],
    });
    const n = 40;
    const urlA = new URL(a.urls[0]!).host;
    const urlB = new URL(b.urls[0]!).host;
    let toA = 0;
    let toB = 0;
    for (let i = 0; i < n; i++) {
      const r = await call(envoy.url, '/v1/chat/completions', {
        json: CHAT,
      });
      expect(r.status, r.text).toBe(200);
      const served = r.headers['x-infergate-endpoint'];
      if (served === urlA) toA++;
      else if (served === urlB) toB++;
    }
    // Each request went to the pool Envoy drew, through that pool's own picker.
    expect(toA + toB).toBe(n);
    expect(await eppA.metric('infergate_requests_total')).toBe(toA);
    expect(await eppB.metric('infergate_requests_total')).toBe(toB);
    // 50/50 over 40 draws: fewer than 8 on one side has probability < 1e-3.
    expect(Math.min(toA, toB)).toBeGreaterThanOrEqual(8);
  }, 180_000);
});
