/**
 * The Inference Extension conformance tests that depend on status and routing, modelled by name
 * against a real API server with `serve --kubernetes` as the implementation (InferencePool v1,
 * Gateway API v1), and the plan source's own behaviour: the narrowed (one pool) watch of the
 * endpoint picker, and a kind whose CRD is missing.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanUpdate } from '../../src/config/plan-source.js';
import { KubernetesPlanSource } from '../../src/k8s/index.js';
import { Reflector } from '../../src/k8s/reflector.js';
import { silentLogger } from '../../src/util/log.js';
import { startCli } from '../helpers/cli.js';
import { hasTool } from '../helpers/deps.js';
import { type KubeEnv, startKubeEnv } from '../helpers/kube.js';
import {
  complete,
  conditionOf,
  eventually,
  runPod,
  type Serve,
  type Sims,
  startServe,
  startSims,
} from './helpers.js';

const GW = 'gateway.networking.k8s.io/v1';
const V1 = 'inference.networking.k8s.io/v1';
const POOL_GROUP = 'inference.networking.k8s.io';
const MODEL = 'conformance-model';

const gateway = (name: string, port: number) => ({
  apiVersion: GW,
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: {
    gatewayClassName: 'infergate',
    listeners: [{ name: 'http', port, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }],
  },
});
const pool = (name: string, app: string) => ({
  apiVersion: V1,
  kind: 'InferencePool',
  metadata: { name, namespace: 'default' },
  spec: { selector: { matchLabels: { app } }, targetPorts: [{ number: 8000 }] },
});
type Rule = { path?: string; pool: string; port?: number };
const route = (name: string, gw: string, host: string, rules: Rule[]) => ({
  apiVersion: GW,
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'default' },
  spec: {
    parentRefs: [{ name: gw }],
    hostnames: [host],
    rules: rules.map((r) => ({
      ...(r.path ? { matches: [{ path: { type: 'PathPrefix', value: r.path } }] } : {}),
      backendRefs: [
        { group: POOL_GROUP, kind: 'InferencePool', name: r.pool, ...(r.port ? { port: r.port } : {}) },
      ],
    })),
  },
});

type Parent = { parentRef: { name: string; kind?: string }; conditions: unknown; controllerName?: string };

describe.skipIf(!hasTool('kube-apiserver') || !hasTool('etcd'))('on a real API server', () => {
  let env: KubeEnv;
  let sims: Sims;
  let serve: Serve;
  let primaryUrl: string;
  let secondaryUrl: string;
  const primaryEp = () => `127.0.0.1:${sims.ports[0]}`;
  const secondaryEp = () => `127.0.0.1:${sims.ports[1]}`;

  const poolParents = async (name: string): Promise<Parent[]> =>
    ((await env.get(V1, 'InferencePool', 'default', name))?.status as { parents?: Parent[] })?.parents ?? [];
  const routeParents = async (name: string): Promise<Parent[]> =>
    ((await env.get(GW, 'HTTPRoute', 'default', name))?.status as { parents?: Parent[] })?.parents ?? [];
  const acceptedBy = (parents: Parent[], gw: string) =>
    parents.some((p) => p.parentRef.name === gw && conditionOf(p.conditions, 'Accepted')?.status === 'True');

  beforeAll(async () => {
    [env, sims] = await Promise.all([startKubeEnv(), startSims(2, [MODEL])]);
    await env.apply([
      {
        apiVersion: GW,
        kind: 'GatewayClass',
        metadata: { name: 'infergate' },
        spec: { controllerName: 'infergate.io/gateway-controller' },
      },
      gateway('primary-gateway', 80),
      gateway('secondary-gateway', 81),
      pool('primary-pool', 'primary'),
      pool('secondary-pool', 'secondary'),
    ]);
    await runPod(
      env,
      { name: 'primary-0', labels: { app: 'primary' }, containerPort: 8000, hostPort: sims.ports[0]! },
      1,
    );
    await runPod(
      env,
      { name: 'secondary-0', labels: { app: 'secondary' }, containerPort: 8000, hostPort: sims.ports[1]! },
      2,
    );
    serve = startServe(env, [80, 81], ['--debug-headers', '--gateway-address', '127.0.0.1']);
    [primaryUrl, secondaryUrl] = await Promise.all([
      serve.url('default/primary-gateway/http'),
      serve.url('default/secondary-gateway/http'),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([serve?.stop(), sims?.stop()]);
    await env?.stop();
  });

  describe('Inference Extension conformance (modelled)', () => {
    it('InferencePoolAccepted', async () => {
      await env.apply([
        route('accepted-route', 'primary-gateway', 'accepted.example.com', [{ pool: 'primary-pool' }]),
      ]);
      await eventually(
        async () => acceptedBy(await poolParents('primary-pool'), 'primary-gateway'),
        15_000,
        'pool Accepted',
      );
      const p = (await poolParents('primary-pool')).find((x) => x.parentRef.name === 'primary-gateway')!;
      expect(p.parentRef.kind).toBe('Gateway');
      expect(conditionOf(p.conditions, 'ResolvedRefs')?.status).toBe('True');
      const r = await complete(primaryUrl, MODEL, { host: 'accepted.example.com' });
      expect(r.status, r.body).toBe(200);
      await env.remove(GW, 'HTTPRoute', 'default', 'accepted-route');
      await eventually(
        async () => (await poolParents('primary-pool')).length === 0,
        15_000,
        'parents cleared',
      );
    });

    it('HTTPRouteInvalidInferencePoolRef', async () => {
      await env.apply([
        route('invalid-ref', 'primary-gateway', 'invalid.example.com', [{ pool: 'non-existent-pool' }]),
      ]);
      await eventually(
        async () => {
          const p = (await routeParents('invalid-ref'))[0];
          return conditionOf(p?.conditions, 'ResolvedRefs')?.reason === 'BackendNotFound';
        },
        15_000,
        'ResolvedRefs=False BackendNotFound',
      );
      const p = (await routeParents('invalid-ref'))[0]!;
      expect(p.controllerName).toBe('infergate.io/gateway-controller');
      expect(conditionOf(p.conditions, 'Accepted')?.status).toBe('True');
      expect(conditionOf(p.conditions, 'ResolvedRefs')?.status).toBe('False');
      const r = await complete(primaryUrl, MODEL, { host: 'invalid.example.com' });
      expect(r.status).toBe(500);
      await env.remove(GW, 'HTTPRoute', 'default', 'invalid-ref');
    });

    it('HTTPRouteMultipleRulesDifferentPools', async () => {
      await env.apply([
        route('multi-rules', 'primary-gateway', 'rules.example.com', [
          { path: '/v1/completions', pool: 'primary-pool' },
          { path: '/v1/chat', pool: 'secondary-pool' },
        ]),
      ]);
      await eventually(
        async () => (await complete(primaryUrl, MODEL, { host: 'rules.example.com' })).status === 200,
        15_000,
        'route served',
      );
      for (let i = 0; i < 4; i++) {
        expect((await complete(primaryUrl, MODEL, { host: 'rules.example.com' })).endpoint).toBe(primaryEp());
        const chat = await complete(primaryUrl, MODEL, {
          host: 'rules.example.com',
          path: '/v1/chat/completions',
        });
        expect(chat.endpoint).toBe(secondaryEp());
      }
      await env.remove(GW, 'HTTPRoute', 'default', 'multi-rules');
    });

    it('HTTPRouteMultipleGatewaysDifferentPools', async () => {
      await env.apply([
        route('primary-route', 'primary-gateway', 'gateways.example.com', [{ pool: 'primary-pool' }]),
        route('secondary-route', 'secondary-gateway', 'gateways.example.com', [{ pool: 'secondary-pool' }]),
      ]);
      await eventually(
        async () => (await complete(secondaryUrl, MODEL, { host: 'gateways.example.com' })).status === 200,
        15_000,
        'both routes served',
      );
      await eventually(
        async () => (await complete(primaryUrl, MODEL, { host: 'gateways.example.com' })).status === 200,
        15_000,
        'both routes served',
      );
      for (let i = 0; i < 4; i++) {
        expect((await complete(primaryUrl, MODEL, { host: 'gateways.example.com' })).endpoint).toBe(
          primaryEp(),
        );
        expect((await complete(secondaryUrl, MODEL, { host: 'gateways.example.com' })).endpoint).toBe(
          secondaryEp(),
        );
      }
      await eventually(
        async () => acceptedBy(await poolParents('secondary-pool'), 'secondary-gateway'),
        15_000,
        'pool Accepted by the second Gateway',
      );
      await env.remove(GW, 'HTTPRoute', 'default', 'primary-route');
      await env.remove(GW, 'HTTPRoute', 'default', 'secondary-route');
    });

    it('InferencePoolHTTPRoutePortValidation', async () => {
      const cases = [
        ['port-unspecified', undefined],
        ['port-matching', 8000],
        ['port-non-matching', 8888],
      ] as const;
      await env.apply(
        cases.map(([name, port]) =>
          route(name, 'primary-gateway', `${name}.example.com`, [
            { pool: 'primary-pool', ...(port ? { port } : {}) },
          ]),
        ),
      );
      for (const [name] of cases) {
        await eventually(
          async () => {
            const p = (await routeParents(name))[0];
            return (
              conditionOf(p?.conditions, 'Accepted')?.status === 'True' &&
              conditionOf(p?.conditions, 'ResolvedRefs')?.status === 'True'
            );
          },
          15_000,
          `${name} accepted`,
        );
        await eventually(
          async () => (await complete(primaryUrl, MODEL, { host: `${name}.example.com` })).status === 200,
          15_000,
          `${name} routable`,
        );
      }
      for (const [name] of cases) await env.remove(GW, 'HTTPRoute', 'default', name);
    });

    it('InferencePoolResolvedRefsCondition', async () => {
      await env.apply([
        route('httproute-for-primary-gw', 'primary-gateway', 'primary.example.com', [
          { path: '/', pool: 'primary-pool' },
        ]),
        route('httproute-for-secondary-gw', 'secondary-gateway', 'secondary.example.com', [
          { path: '/', pool: 'primary-pool' },
        ]),
      ]);
      await eventually(
        async () => {
          const parents = await poolParents('primary-pool');
          return acceptedBy(parents, 'primary-gateway') && acceptedBy(parents, 'secondary-gateway');
        },
        15_000,
        'Accepted by both parents',
      );
      await eventually(
        async () => (await complete(secondaryUrl, MODEL, { host: 'secondary.example.com' })).status === 200,
        15_000,
        'secondary routable',
      );

      await env.remove(GW, 'HTTPRoute', 'default', 'httproute-for-primary-gw');
      await eventually(
        async () => {
          const parents = await poolParents('primary-pool');
          return parents.length === 1 && acceptedBy(parents, 'secondary-gateway');
        },
        15_000,
        'only the secondary parent left',
      );
      await eventually(
        async () => (await complete(primaryUrl, MODEL, { host: 'primary.example.com' })).status === 404,
        15_000,
        'primary no longer routed',
      );
      expect((await complete(secondaryUrl, MODEL, { host: 'secondary.example.com' })).status).toBe(200);

      await env.remove(GW, 'HTTPRoute', 'default', 'httproute-for-secondary-gw');
      await eventually(async () => (await poolParents('primary-pool')).length === 0, 15_000, 'no parents');
      await eventually(
        async () => (await complete(secondaryUrl, MODEL, { host: 'secondary.example.com' })).status === 404,
        15_000,
        'not routed',
      );
    });

    it('writes Gateway status with listeners and the address given', async () => {
      const gw = await env.get(GW, 'Gateway', 'default', 'secondary-gateway');
      const s = gw?.status as {
        addresses: { type: string; value: string }[];
        conditions: unknown;
        listeners: { name: string; supportedKinds: { kind: string }[]; conditions: unknown }[];
      };
      expect(s.addresses).toEqual([{ type: 'IPAddress', value: '127.0.0.1' }]);
      expect(conditionOf(s.conditions, 'Programmed')?.status).toBe('True');
      expect(s.listeners[0]!.supportedKinds.map((k) => k.kind)).toEqual(['HTTPRoute']);
      expect(conditionOf(s.listeners[0]!.conditions, 'Accepted')?.status).toBe('True');
    });
  });

  describe('plan source', () => {
    it('narrowed to one pool: that pool, the Pods its selector matches, the objectives naming it; follows a selector edit', async () => {
      const objective = (name: string, poolName: string) => ({
        apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
        kind: 'InferenceObjective',
        metadata: { name, namespace: 'default' },
        spec: { priority: 1, poolRef: { group: POOL_GROUP, kind: 'InferencePool', name: poolName } },
      });
      await env.apply([objective('mine', 'primary-pool'), objective('other', 'secondary-pool')]);
      const updates: PlanUpdate[] = [];
      const source = new KubernetesPlanSource({
        api: env.api,
        logger: silentLogger(),
        pool: { namespace: 'default', name: 'primary-pool' },
        coalesceMs: 50,
      });
      try {
        await source.start((u) => {
          updates.push(u);
        });
        const first = updates.at(-1)!.plan!;
        expect([...first.pools.keys()]).toEqual(['default/primary-pool']);
        const p = first.pools.get('default/primary-pool')!;
        expect(p.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual([primaryEp()]);
        expect(p.objectives.map((o) => o.name)).toEqual(['mine']);
        expect(first.routes).toEqual([]);
        expect(source.states().some((s) => s.kind.startsWith('Pod') && s.kind.includes('in default'))).toBe(
          true,
        );

        await env.apply([
          { ...pool('primary-pool', 'secondary'), metadata: { name: 'primary-pool', namespace: 'default' } },
        ]);
        await eventually(
          () => {
            const eps = updates.at(-1)?.plan?.pools.get('default/primary-pool')?.endpoints ?? [];
            return eps.length === 1 && `${eps[0]!.address}:${eps[0]!.port}` === secondaryEp();
          },
          15_000,
          'endpoints of the new selector',
        );
      } finally {
        await source.close();
        await env.apply([pool('primary-pool', 'primary')]);
        await env.remove('inference.networking.x-k8s.io/v1alpha2', 'InferenceObjective', 'default', 'mine');
        await env.remove('inference.networking.x-k8s.io/v1alpha2', 'InferenceObjective', 'default', 'other');
      }
    });

    /** `infergate epp --kubernetes` for `pool` against the test API server, every port OS-chosen. */
    const startEpp = (pool: string) =>
      startCli([
        'epp',
        '--kubernetes',
        '--kubeconfig',
        env.kubeconfig,
        '--pool',
        pool,
        '--host',
        '127.0.0.1',
        '--grpc-port',
        '0',
        '--health-port',
        '-1',
        '--metrics-port',
        '0',
      ]);

    it('serves `infergate epp --kubernetes --pool` from the narrowed watch', async () => {
      const epp = startEpp('default/secondary-pool');
      try {
        const m = await epp.waitForLine(/metrics ready (http:\S+)/, 120_000);
        await epp.waitForLine(/epp ready \S+ pool=default\/secondary-pool/, 60_000);
        const ready = await request(`${m[1]}/readyz`);
        await ready.body.dump();
        expect(ready.statusCode).toBe(200);
      } finally {
        await epp.stop();
      }
    });

    it('`epp --kubernetes` for a pool not created yet: live and not ready (naming the pool), then serves it', async () => {
      const epp = startEpp('default/later-pool');
      try {
        const admin = (await epp.waitForLine(/metrics ready (http:\S+)/, 120_000))[1]!;
        const get = async (path: string) => {
          const res = await request(`${admin}${path}`);
          return { status: res.statusCode, body: await res.body.text() };
        };
        expect((await get('/healthz')).status).toBe(200);
        await eventually(
          async () =>
            (await get('/readyz')).body.includes('InferencePool default/later-pool is not in the cluster'),
          15_000,
          '/readyz to name the missing pool',
        );
        expect((await get('/readyz')).status).toBe(503);
        expect(epp.stdout()).not.toMatch(/epp ready/);
        await env.apply([pool('later-pool', 'secondary')]);
        await epp.waitForLine(/epp ready \S+ pool=default\/later-pool/, 30_000);
        expect((await get('/readyz')).status).toBe(200);
      } finally {
        await epp.stop();
        await env.api.json(
          'DELETE',
          '/apis/inference.networking.k8s.io/v1/namespaces/default/inferencepools/later-pool',
        );
      }
    });

    it('warns about a kind whose CRD is missing and keeps going', async () => {
      const lines: string[] = [];
      const logger = pino(
        { level: 'warn' },
        new Writable({
          write(c, _e, cb) {
            lines.push(String(c));
            cb();
          },
        }),
      );
      const r = new Reflector({
        api: env.api,
        logger,
        resource: {
          apiVersion: 'llm-d.ai/v1alpha2',
          kind: 'InferenceObjective',
          plural: 'inferenceobjectives',
          namespaced: true,
          crd: true,
          trim: (o) => o,
        },
        onChange: () => undefined,
        missingRetryMs: 60_000,
      });
      r.start();
      await r.ready;
      expect(r.state).toBe('missing');
      await r.stop();
      expect(lines.join('')).toMatch(/does not serve InferenceObjective \(llm-d\.ai\/v1alpha2\).*CRD/);
    });

    it('answers /readyz 503 naming the kinds not listed yet, and 200 once every kind is listed and the plan served', async () => {
      // A ServiceAccount that may read every watched kind but Pods: the Pod list is refused (403).
      const rules = (withPods: boolean) => [
        {
          apiGroups: [''],
          resources: ['services', 'namespaces', ...(withPods ? ['pods'] : [])],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: [
            'gateway.networking.k8s.io',
            'inference.networking.k8s.io',
            'inference.networking.x-k8s.io',
          ],
          resources: ['*'],
          verbs: ['get', 'list', 'watch'],
        },
      ];
      const role = (withPods: boolean) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'readyz-reader' },
        rules: rules(withPods),
      });
      await env.apply([
        route('readyz-route', 'primary-gateway', 'readyz.example.com', [{ pool: 'primary-pool' }]),
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'readyz', namespace: 'default' } },
        role(false),
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'readyz-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'readyz-reader' },
          subjects: [{ kind: 'ServiceAccount', name: 'readyz', namespace: 'default' }],
        },
      ]);
      const kubeconfig = await env.kubeconfigFor('default', 'readyz');
      const limited = startServe({ ...env, kubeconfig }, [80, 81], ['--no-status'], 'readyz');
      try {
        const readyz = async () => {
          const res = await request(`${await limited.admin()}/readyz`);
          return { status: res.statusCode, body: await res.body.text() };
        };
        // Every other kind lists at once; Pods are refused and retried with backoff.
        const waitingForPods =
          /^not ready: waiting for the first list from the API server of: Pod \(v1\) \(last error: 403 Forbidden\)\n$/;
        let first = { status: 0, body: '' };
        await eventually(
          async () => {
            first = await readyz();
            return waitingForPods.test(first.body);
          },
          // generous: on a loaded CI machine the API server can take seconds to answer the first lists
          45_000,
          'only the refused Pod list in /readyz',
        ).catch((err: Error) => {
          throw new Error(`${err.message}; last /readyz: ${first.status} ${first.body}`);
        });
        expect(first.status).toBe(503);
        expect(limited.proc.stdout()).not.toMatch(/listener .* ready/);

        await env.apply([role(true)]);
        // The Pod reflector retries (backoff from 0.5 s, doubling), lists, and the first plan is served.
        const url = await limited.url('default/primary-gateway/http', 60_000);
        await eventually(async () => (await readyz()).status === 200, 15_000, '/readyz 200');
        expect((await readyz()).body).toBe('ready\n');
        const r = await complete(url, MODEL, { host: 'readyz.example.com' });
        expect(r.status, r.body).toBe(200);
      } finally {
        await limited.stop();
      }
    }, 150_000);
  });
});
