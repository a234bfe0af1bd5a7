import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlanFromText } from '../config/index.js';
import { envoyBootstrap } from './envoy-config.js';

const MANIFESTS = `
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
  hostnames: [example.com]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /v1 } }]
    timeouts: { request: 30s }
    backendRefs:
    - { group: inference.networking.x-k8s.io, kind: InferencePool, name: open, weight: 3 }
    - { group: inference.networking.x-k8s.io, kind: InferencePool, name: closed, weight: 1 }
    filters:
    - type: RequestMirror
      requestMirror: { backendRef: { kind: Service, name: svc, port: 8000 }, percent: 25 }
  - matches: [{ path: { type: Exact, value: /v1/models } }]
    backendRefs: [{ kind: Service, name: svc, port: 8000 }]
  - matches: [{ path: { type: PathPrefix, value: /v1/chat }, headers: [{ name: x-canary, value: "1" }] }]
    backendRefs: [{ group: inference.networking.x-k8s.io, kind: InferencePool, name: closed }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: open, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: open }
  extensionRef: { name: open-epp, failureMode: FailOpen }
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: closed, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: closed }
---
apiVersion: v1
kind: Service
metadata: { name: svc, namespace: default }
spec:
  selector: { app: open }
  ports: [{ port: 8000, targetPort: 8000 }]
---
apiVersion: v1
kind: Pod
metadata: { name: open-0, namespace: default, labels: { app: open } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 8000 }] }] }
status: { phase: Running, podIP: 10.0.0.1, conditions: [{ type: Ready, status: "True" }] }
`;

// biome-ignore lint/suspicious/noExplicitAny: walks the generated YAML tree; the assertions check its shape
type Obj = Record<string, any>;

function generate() {
  const { plan } = loadPlanFromText(MANIFESTS, 'm.yaml');
  if (!plan) throw new Error('plan did not load');
  const out = envoyBootstrap(plan, {
    epp: new Map([['default/closed', '127.0.0.1:9012']]),
    defaultEpp: '127.0.0.1:9002',
    host: '127.0.0.1',
    portMap: new Map(),
    portOffset: 8000,
    adminPort: -1,
    poolRetries: 2,
  });
  return { ...out, parsed: parse(out.yaml) as Obj };
}

describe('envoy-config', () => {
  it('writes one listener per declared port, routes in Gateway API precedence order', () => {
    const { parsed, ports } = generate();
    expect(ports.get(80)).toBe(8080);
    const listeners = parsed.static_resources.listeners as Obj[];
    expect(listeners).toHaveLength(1);
    expect(listeners[0]!.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 8080 });
    const hcm = listeners[0]!.filter_chains[0].filters[0].typed_config;
    const vh = hcm.route_config.virtual_hosts[0];
    expect(vh.domains).toEqual(['example.com', 'example.com:*']);
    // Exact first, then the longer prefix (with its header match), then the shorter prefix.
    expect(vh.routes.map((r: Obj) => r.match)).toEqual([
      { path: '/v1/models' },
      { path_separated_prefix: '/v1/chat', headers: [{ name: 'x-canary', string_match: { exact: '1' } }] },
      { path_separated_prefix: '/v1' },
    ]);
  });

  it('weights pools, sends each to its own picker with its failure mode, mirrors to the Service', () => {
    const { parsed } = generate();
    const routes = parsed.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config
      .virtual_hosts[0].routes as Obj[];
    const split = routes[2]!.route;
    expect(split.timeout).toBe('30s');
    expect(split.retry_policy.num_retries).toBe(2);
    expect(split.request_mirror_policies).toEqual([
      {
        cluster: 'svc.default.svc.8000',
        runtime_fraction: { default_value: { numerator: 250000, denominator: 'MILLION' } },
      },
    ]);
    const clusters = split.weighted_clusters.clusters as Obj[];
    expect(clusters.map((c) => [c.name, c.weight])).toEqual([
      ['pool.default.open', 3],
      ['pool.default.closed', 1],
    ]);
    const override = (c: Obj) => c.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides;
    expect(override(clusters[0]!)).toMatchObject({
      failure_mode_allow: true,
      grpc_service: { envoy_grpc: { cluster_name: 'epp.default.open' } },
    });
    expect(override(clusters[1]!)).toMatchObject({
      failure_mode_allow: false,
      grpc_service: { envoy_grpc: { cluster_name: 'epp.default.closed' } },
    });
    // The Service route turns the picker off.
    expect(routes[0]!.typed_per_filter_config['envoy.filters.http.ext_proc'].disabled).toBe(true);
  });

  it('pool clusters: override-host over known endpoints, ORIGINAL_DST on the header otherwise', () => {
    const { parsed, notes } = generate();
    const byName = new Map((parsed.static_resources.clusters as Obj[]).map((c) => [c.name, c]));
    const open = byName.get('pool.default.open')!;
    expect(open.type).toBe('STATIC');
    expect(open.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '10.0.0.1',
      port_value: 8000,
    });
    expect(
      open.load_balancing_policy.policies[0].typed_extension_config.typed_config.override_host_sources,
    ).toEqual([{ metadata: { key: 'envoy.lb', path: [{ key: 'x-gateway-destination-endpoint' }] } }]);
    const closed = byName.get('pool.default.closed')!;
    expect(closed.type).toBe('ORIGINAL_DST');
    expect(closed.original_dst_lb_config).toEqual({
      use_http_header: true,
      http_header_name: 'x-gateway-destination-endpoint',
    });
    expect(notes.some((n) => n.includes('default/closed'))).toBe(true);
    expect(
      byName.get('epp.default.closed')!.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
        .socket_address,
    ).toEqual({
      address: '127.0.0.1',
      port_value: 9012,
    });
    const picker = byName.get('epp.default.open')!;
    expect(picker.health_checks[0].grpc_health_check.service_name).toBe(
      'envoy.service.ext_proc.v3.ExternalProcessor',
    );
    // Below Node's rapid-reset burst (1,000 peer resets per HTTP/2 connection, then GOAWAY).
    const h2 =
      picker.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(h2.common_http_protocol_options.max_requests_per_connection).toBeLessThan(1000);
    // Only failures to reach the picker eject it, at once.
    expect(picker.outlier_detection).toMatchObject({
      consecutive_local_origin_failure: 1,
      split_external_local_origin_errors: true,
      enforcing_consecutive_5xx: 0,
    });
    const svc = byName.get('svc.default.svc.8000')!;
    expect(svc.lb_policy).toBe('LEAST_REQUEST');
    // Envoy's default breakers (1,024 requests, 3 retries per cluster) lifted on every cluster.
    expect(byName.size).toBe(5);
    for (const c of byName.values()) {
      expect(c.circuit_breakers.thresholds[0]).toMatchObject({
        max_requests: 1_000_000,
        max_retries: 1_000_000,
      });
      expect(c.circuit_breakers.thresholds[0].max_pending_requests).toBeGreaterThan(100_000);
    }
  });

  it('configures the ext_proc filter as the reference does (full duplex, metadata in and out)', () => {
    const { parsed } = generate();
    const filters = parsed.static_resources.listeners[0].filter_chains[0].filters[0].typed_config
      .http_filters as Obj[];
    expect(filters.map((f) => f.name)).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.router']);
    const ext = filters[0]!.typed_config;
    expect(ext.processing_mode).toEqual({
      request_header_mode: 'SEND',
      response_header_mode: 'SEND',
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'FULL_DUPLEX_STREAMED',
      request_trailer_mode: 'SEND',
      response_trailer_mode: 'SEND',
    });
    expect(ext.message_timeout).toBe('1000s');
    expect(ext.grpc_service.timeout).toBe('10s');
    expect(ext.metadata_options.receiving_namespaces.untyped).toEqual(['envoy.lb']);
    expect(ext.response_attributes).toEqual(['upstream.address']);
  });
});
