/**
 * What the loader builds from valid manifests: defaults, endpoints, attachment, policies, Istio
 * conversion, picker configs, precedence order. (Broken manifests: test/config/broken.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic, type LoadResult, loadPlanFromText, type Plan } from './index.js';

const docs = (...parts: string[]) => parts.join('---\n');

function planOf(yaml: string, opts: Parameters<typeof loadPlanFromText>[2] = {}): Plan {
  const r = loadPlanFromText(yaml, 'm.yaml', opts);
  if (!r.plan) throw new Error(`no plan:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  return r.plan;
}

function codes(r: LoadResult | Plan): string[] {
  return r.diagnostics.map((d: Diagnostic) => `${d.severity} ${d.code} ${d.path}`);
}

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: cls
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
  - name: llm
    port: 8081
    protocol: HTTP
`;

function pod(name: string, labels: string, status: string, ports = '', namespace = 'default'): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: {${labels}}
spec:
  containers:
  - name: vllm
    ports: [${ports}]
status: {${status}}
`;
}

describe('endpoints from Pods', () => {
  const pool = `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: pool
spec:
  targetPortNumber: 8000
  selector:
    app: qwen
`;
  const yaml = docs(
    pool,
    pod('p0', 'app: qwen', 'podIP: 10.0.0.1, phase: Running'),
    pod(
      'p1',
      'app: qwen',
      'podIP: 127.0.0.1, hostIP: 127.0.0.1, phase: Running',
      '{containerPort: 8000, hostPort: 31001}',
    ),
    pod('p2', 'app: qwen', 'podIP: 10.0.0.3, phase: Pending'),
    pod('p3', 'app: qwen', 'podIP: 10.0.0.4, conditions: [{type: Ready, status: "False"}]'),
    pod('p4', 'app: qwen', 'phase: Pending'),
    pod('p5', 'app: other', 'podIP: 10.0.0.6'),
    pod('p6', 'app: qwen', 'podIP: 10.0.0.7', '', 'elsewhere'),
  );

  it('are podIP:targetPort, or hostIP:hostPort when the container maps the target port', () => {
    const p = planOf(yaml).pools.get('default/pool')!;
    expect(p.endpoints.map((e) => `${e.address}:${e.port} ${e.podName} ${e.ready}`)).toEqual([
      '10.0.0.1:8000 p0 true',
      '127.0.0.1:31001 p1 true',
      '10.0.0.3:8000 p2 false',
      '10.0.0.4:8000 p3 false',
    ]);
    expect(p.endpoints[0]!.labels).toEqual({ app: 'qwen' });
    expect(p.endpoints[0]!.from).toBe('Pod');
  });

  it('are one per (pod, target port) for a v1 pool with several ports', () => {
    const v1 = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector:
    matchLabels:
      app: qwen
  targetPorts:
  - number: 8000
  - number: 8001
  appProtocol: kubernetes.io/h2c
`;
    const p = planOf(docs(v1, pod('p0', 'app: qwen', 'podIP: 10.0.0.1'))).pools.get('default/pool')!;
    expect(p.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.0.1:8000', '10.0.0.1:8001']);
    expect(p.appProtocol).toBe('kubernetes.io/h2c');
    expect(p.targetPorts).toEqual([8000, 8001]);
  });

  it('say which workloads a selector matches when no Pod addresses are given', () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: qwen
spec:
  replicas: 5
  selector: {matchLabels: {app: qwen}}
  template:
    metadata:
      labels: {app: qwen}
`;
    const r = loadPlanFromText(docs(pool, deployment), 'm.yaml');
    const p = r.plan!.pools.get('default/pool')!;
    expect(p.endpoints).toEqual([]);
    expect(p.workloads).toEqual([{ kind: 'Deployment', namespace: 'default', name: 'qwen', replicas: 5 }]);
    const note = r.diagnostics.find((d) => d.code === 'NO_ENDPOINTS')!;
    expect(note.severity).toBe('info');
    expect(note.message).toBe(
      'InferencePool default/pool selects Deployment qwen (5 replicas); no Pod addresses are given in standalone mode, so it has no endpoints',
    );
    expect(r.plan!.ignored).toEqual([
      {
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        names: ['default/qwen'],
        reason: 'read only for pod labels and replica counts',
      },
    ]);
  });
});

describe('Service endpoints', () => {
  const svc = `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector: {app: m}
  ports:
  - name: http
    port: 80
    targetPort: http
`;
  it('resolve a named targetPort through the container port name', () => {
    const s = planOf(
      docs(svc, pod('p0', 'app: m', 'podIP: 10.0.0.1', '{name: http, containerPort: 8000}')),
    ).services.get('default/svc')!;
    expect(s.endpointsByPort.get(80)!.map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.0.1:8000']);
  });

  it('come from EndpointSlices when any name the Service (ports matched by name)', () => {
    const slice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-abc
  labels:
    kubernetes.io/service-name: svc
addressType: IPv4
ports:
- name: http
  port: 9000
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: p9}
- addresses: [127.0.0.2]
  conditions: {ready: false}
`;
    const s = planOf(
      docs(svc, slice, pod('p0', 'app: m', 'podIP: 10.0.0.1', '{name: http, containerPort: 8000}')),
    ).services.get('default/svc')!;
    expect(
      s.endpointsByPort
        .get(80)!
        .map((e) => `${e.address}:${e.port} ${e.ready} ${e.from} ${e.podName ?? '-'}`),
    ).toEqual(['127.0.0.1:9000 true EndpointSlice p9', '127.0.0.2:9000 false EndpointSlice -']);
  });
});

describe('HTTPRoute', () => {
  const svc = `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports: [{port: 8000}]
`;
  it('gets Gateway API defaults: PathPrefix /, weight 1, all listeners of the parent', () => {
    const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: svc, port: 8000}]
`;
    const p = planOf(docs(GATEWAY, svc, route));
    const r = p.routes[0]!;
    expect(r.listenerKeys).toEqual(['default/gw/http', 'default/gw/llm']);
    expect(r.rules[0]!.matches).toEqual([
      { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] },
    ]);
    expect(r.rules[0]!.backends).toEqual([
      { kind: 'Service', key: 'default/svc', port: 8000, weight: 1, resolved: true },
    ]);
    expect(p.listeners.map((l) => l.routeKeys)).toEqual([['HTTPRoute default/r'], ['HTTPRoute default/r']]);
  });

  it('keeps matches, header modifiers, rewrites, mirrors and timeouts', () => {
    const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw, sectionName: llm}]
  hostnames: [api.example.com]
  rules:
  - name: chat
    matches:
    - path: {type: Exact, value: /v1/chat/completions}
      headers: [{name: x-tier, value: gold}, {type: RegularExpression, name: x-user, value: "^a.*"}]
      queryParams: [{name: debug, value: "1"}]
      method: POST
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-a, value: b}], remove: [x-c]}
    - type: URLRewrite
      urlRewrite: {hostname: upstream.local, path: {type: ReplaceFullPath, replaceFullPath: /v1/completions}}
    - type: RequestMirror
      requestMirror:
        backendRef: {name: svc, port: 8000}
        fraction: {numerator: 1, denominator: 4}
    backendRefs: [{name: svc, port: 8000, weight: 3}]
    timeouts: {request: 30s, backendRequest: 10s}
`;
    const rule = planOf(docs(GATEWAY, svc, route)).routes[0]!.rules[0]!;
    expect(rule.name).toBe('chat');
    expect(rule.matches[0]).toEqual({
      path: { type: 'Exact', value: '/v1/chat/completions' },
      headers: [
        { type: 'Exact', name: 'x-tier', value: 'gold' },
        { type: 'RegularExpression', name: 'x-user', value: '^a.*' },
      ],
      queryParams: [{ type: 'Exact', name: 'debug', value: '1' }],
      method: 'POST',
    });
    expect(rule.requestHeaderModifier).toEqual({
      set: [{ name: 'x-a', value: 'b' }],
      add: [],
      remove: ['x-c'],
    });
    expect(rule.urlRewrite).toEqual({
      hostname: 'upstream.local',
      path: { type: 'ReplaceFullPath', value: '/v1/completions' },
    });
    expect(rule.mirrors).toEqual([
      {
        backend: { kind: 'Service', key: 'default/svc', port: 8000, weight: 1, resolved: true },
        fraction: 0.25,
      },
    ]);
    expect(rule.timeouts).toEqual({ requestMs: 30_000, backendRequestMs: 10_000 });
    expect(rule.backends[0]!.weight).toBe(3);
  });

  it('orders routes oldest first, by creationTimestamp, on every listener', () => {
    const route = (name: string, ts: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  creationTimestamp: "${ts}"
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{backendRefs: [{name: svc, port: 8000}]}]
`;
    const p = planOf(
      docs(GATEWAY, svc, route('young', '2025-03-01T00:00:00Z'), route('old', '2025-01-01T00:00:00Z')),
    );
    expect(p.routes.map((r) => r.key)).toEqual(['HTTPRoute default/old', 'HTTPRoute default/young']);
    expect(p.listeners[0]!.routeKeys).toEqual(['HTTPRoute default/old', 'HTTPRoute default/young']);
    expect(p.routes[0]!.creationTimestamp).toBe('2025-01-01T00:00:00Z');
    expect(p.routes.map((r) => r.loadOrder)).toEqual([3, 2]);
  });

  it('crosses namespaces when a ReferenceGrant allows it, and follows allowedRoutes selectors', () => {
    const gw = GATEWAY.replace(
      '    protocol: HTTP\n  - name: llm',
      '    protocol: HTTP\n    allowedRoutes:\n      namespaces:\n        from: Selector\n        selector: {matchLabels: {team: ml}}\n  - name: llm',
    );
    const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels: {team: ml}\n';
    const models = svc.replace('  name: svc', '  name: svc\n  namespace: models');
    const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: allow
  namespace: models
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
`;
    const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  namespace: apps
spec:
  parentRefs: [{name: gw, namespace: default}]
  rules: [{backendRefs: [{name: svc, namespace: models, port: 8000}]}]
`;
    const p = planOf(docs(gw, ns, models, grant, route));
    const r = p.routes[0]!;
    // Only the Selector listener admits routes from "apps"; the other accepts its own namespace only.
    expect(r.listenerKeys).toEqual(['default/gw/http']);
    expect(r.rules[0]!.backends[0]).toEqual({
      kind: 'Service',
      key: 'models/svc',
      port: 8000,
      weight: 1,
      resolved: true,
    });
    expect(p.ignored.map((i) => i.kind)).toEqual(['Namespace']);
  });
});

describe('ACK attach-to annotation', () => {
  it('serves the pool on every path of that Gateway port', () => {
    const pool = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: InferencePool
metadata:
  annotations:
    inference.networking.x-k8s.io/attach-to: |
      name: gw
      port: 8081
  name: reasoning-pool
spec:
  targetPortNumber: 8000
  selector:
    app: qwq-32b
`;
    const p = planOf(docs(GATEWAY, pool));
    expect(p.routes).toHaveLength(1);
    const r = p.routes[0]!;
    expect(r.kind).toBe('PoolAttachment');
    expect(r.key).toBe('PoolAttachment default/reasoning-pool');
    expect(r.listenerKeys).toEqual(['default/gw/llm']);
    expect(r.rules[0]!.backends).toEqual([
      { kind: 'InferencePool', key: 'default/reasoning-pool', weight: 1, resolved: true },
    ]);
    expect(p.listeners.find((l) => l.port === 8081)!.routeKeys).toEqual([
      'PoolAttachment default/reasoning-pool',
    ]);
    expect(p.listeners.find((l) => l.port === 8080)!.routeKeys).toEqual([]);
  });
});

describe('BackendTrafficPolicy', () => {
  const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: svc, port: 8000}]
  - matches: [{path: {value: /slow}}]
    backendRefs: [{name: svc, port: 8000}]
    timeouts: {request: 5m}
`;
  const svc = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports: [{port: 8000}]\n';
  const btp = (name: string, target: string, extra: string) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: ${name}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: ${target}, name: ${target === 'Gateway' ? 'gw' : 'r'}}]
${extra}`;

  it('sets the request timeout and Service balancing of a Gateway, and rules without their own timeout', () => {
    const r = loadPlanFromText(
      docs(
        GATEWAY,
        svc,
        route,
        btp(
          'gw-policy',
          'Gateway',
          '  timeout: {http: {requestTimeout: 1h}}\n  loadBalancer: {type: RoundRobin}\n  retry: {numRetries: 3}\n',
        ),
        btp(
          'route-policy',
          'HTTPRoute',
          '  timeout: {http: {requestTimeout: 90s}}\n  loadBalancer: {type: ConsistentHash, consistentHash: {type: SourceIP}}\n',
        ),
        btp('late', 'Gateway', '  timeout: {http: {requestTimeout: 2h}}\n'),
      ),
      'm.yaml',
    );
    const p = r.plan!;
    expect(p.listeners.map((l) => [l.requestTimeoutMs, l.loadBalancer])).toEqual([
      [3_600_000, 'round-robin'],
      [3_600_000, 'round-robin'],
    ]);
    expect(p.routes[0]!.rules.map((x) => x.timeouts.requestMs)).toEqual([90_000, 300_000]);
    expect(p.routes[0]!.loadBalancer).toBeUndefined();
    expect(codes(r).filter((c) => c.includes('NOT_APPLIED'))).toEqual([
      'info NOT_APPLIED ',
      'info NOT_APPLIED spec.loadBalancer.type',
      'info NOT_APPLIED spec.loadBalancer.consistentHash',
      'warning NOT_APPLIED spec.targetRefs[0]',
    ]);
    expect(r.diagnostics.find((d) => d.code === 'NOT_APPLIED')!.message).toBe(
      'spec.retry is accepted but not applied by infergate',
    );
  });
});

describe('Istio and ASM routes', () => {
  const istio = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: igw
spec:
  selector: {istio: ingressgateway}
  servers:
  - hosts: ['*']
    port: {name: http-service, number: 8080, protocol: HTTP}
  - hosts: [secure.example.com]
    port: {name: https, number: 8443, protocol: HTTPS}
  - hosts: ['*']
    port: {name: mongo, number: 27017, protocol: MONGO}
`;
  const svc = (name: string, ns = 'default') =>
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  ports: [{port: 8000}]\n`;

  it('turns Istio servers into listeners (HTTP and HTTPS only)', () => {
    const p = planOf(istio);
    expect(p.listeners.map((l) => [l.key, l.port, l.protocol, l.hostname, l.gateway.kind])).toEqual([
      ['default/igw/http-service', 8080, 'HTTP', undefined, 'IstioGateway'],
      ['default/igw/https', 8443, 'HTTPS', 'secure.example.com', 'IstioGateway'],
    ]);
  });

  it('converts a VirtualService with Istio semantics', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
spec:
  gateways: [default/igw]
  hosts: ['*']
  http:
  - name: canary
    match:
    - uri: {prefix: /v1/chat}
      headers: {x-canary: {exact: "yes"}, x-user: {prefix: team-}}
    route:
    - destination: {host: a.default.svc.cluster.local, port: {number: 8000}}
      weight: 90
    - destination: {host: b.models}
      weight: 10
    mirror: {host: a}
    mirrorPercentage: {value: 12.5}
    timeout: 30s
    rewrite: {uri: /v1/completions}
  - route:
    - destination: {host: a}
`;
    const p = planOf(docs(istio, svc('a'), svc('b', 'models'), vs));
    const r = p.routes[0]!;
    expect(r.firstMatch).toBe(true);
    expect(r.hostnames).toEqual([]);
    expect(r.listenerKeys).toEqual(['default/igw/http-service', 'default/igw/https']);
    const [first, second] = r.rules;
    expect(first!.matches).toEqual([
      {
        path: { type: 'RegularExpression', value: '\\/v1\\/chat.*' },
        headers: [
          { type: 'Exact', name: 'x-canary', value: 'yes' },
          { type: 'RegularExpression', name: 'x-user', value: 'team-.*' },
        ],
        queryParams: [],
      },
    ]);
    expect(first!.backends).toEqual([
      { kind: 'Service', key: 'default/a', port: 8000, weight: 90, resolved: true },
      { kind: 'Service', key: 'models/b', port: 8000, weight: 10, resolved: true },
    ]);
    expect(first!.mirrors).toEqual([
      {
        backend: { kind: 'Service', key: 'default/a', port: 8000, weight: 1, resolved: true },
        fraction: 0.125,
      },
    ]);
    expect(first!.timeouts).toEqual({ requestMs: 30_000 });
    expect(first!.urlRewrite).toEqual({ path: { type: 'ReplacePrefixMatch', value: '/v1/completions' } });
    expect(second!.matches[0]!.path).toEqual({ type: 'PathPrefix', value: '/' });
    expect(second!.backends[0]!.weight).toBe(100);
  });

  it('converts an ASM LLMRoute to an InferencePool backend', () => {
    const pool = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: InferencePool
metadata:
  name: pool
spec:
  targetPortNumber: 8000
  selector: {app: vllm}
`;
    const llm = `apiVersion: istio.alibabacloud.com/v1
kind: LLMRoute
metadata:
  name: llm
spec:
  gateways: [igw]
  host: test.com
  rules:
  - matches: [{headers: {x-tier: {exact: gold}}}]
    backendRefs:
    - backendRef: {group: inference.networking.x-k8s.io, kind: InferencePool, name: pool}
  - backendRefs:
    - providerHost: dashscope.aliyuncs.com
`;
    const r = loadPlanFromText(docs(istio, pool, llm), 'm.yaml');
    const route = r.plan!.routes[0]!;
    expect(route.key).toBe('LLMRoute default/llm');
    expect(route.hostnames).toEqual(['test.com']);
    // test.com does not intersect the HTTPS server's secure.example.com.
    expect(route.listenerKeys).toEqual(['default/igw/http-service']);
    expect(route.rules[0]!.matches[0]!.headers).toEqual([{ type: 'Exact', name: 'x-tier', value: 'gold' }]);
    expect(route.rules[0]!.backends).toEqual([
      { kind: 'InferencePool', key: 'default/pool', weight: 1, resolved: true },
    ]);
    expect(route.rules[1]!.backends).toEqual([]);
    expect(codes(r)).toContain('warning NOT_SERVED spec.rules[1].backendRefs[0].providerHost');
  });
});

describe('InferencePool models, objectives, rewrites', () => {
  const pool = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector: {matchLabels: {app: m}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: FailOpen}
`;
  it('attaches each to its pool with defaults applied', () => {
    const m = `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata:
  name: chat
spec:
  modelName: chat
  poolRef: {group: inference.networking.k8s.io, name: pool}
  targetModels: [{name: chat-a}, {name: chat-b}]
`;
    const o = `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata:
  name: batch
spec:
  priority: -1
  poolRef: {name: pool}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata:
  name: plain
spec:
  poolRef: {name: pool}
`;
    const rw = `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata:
  name: canary
spec:
  poolRef: {name: pool}
  rules:
  - matches: [{model: {type: Exact, value: chat}}]
    targets: [{modelRewrite: chat-v2, weight: 10}, {modelRewrite: chat-v1, weight: 90}]
`;
    const p = planOf(docs(pool, m, o, rw)).pools.get('default/pool')!;
    expect(p.endpointPicker).toEqual({ kind: 'Service', name: 'epp', port: 9002, failureMode: 'FailOpen' });
    expect(p.models.map((x) => [x.name, x.modelName, x.criticality, x.targetModels])).toEqual([
      [
        'chat',
        'chat',
        'Standard',
        [
          { name: 'chat-a', weight: 1 },
          { name: 'chat-b', weight: 1 },
        ],
      ],
    ]);
    expect(p.objectives.map((x) => [x.name, x.priority])).toEqual([
      ['batch', -1],
      ['plain', 0],
    ]);
    expect(p.rewrites[0]!.rules).toEqual([
      {
        matches: [{ type: 'Exact', value: 'chat' }],
        targets: [
          { modelRewrite: 'chat-v2', weight: 10 },
          { modelRewrite: 'chat-v1', weight: 90 },
        ],
      },
    ]);
  });

  it('lets the older InferenceModel win a duplicated modelName, by creationTimestamp', () => {
    const m = (name: string, ts: string) => `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata:
  name: ${name}
  creationTimestamp: "${ts}"
spec:
  modelName: chat
  poolRef: {group: inference.networking.k8s.io, name: pool}
`;
    const r = loadPlanFromText(
      docs(pool, m('newer', '2025-06-01T00:00:00Z'), m('older', '2025-01-01T00:00:00Z')),
      'm.yaml',
    );
    expect(r.plan!.pools.get('default/pool')!.models.map((x) => x.name)).toEqual(['older']);
    const d = r.diagnostics.find((x) => x.code === 'DUPLICATE_MODEL_NAME')!;
    expect(d.object).toBe('InferenceModel/newer');
  });
});

describe('EndpointPickerConfig selection', () => {
  const cfg = (name: string, ns = 'default') => `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
metadata:
  name: ${name}
  namespace: ${ns}
featureGates: [prefixCacheTracking]
plugins:
- type: queue-scorer
- type: prefix-cache-scorer
  name: prefix
  parameters: {blockSize: 64}
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: prefix
    weight: 3
  - pluginRef: max-score-picker
saturationDetector:
  queueDepthThreshold: 5
  kvCacheUtilThreshold: 0.8
  metricsStalenessThreshold: 200ms
`;
  const pool = (annotations = '', ref = '') => `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: pool
${annotations}spec:
  targetPortNumber: 8000
  selector: {app: m}
${ref}`;

  it('builds the plugin and profile plan', () => {
    const p = planOf(docs(cfg('epp'), pool())).pools.get('default/pool')!;
    expect(p.pickerConfigChosenBy).toBe('only-config-in-namespace');
    const c = p.pickerConfig!;
    expect(c.plugins).toEqual([
      { type: 'queue-scorer', name: 'queue-scorer', parameters: {} },
      { type: 'prefix-cache-scorer', name: 'prefix', parameters: { blockSize: 64 } },
      { type: 'max-score-picker', name: 'max-score-picker', parameters: {} },
    ]);
    expect(c.schedulingProfiles).toEqual([
      {
        name: 'default',
        plugins: [
          { pluginRef: 'queue-scorer', weight: 2 },
          { pluginRef: 'prefix', weight: 3 },
          { pluginRef: 'max-score-picker' },
        ],
      },
    ]);
    expect(c.featureGates).toEqual(['prefixCacheTracking']);
    expect(c.saturationDetector).toEqual({
      queueDepthThreshold: 5,
      kvCacheUtilThreshold: 0.8,
      metricsStalenessThresholdMs: 200,
    });
  });

  it('follows the annotation first, then the endpoint picker name, else none when ambiguous', () => {
    const byAnnotation = planOf(
      docs(
        cfg('a'),
        cfg('b'),
        pool('  annotations:\n    infergate.io/endpoint-picker-config: b\n', '  extensionRef: {name: a}\n'),
      ),
    ).pools.get('default/pool')!;
    expect([byAnnotation.pickerConfig?.name, byAnnotation.pickerConfigChosenBy]).toEqual(['b', 'annotation']);
    const byRef = planOf(docs(cfg('a'), cfg('b'), pool('', '  extensionRef: {name: a}\n'))).pools.get(
      'default/pool',
    )!;
    expect([byRef.pickerConfig?.name, byRef.pickerConfigChosenBy]).toEqual(['a', 'endpoint-picker-ref']);
    const r = loadPlanFromText(docs(cfg('a'), cfg('b'), cfg('c', 'other'), pool()), 'm.yaml');
    expect(r.plan!.pools.get('default/pool')!.pickerConfig).toBeUndefined();
    expect(codes(r)).toContain('info AMBIGUOUS_PICKER_CONFIG metadata.annotations');
  });

  it("reports what the scheduling room's validator finds, with its path", () => {
    const r = loadPlanFromText(docs(cfg('epp'), pool()), 'm.yaml', {
      validatePickerConfig: (c) =>
        c.plugins.flatMap((p, i) =>
          p.type === 'prefix-cache-scorer'
            ? [
                {
                  path: `plugins[${i}].parameters.blockSize`,
                  message: 'unknown parameter',
                  fix: 'use hashBlockSize',
                },
              ]
            : [],
        ),
    });
    expect(r.plan).toBeUndefined();
    const d = r.diagnostics.find((x) => x.code === 'PICKER_CONFIG_INVALID')!;
    expect(formatDiagnostic(d)).toBe(
      'error: m.yaml#1 EndpointPickerConfig/epp plugins[1].parameters.blockSize: unknown parameter — use hashBlockSize',
    );
  });
});

describe('documents and kinds', () => {
  it('replaces an object defined twice (as kubectl apply would) and says so', () => {
    const svc = (port: number) =>
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: ${port}}]\n`;
    const r = loadPlanFromText(docs(svc(80), svc(81)), 'm.yaml');
    expect(r.plan!.services.get('default/s')!.ports.map((p) => p.port)).toEqual([81]);
    expect(codes(r)).toEqual(['warning DUPLICATE_OBJECT metadata.name']);
  });

  it('lists ignored kinds once each, reads List items, and skips empty documents', () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
- apiVersion: gateway.envoyproxy.io/v1alpha1
  kind: EnvoyProxy
  metadata: {name: proxy}
`;
    const p = planOf(`---\n# comment only\n---\n${list}---\n`);
    expect(p.ignored).toEqual([
      {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        names: ['default/a', 'default/b'],
        reason: 'not used for routing',
      },
      {
        kind: 'EnvoyProxy',
        apiVersion: 'gateway.envoyproxy.io/v1alpha1',
        names: ['default/proxy'],
        reason: 'infrastructure, not applied in standalone',
      },
    ]);
  });

  it('accepts standard metadata and status on routing kinds', () => {
    const svc = `apiVersion: v1
kind: Service
metadata:
  name: s
  uid: 1234
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2025-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  ownerReferences: []
  finalizers: [a/b]
  annotations: {a: b}
spec:
  ports: [{port: 80}]
status:
  loadBalancer: {}
`;
    const r = loadPlanFromText(svc, 'm.yaml');
    // uid must be a string: Kubernetes writes it as one.
    expect(codes(r)).toEqual(['error WRONG_TYPE metadata.uid']);
    expect(loadPlanFromText(svc.replace('uid: 1234', 'uid: "1234"'), 'm.yaml').plan).toBeDefined();
  });

  it('warns when there is nothing to load', () => {
    const r = loadPlanFromText('# nothing here\n', 'empty.yaml');
    expect(codes(r)).toEqual(['warning NO_MANIFESTS ']);
    expect(r.plan!.listeners).toEqual([]);
  });
});
