/**
 * `infergate serve --kubernetes` against a real API server (etcd + kube-apiserver), with seed 003's
 * manifests applied as a user would and simulated vLLM replicas as the Pods: traffic, pod churn
 * under a steady stream, an InferenceModel weight edit, a deleted and recreated pool, statuses,
 * two replicas with one leader, and an API server restart.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool } from '../helpers/deps.js';
import { type KubeEnv, parseYaml, startKubeEnv } from '../helpers/kube.js';
import {
  complete,
  conditionOf,
  eventually,
  runPod,
  type Serve,
  type Sims,
  startServe,
  startSims,
  terminatePod,
} from './helpers.js';

const CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller'; // the class seed 003 names
const LLM_GW = 'default/qwen-inference-gateway/llm-gw';
const X = 'inference.networking.x-k8s.io/v1alpha2';

describe.skipIf(!hasTool('kube-apiserver') || !hasTool('etcd'))(
  'serve --kubernetes (seed 003 on a real API server)',
  () => {
    let env: KubeEnv;
    let sims: Sims;
    let serve: Serve;
    let url: string;

    const pod = (i: number) => ({
      name: `qwen-${i}`,
      labels: { app: 'qwen' },
      containerPort: 8000,
      hostPort: sims.ports[i]!,
    });
    const endpointOf = (i: number) => `127.0.0.1:${sims.ports[i]}`;

    beforeAll(async () => {
      [env, sims] = await Promise.all([startKubeEnv(), startSims(4, ['/model/qwen', 'qwen-a', 'qwen-b'])]);
      // Everything the seed applies, Envoy Gateway's BackendTrafficPolicy included; the Deployment is
      // there, its Pods are ours.
      const seed = ['003-inference-gateway.yaml', '003-inference-pool.yaml', '003-vllm-service.yaml'].flatMap(
        (f) => parseYaml(readFileSync(`${REPO_ROOT}/examples/seeds/${f}`, 'utf8')),
      );
      await env.apply(seed);
      for (let i = 0; i < 3; i++) await runPod(env, pod(i), i + 1);
      serve = startServe(env, [8080, 8081], ['--controller-name', CONTROLLER, '--seed', '7'], 'a', {
        POD_NAME: 'gateway-a',
      });
      url = await serve.url(LLM_GW);
    }, 180_000);

    afterAll(async () => {
      await Promise.all([serve?.stop(), sims?.stop()]);
      await env?.stop();
    });

    it('serves the seed manifests: requests reach the three Pods of the pool', async () => {
      for (let i = 0; i < 9; i++) {
        const r = await complete(url, '/model/qwen');
        expect(r.status, r.body).toBe(200);
      }
      const seen = new Set(serve.access().map((a) => a.endpoint));
      for (const e of seen) expect([endpointOf(0), endpointOf(1), endpointOf(2)]).toContain(e);
    });

    it('writes status: class, Gateway and listeners, HTTPRoute parents, InferencePool parent', async () => {
      await eventually(
        async () => {
          const pool = await env.get(X, 'InferencePool', 'default', 'vllm-qwen-pool');
          const parents =
            (pool?.status as { parent?: { parentRef: { name: string }; conditions: unknown }[] })?.parent ??
            [];
          return parents.some(
            (p) =>
              p.parentRef.name === 'qwen-inference-gateway' &&
              conditionOf(p.conditions, 'Accepted')?.status === 'True',
          );
        },
        15_000,
        'InferencePool Accepted by its Gateway',
      );
      const gc = await env.get(
        'gateway.networking.k8s.io/v1',
        'GatewayClass',
        undefined,
        'qwen-inference-gateway-class',
      );
      expect(conditionOf((gc?.status as { conditions?: unknown })?.conditions, 'Accepted')?.status).toBe(
        'True',
      );
      const gw = await env.get(
        'gateway.networking.k8s.io/v1',
        'Gateway',
        'default',
        'qwen-inference-gateway',
      );
      const gs = gw?.status as {
        conditions: unknown;
        listeners: { name: string; attachedRoutes: number; conditions: unknown }[];
      };
      expect(conditionOf(gs.conditions, 'Accepted')).toMatchObject({
        status: 'True',
        observedGeneration: gw?.metadata.generation,
      });
      expect(conditionOf(gs.conditions, 'Programmed')?.status).toBe('True');
      expect(gs.listeners.map((l) => [l.name, l.attachedRoutes])).toEqual([
        ['http', 1],
        ['llm-gw', 1],
      ]);
      const route = await env.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'qwen-backend');
      const parents = (route!.status as { parents: { controllerName: string; conditions: unknown }[] })
        .parents;
      expect(parents).toHaveLength(1);
      expect(parents[0]!.controllerName).toBe(CONTROLLER);
      expect(conditionOf(parents[0]!.conditions, 'Accepted')?.status).toBe('True');
      expect(conditionOf(parents[0]!.conditions, 'ResolvedRefs')?.status).toBe('True');
    });

    it('follows pod churn 3 → 1 → 4 under a steady stream without losing a request or rebuilding routes', async () => {
      const reloads = () => serve.metric('infergate_config_reloads_total');
      const endpointUpdates = () => serve.metric('infergate_endpoint_updates_total');
      const [reloadsBefore, updatesBefore] = [await reloads(), await endpointUpdates()];
      const results: number[] = [];
      let stop = false;
      const started = Date.now();
      const worker = async () => {
        // Bounded: at most 3,000 requests or 90 s per worker.
        for (let n = 0; n < 3000 && !stop && Date.now() - started < 90_000; n++) {
          results.push((await complete(url, '/model/qwen')).status);
        }
      };
      const stream = Promise.all([worker(), worker(), worker()]);
      try {
        await Promise.all([terminatePod(env, 'default', 'qwen-1'), terminatePod(env, 'default', 'qwen-2')]);
        let mark = serve.access().length;
        await eventually(
          () => {
            const recent = serve.access().slice(mark);
            return recent.length >= 30 && recent.slice(-30).every((a) => a.endpoint === endpointOf(0));
          },
          20_000,
          'traffic on qwen-0 only',
        );
        for (const i of [1, 2, 3]) await runPod(env, pod(i), i + 10);
        mark = serve.access().length;
        await eventually(
          () => {
            const seen = new Set(
              serve
                .access()
                .slice(mark)
                .map((a) => a.endpoint),
            );
            return [0, 1, 2, 3].every((i) => seen.has(endpointOf(i)));
          },
          20_000,
          'traffic on all four Pods',
        );
      } finally {
        stop = true;
        await stream;
      }
      expect(results.length).toBeGreaterThan(30);
      expect(results.filter((s) => s !== 200)).toEqual([]);
      // Pod churn changed endpoint sets only: no route table, router or objective was rebuilt.
      expect(await endpointUpdates()).toBeGreaterThanOrEqual(updatesBefore + 2);
      expect(await reloads()).toBe(reloadsBefore);
    });

    it('follows an InferenceModel weight edit', async () => {
      const model = (a: number, b: number) => ({
        apiVersion: X,
        kind: 'InferenceModel',
        metadata: { name: 'canary', namespace: 'default' },
        spec: {
          modelName: 'chat',
          poolRef: { group: 'inference.networking.x-k8s.io', kind: 'InferencePool', name: 'vllm-qwen-pool' },
          targetModels: [
            { name: 'qwen-a', weight: a },
            { name: 'qwen-b', weight: b },
          ],
        },
      });
      const share = async (n: number) => {
        const mark = serve.access().length;
        for (let i = 0; i < n; i++) expect((await complete(url, 'chat')).status).toBe(200);
        const recent = serve.access().slice(mark);
        return recent.filter((a) => a.target_model === 'qwen-a').length / recent.length;
      };
      const reloadsBefore = await serve.metric('infergate_config_reloads_total', { result: 'success' });
      await env.apply([model(1, 99)]);
      await eventually(async () => (await complete(url, 'chat')).status === 200, 10_000, 'model chat served');
      // A routing kind rebuilds the plan (unlike pod churn).
      expect(await serve.metric('infergate_config_reloads_total', { result: 'success' })).toBeGreaterThan(
        reloadsBefore,
      );
      await eventually(async () => (await share(10)) <= 0.2, 10_000, 'most traffic on qwen-b');
      expect(await share(60)).toBeLessThan(0.15);
      await env.apply([model(99, 1)]);
      await eventually(async () => (await share(10)) >= 0.8, 10_000, 'the split to follow the edit');
      expect(await share(60)).toBeGreaterThan(0.85);
    });

    it('answers 5xx with a clear body while the pool is deleted, and recovers when it is recreated', async () => {
      const poolObj = parseYaml(
        readFileSync(`${REPO_ROOT}/examples/seeds/003-inference-pool.yaml`, 'utf8'),
      )[0]!;
      await env.remove(X, 'InferencePool', 'default', 'vllm-qwen-pool');
      let failed: { status: number; body: string } | undefined;
      await eventually(
        async () => {
          const r = await complete(url, '/model/qwen');
          if (r.status >= 500) failed = r;
          return r.status >= 500;
        },
        10_000,
        'requests to fail once the pool is gone',
      );
      expect([500, 503]).toContain(failed!.status);
      const err = JSON.parse(failed!.body) as { error: { message: string } };
      expect(err.error.message).toMatch(/InferencePool|backend/i);
      await eventually(
        async () => {
          const route = await env.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default', 'qwen-backend');
          const p = (route!.status as { parents: { conditions: unknown }[] }).parents[0]!;
          const rr = conditionOf(p.conditions, 'ResolvedRefs');
          return rr?.status === 'False' && rr.reason === 'BackendNotFound';
        },
        10_000,
        'HTTPRoute ResolvedRefs=False BackendNotFound',
      );
      await env.apply([{ ...poolObj, metadata: { ...poolObj.metadata, namespace: 'default' } }]);
      await eventually(
        async () => (await complete(url, '/model/qwen')).status === 200,
        15_000,
        'the recreated pool to serve',
      );
    });

    it('runs two replicas: both serve, one holds the Lease and writes status, the other takes over', async () => {
      const b = startServe(env, [8080, 8081], ['--controller-name', CONTROLLER], 'b', {
        POD_NAME: 'gateway-b',
      });
      try {
        const urlB = await b.url(LLM_GW);
        expect((await complete(urlB, '/model/qwen')).status).toBe(200);
        const holder = async () =>
          (
            (await env.get('coordination.k8s.io/v1', 'Lease', 'default', 'infergate-status-writer'))
              ?.spec as { holderIdentity?: string }
          )?.holderIdentity;
        expect(await holder()).toBe('gateway-a');
        await serve.stop();
        await eventually(async () => (await holder()) === 'gateway-b', 15_000, 'gateway-b to take the Lease');
        // The new leader writes status: a route to a missing pool gets ResolvedRefs=False.
        await env.apply([
          {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'HTTPRoute',
            metadata: { name: 'to-missing-pool', namespace: 'default' },
            spec: {
              parentRefs: [{ name: 'qwen-inference-gateway', sectionName: 'llm-gw' }],
              hostnames: ['missing.example.com'],
              rules: [
                {
                  backendRefs: [
                    { group: 'inference.networking.x-k8s.io', kind: 'InferencePool', name: 'no-such-pool' },
                  ],
                },
              ],
            },
          },
        ]);
        await eventually(
          async () => {
            const route = await env.get(
              'gateway.networking.k8s.io/v1',
              'HTTPRoute',
              'default',
              'to-missing-pool',
            );
            const p = (route?.status as { parents?: { conditions: unknown }[] })?.parents?.[0];
            return (
              conditionOf(p?.conditions, 'ResolvedRefs')?.reason === 'BackendNotFound' &&
              conditionOf(p?.conditions, 'Accepted')?.status === 'True'
            );
          },
          15_000,
          'status from the new leader',
        );
        serve = b; // afterAll stops it; the next test uses it
        url = urlB;
      } catch (err) {
        await b.stop();
        throw err;
      }
    });

    // A crash (SIGKILL), then a graceful stop (SIGTERM: kube-apiserver drains for up to a minute and
    // ends the watches itself). Each removes one more Pod after the restart.
    it.each([
      ['SIGKILL', 0],
      ['SIGTERM', 1],
    ] as const)(
      'keeps serving through an API server restart (%s) and resyncs afterwards',
      async (signal, i) => {
        const results: number[] = [];
        let stop = false;
        const started = Date.now();
        const stream = (async () => {
          // Bounded: at most 5,000 requests or 200 s.
          for (let n = 0; n < 5000 && !stop && Date.now() - started < 200_000; n++)
            results.push((await complete(url, '/model/qwen')).status);
        })();
        try {
          await env.restartApiServer(signal);
          const restarted = Date.now() - started;
          // A change made after the restart reaches the gateway through the resumed watches.
          await terminatePod(env, 'default', `qwen-${i}`);
          await eventually(
            async () => {
              const mark = serve.access().length;
              for (let n = 0; n < 20; n++) await complete(url, '/model/qwen');
              const recent = serve.access().slice(mark);
              return recent.length >= 20 && recent.every((a) => a.endpoint !== endpointOf(i));
            },
            60_000,
            `qwen-${i} to leave the pool after the restart (restart took ${restarted} ms)`,
          ).catch((err: Error) => {
            throw new Error(`${err.message}\n${serve.proc.stderr().slice(-3000)}`);
          });
        } finally {
          stop = true;
          await stream;
        }
        expect(results.length).toBeGreaterThan(30);
        expect(results.filter((s) => s !== 200)).toEqual([]);
      },
      240_000,
    );
  },
);
