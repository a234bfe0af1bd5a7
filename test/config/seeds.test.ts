/**
 * Every manifest of the user's documents (examples/seeds/) validates with the real CLI — exit 0 — and
 * its plan says what the document means. Each file alone, then each document's files together.
 */
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const SEEDS = 'examples/seeds';

interface JsonPlan {
  listeners: {
    key: string;
    port: number;
    protocol: string;
    hostname?: string;
    routeKeys: string[];
    requestTimeoutMs?: number;
    gateway: { kind: string };
  }[];
  routes: {
    key: string;
    kind: string;
    hostnames: string[];
    listenerKeys: string[];
    firstMatch?: boolean;
    rules: {
      matches: { path: { type: string; value: string } }[];
      backends: { kind: string; key: string; port?: number; weight: number; resolved: boolean }[];
      mirrors: {
        backend: { kind: string; key: string; port?: number; resolved: boolean };
        fraction: number;
      }[];
      timeouts: { requestMs?: number; backendRequestMs?: number };
    }[];
  }[];
  services: Record<
    string,
    {
      ports: { port: number; targetPort: number | string; name?: string }[];
      workloads: { kind: string; name: string; replicas: number }[];
    }
  >;
  pools: Record<
    string,
    {
      apiVersion: string;
      selector: { matchLabels: Record<string, string> };
      targetPorts: number[];
      routingStrategy?: string;
      endpointPicker?: { name: string; port?: number; failureMode: string };
      workloads: { kind: string; name: string; replicas: number }[];
      models: {
        name: string;
        modelName: string;
        criticality: string;
        targetModels: { name: string; weight: number }[];
      }[];
    }
  >;
  ignored: { kind: string; names: string[]; reason?: string }[];
}

interface JsonResult {
  valid: boolean;
  errors: number;
  warnings: number;
  diagnostics: { severity: string; code: string; path: string; message: string }[];
  plan: JsonPlan;
}

const runs = new Map<string, Promise<JsonResult>>();

/** Runs `infergate validate -o json` on seed files (once per argument list: tests share the run). */
function validate(files: string[], extra: string[] = []): Promise<JsonResult> {
  const args = ['validate', ...files.flatMap((f) => ['-f', `${SEEDS}/${f}`]), '-o', 'json', ...extra];
  const key = args.join(' ');
  let run = runs.get(key);
  if (!run) {
    run = runCli(args).then((r) => {
      expect(r.code, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as JsonResult;
    });
    runs.set(key, run);
  }
  return run;
}

const warningsOf = (r: JsonResult) =>
  r.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.code} ${d.path}`);

/** Key facts per file, validated alone. */
const perFile: Record<string, (r: JsonResult) => void> = {
  '000-gateway.yaml': (r) => {
    expect(r.plan.listeners.map((l) => [l.key, l.port, l.protocol])).toEqual([
      ['default/example-gateway/http', 80, 'HTTP'],
    ]);
    const route = r.plan.routes[0]!;
    expect([route.key, route.hostnames, route.listenerKeys]).toEqual([
      'HTTPRoute default/mirror-route',
      ['example.com'],
      ['default/example-gateway/http'],
    ]);
    expect(route.rules[0]!.backends).toEqual([
      { kind: 'InferencePool', key: 'default/vllm-llama2-7b-pool', weight: 1, resolved: false },
    ]);
    expect(route.rules[0]!.mirrors).toEqual([
      {
        backend: {
          kind: 'Service',
          key: 'default/vllm-llama2-7b-pool-1',
          port: 8000,
          weight: 1,
          resolved: false,
        },
        fraction: 1,
      },
    ]);
    expect(r.plan.ignored).toEqual([
      {
        kind: 'EnvoyProxy',
        apiVersion: 'gateway.envoyproxy.io/v1alpha1',
        names: ['default/custom-proxy-config'],
        reason: 'infrastructure, not applied in standalone',
      },
    ]);
    // The pool and the mirror Service live in inference_rules.yaml: alone, the references dangle.
    expect(warningsOf(r)).toEqual([
      'REF_NOT_FOUND spec.rules[0].backendRefs[0].name',
      'REF_NOT_FOUND spec.rules[0].filters[0].requestMirror.backendRef.name',
    ]);
  },
  '000-inference-rules.yaml': (r) => {
    const pool = r.plan.pools['default/vllm-llama2-7b-pool']!;
    expect([pool.apiVersion, pool.selector, pool.targetPorts]).toEqual([
      'inference.networking.x-k8s.io/v1alpha2',
      { matchLabels: { app: 'vllm-llama2-7b-pool' } },
      [8000],
    ]);
    expect(pool.endpointPicker).toEqual({
      kind: 'Service',
      name: 'inference-gateway-ext-proc',
      port: 9002,
      failureMode: 'FailClose',
    });
    expect(pool.models).toMatchObject([
      {
        name: 'inferencemodel-sample',
        modelName: '/model/llama2',
        criticality: 'Critical',
        targetModels: [{ name: '/model/llama2', weight: 100 }],
      },
    ]);
    expect(r.plan.services['default/vllm-llama2-7b-pool-1']!.ports).toEqual([
      { port: 8000, targetPort: 8000, protocol: 'TCP' },
    ]);
    expect(warningsOf(r)).toEqual([]);
  },
  '000-sleep.yaml': (r) => {
    expect(r.plan.listeners).toEqual([]);
    expect(r.plan.services['default/sleep']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'sleep', replicas: 1 },
    ]);
    expect(r.plan.ignored.map((i) => `${i.kind} ${i.names.join(',')}`)).toEqual([
      'ServiceAccount default/sleep',
      'Deployment default/sleep',
    ]);
  },
  '001-inference-app.yaml': (r) => {
    expect(r.plan.ignored.map((i) => `${i.kind} ${i.names.join(',')}`)).toEqual([
      'ConfigMap default/chat-template',
      'Deployment default/vllm-llama2-7b-pool',
    ]);
    expect(warningsOf(r)).toEqual([]);
  },
  '002-gateway.yaml': (r) => {
    expect(r.plan.listeners.map((l) => [l.key, l.port])).toEqual([
      ['default/inference-gateway/http', 8080],
      ['default/inference-gateway/llm-gw', 8081],
    ]);
    const route = r.plan.routes[0]!;
    expect(route.listenerKeys).toEqual(['default/inference-gateway/http']);
    expect(route.rules[0]!.timeouts).toEqual({ requestMs: 86_400_000, backendRequestMs: 86_400_000 });
    // The document routes port 8080 to a Service it never defines (vllm-llama2-7b-pool).
    expect(route.rules[0]!.backends).toEqual([
      { kind: 'Service', key: 'default/vllm-llama2-7b-pool', port: 8000, weight: 1, resolved: false },
    ]);
    expect(warningsOf(r)).toEqual(['REF_NOT_FOUND spec.rules[0].backendRefs[0].name']);
  },
  '002-inference-pool.yaml': (r) => {
    const pool = r.plan.pools['default/reasoning-pool']!;
    expect([pool.apiVersion, pool.selector.matchLabels, pool.targetPorts]).toEqual([
      'inference.networking.x-k8s.io/v1alpha1',
      { app: 'qwq-32b' },
      [8000],
    ]);
    expect(r.plan.routes.map((x) => [x.key, x.listenerKeys])).toEqual([
      ['PoolAttachment default/reasoning-pool', []],
    ]);
    expect(warningsOf(r)).toEqual([
      'REF_NOT_FOUND metadata.annotations["inference.networking.x-k8s.io/attach-to"]',
    ]);
  },
  '002-inference-model.yaml': (r) => {
    expect(r.plan.pools).toEqual({});
    expect(warningsOf(r)).toEqual(['REF_NOT_FOUND spec.poolRef.name']);
  },
  '002-qwq-32b.yaml': (r) => {
    expect(r.plan.services['default/qwq-32b-v1']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'qwq-32b', replicas: 5 },
    ]);
  },
  '002-vllm-benchmark.yaml': (r) => {
    expect(r.plan.ignored.map((i) => `${i.kind} ${i.names.join(',')}`)).toEqual([
      'Deployment default/vllm-benchmark',
    ]);
  },
  '003-vllm-service.yaml': (r) => {
    expect(r.plan.services['default/qwen']!.ports).toEqual([
      { port: 8000, targetPort: 8000, protocol: 'TCP', name: 'http-serving' },
    ]);
    expect(r.plan.services['default/qwen']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'qwen', replicas: 5 },
    ]);
  },
  '003-inference-pool.yaml': (r) => {
    const pool = r.plan.pools['default/vllm-qwen-pool']!;
    expect(pool.routingStrategy).toBe('PREFIX_CACHE');
    expect(pool.models.map((m) => [m.modelName, m.criticality])).toEqual([['/model/qwen', 'Critical']]);
  },
  '003-inference-gateway.yaml': (r) => {
    expect(r.plan.listeners.map((l) => [l.key, l.port, l.requestTimeoutMs, l.routeKeys])).toEqual([
      [
        'default/qwen-inference-gateway/http',
        8080,
        3_600_000,
        ['HTTPRoute default/qwen-backend-no-inference'],
      ],
      ['default/qwen-inference-gateway/llm-gw', 8081, 3_600_000, ['HTTPRoute default/qwen-backend']],
    ]);
  },
  '003-llm-qa-benchmark.yaml': (r) => {
    expect(r.plan.ignored.map((i) => i.kind)).toEqual(['Deployment']);
  },
  '004-gateway.yaml': (r) => {
    expect(r.plan.listeners.map((l) => [l.key, l.port, l.gateway.kind, l.hostname])).toEqual([
      ['default/llm-inference-gateway/http-service', 8080, 'IstioGateway', undefined],
    ]);
  },
  '004-inferencepool.yaml': (r) => {
    expect(r.plan.pools['default/vllm-llama2-7b-pool']!.apiVersion).toBe(
      'inference.networking.x-k8s.io/v1alpha1',
    );
  },
  '004-inferencemodel.yaml': (r) => {
    expect(warningsOf(r)).toEqual(['REF_NOT_FOUND spec.poolRef.name']);
  },
  '004-llmroute.yaml': (r) => {
    const route = r.plan.routes[0]!;
    expect([route.key, route.hostnames, route.firstMatch]).toEqual([
      'LLMRoute default/test-llm-route',
      ['test.com'],
      true,
    ]);
    expect(route.rules[0]!.backends[0]).toMatchObject({
      kind: 'InferencePool',
      key: 'default/vllm-llama2-7b-pool',
    });
  },
  '004-virtualservice.yaml': (r) => {
    const route = r.plan.routes[0]!;
    expect(route.key).toBe('VirtualService default/llm-vs');
    expect(route.rules[0]!.backends).toEqual([
      { kind: 'Service', key: 'default/vllm-llama2-7b-pool', port: 8000, weight: 100, resolved: false },
    ]);
  },
  '004-vllm-service-ack.yaml': (r) => {
    expect(r.plan.services['default/vllm-llama2-7b-pool']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'vllm-llama2-7b-pool', replicas: 3 },
    ]);
  },
  '004-vllm-service-acs.yaml': (r) => {
    expect(r.plan.services['default/vllm-llama2-7b-pool']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'vllm-llama2-7b-pool', replicas: 3 },
    ]);
  },
};

// One run before the concurrent ones, so that tsx's transform cache is written once, not raced.
beforeAll(async () => {
  await runCli(['--version']);
});

const files = readdirSync(SEEDS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe.concurrent('each seed manifest alone', () => {
  it('covers every file of examples/seeds', () => {
    expect(files.length).toBeGreaterThanOrEqual(23);
    for (const f of Object.keys(perFile)) expect(files).toContain(f);
  });

  it.each(files)('%s validates with exit 0', async (file) => {
    const r = await validate([file]);
    expect(r.valid).toBe(true);
    expect(r.errors).toBe(0);
    perFile[file]?.(r);
  });

  it.each(['gateway', 'inference-rules', 'sleep'])(
    '001-%s.yaml plans exactly like 000-%s.yaml (same manifests)',
    async (name) => {
      const [en, ja] = await Promise.all([validate([`000-${name}.yaml`]), validate([`001-${name}.yaml`])]);
      const strip = (r: JsonResult) => JSON.stringify(r.plan).replaceAll(`${SEEDS}/001-`, `${SEEDS}/000-`);
      expect(strip(ja)).toBe(strip(en));
    },
  );
});

describe.concurrent('each seed document, all its manifests together', () => {
  it('000: the HTTPRoute sends to the pool and mirrors to the Service', async () => {
    const r = await validate(['000-inference-rules.yaml', '000-gateway.yaml', '000-sleep.yaml']);
    expect(warningsOf(r)).toEqual([]);
    const rule = r.plan.routes[0]!.rules[0]!;
    expect(rule.backends).toEqual([
      { kind: 'InferencePool', key: 'default/vllm-llama2-7b-pool', weight: 1, resolved: true },
    ]);
    expect(rule.mirrors).toEqual([
      {
        backend: {
          kind: 'Service',
          key: 'default/vllm-llama2-7b-pool-1',
          port: 8000,
          weight: 1,
          resolved: true,
        },
        fraction: 1,
      },
    ]);
  });

  it('001: the pool selects the Deployment of inference_app.yaml', async () => {
    const r = await validate([
      '001-inference-app.yaml',
      '001-inference-rules.yaml',
      '001-gateway.yaml',
      '001-sleep.yaml',
    ]);
    expect(warningsOf(r)).toEqual([]);
    expect(r.plan.pools['default/vllm-llama2-7b-pool']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'vllm-llama2-7b-pool', replicas: 1 },
    ]);
  });

  it('002: port 8080 is plain HTTP routing, the pool attaches to 8081 and serves model qwq', async () => {
    const r = await validate([
      '002-qwq-32b.yaml',
      '002-gateway.yaml',
      '002-inference-pool.yaml',
      '002-inference-model.yaml',
      '002-vllm-benchmark.yaml',
    ]);
    expect(r.plan.listeners.map((l) => [l.port, l.routeKeys])).toEqual([
      [8080, ['HTTPRoute default/backend']],
      [8081, ['PoolAttachment default/reasoning-pool']],
    ]);
    const pool = r.plan.pools['default/reasoning-pool']!;
    expect(pool.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'qwq-32b', replicas: 5 },
    ]);
    expect(pool.models).toMatchObject([
      { modelName: 'qwq', criticality: 'Critical', targetModels: [{ name: 'qwq-32b', weight: 100 }] },
    ]);
    // Still true of the document: its port-8080 route names a Service it never defines.
    expect(warningsOf(r)).toEqual(['REF_NOT_FOUND spec.rules[0].backendRefs[0].name']);
  });

  it('003: 8080 → Service qwen, 8081 → prefix-aware pool, both with the 1h policy timeout, no warnings', async () => {
    const r = await validate(
      [
        '003-vllm-service.yaml',
        '003-inference-pool.yaml',
        '003-inference-gateway.yaml',
        '003-llm-qa-benchmark.yaml',
      ],
      ['--strict'],
    );
    expect(warningsOf(r)).toEqual([]);
    const byKey = Object.fromEntries(r.plan.routes.map((x) => [x.key, x]));
    expect(byKey['HTTPRoute default/qwen-backend-no-inference']!.rules[0]!.backends).toEqual([
      { kind: 'Service', key: 'default/qwen', port: 8000, weight: 1, resolved: true },
    ]);
    expect(byKey['HTTPRoute default/qwen-backend']!.rules[0]!.backends).toEqual([
      { kind: 'InferencePool', key: 'default/vllm-qwen-pool', weight: 1, resolved: true },
    ]);
    expect(r.plan.pools['default/vllm-qwen-pool']!.workloads).toEqual([
      { kind: 'Deployment', namespace: 'default', name: 'qwen', replicas: 5 },
    ]);
  });

  it('004: the Istio gateway on 8080 serves the LLMRoute (host test.com) and the VirtualService', async () => {
    const r = await validate(
      [
        '004-vllm-service-ack.yaml',
        '004-gateway.yaml',
        '004-inferencepool.yaml',
        '004-inferencemodel.yaml',
        '004-llmroute.yaml',
        '004-virtualservice.yaml',
      ],
      ['--strict'],
    );
    expect(warningsOf(r)).toEqual([]);
    expect(r.plan.listeners[0]!.routeKeys).toEqual([
      'LLMRoute default/test-llm-route',
      'VirtualService default/llm-vs',
    ]);
    const pool = r.plan.pools['default/vllm-llama2-7b-pool']!;
    expect(pool.models.map((m) => [m.modelName, m.criticality, m.targetModels])).toEqual([
      ['tweet-summary', 'Standard', [{ name: 'tweet-summary', weight: 100 }]],
    ]);
    for (const route of r.plan.routes) expect(route.rules[0]!.backends[0]!.resolved).toBe(true);
  });

  it('prints the plan as text: 002 listeners, routes and the attached pool', async () => {
    const r = await runCli([
      'validate',
      '-f',
      `${SEEDS}/002-gateway.yaml`,
      '-f',
      `${SEEDS}/002-inference-pool.yaml`,
    ]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    const at8081 = out.indexOf(':8081 HTTP');
    expect(out.indexOf(':8080 HTTP')).toBeGreaterThan(-1);
    expect(at8081).toBeGreaterThan(out.indexOf(':8080 HTTP'));
    expect(out.indexOf('PoolAttachment default/reasoning-pool')).toBeGreaterThan(at8081);
    expect(out).toContain('timeouts: request 24h, backendRequest 24h');
    expect(out).toMatch(/→ Service default\/vllm-llama2-7b-pool:8000 {2}weight 1 \(100%\) {2}\[UNRESOLVED/);
    expect(out.trimEnd().split('\n').at(-1)).toBe('valid: 1 warning, 1 note');
  });
});
