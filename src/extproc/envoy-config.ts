/**
 * A static Envoy bootstrap for a Plan: "Envoy in front, infergate picking", from the same manifests.
 *
 * - One Envoy listener per distinct Gateway listener port (remapped as `serve` remaps them), its
 *   HTTPRoutes as one route table: virtual hosts by hostname, routes ordered by Gateway API
 *   precedence (Exact path, then longer prefix, then regex; more header matches first; then route
 *   order), PathPrefix as Envoy's path-separated prefix.
 * - Weights across backendRefs (weighted_clusters), timeouts (`timeouts.request` → route timeout,
 *   `backendRequest` → per-try timeout; no timeout by default, as `serve`), RequestMirror to Services
 *   (runtime fraction), header modifiers and URLRewrite where Envoy expresses them.
 * - Service backends: STATIC clusters of their resolved endpoints, Envoy's LEAST_REQUEST (or the
 *   BackendTrafficPolicy's round-robin / random).
 * - InferencePool backends: the ext_proc filter (FULL_DUPLEX_STREAMED bodies, the reference's
 *   timeouts) sends each request to the pool's picker (`infergate epp`); the pool's cluster follows
 *   `x-gateway-destination-endpoint` from the picker's `envoy.lb` metadata. With the pool's endpoints
 *   known from the manifests it is a STATIC cluster with Envoy's override-host policy (primary, then
 *   the fallbacks on retry; least-request when there is no pick, e.g. FailOpen with the picker down);
 *   without them, an ORIGINAL_DST cluster reading the header (the reference standalone chart's form;
 *   fallbacks are then not followed). failureMode FailOpen → failure_mode_allow.
 *
 * What Envoy cannot express here is left out and reported in `notes` (mirrors to a pool, routes
 * whose backends do not resolve).
 */
import { stringify } from 'yaml';
import type {
  BackendPlan,
  EndpointAddress,
  ListenerPlan,
  MatchPlan,
  Plan,
  PoolPlan,
  RoutePlan,
  RulePlan,
  ServiceLbPolicy,
} from '../config/plan.js';
import {
  DESTINATION_ENDPOINT_KEY,
  DESTINATION_NAMESPACE,
  SUBSET_NAMESPACE,
  UPSTREAM_ADDRESS_ATTRIBUTE,
} from './messages.js';
import { EXT_PROC_SERVICE } from './proto.js';

export interface EnvoyConfigOptions {
  /** Picker address per pool key (`ns/name` → `host:port`); pools not listed use `defaultEpp`. */
  epp: ReadonlyMap<string, string>;
  defaultEpp: string;
  /** Bind address of the listeners. */
  host: string;
  /** Declared → actual listener ports (as `serve --port-map`), then `portOffset` for the rest. */
  portMap: ReadonlyMap<number, number>;
  portOffset: number;
  /** Envoy's admin port on 127.0.0.1 (-1: none). */
  adminPort: number;
  /** Retries to the picker's fallback endpoints (connect failure, reset, 503). */
  poolRetries: number;
  /**
   * `always` (the reference): every response body goes through the picker (usage, TTFT, model name
   * rewritten back). `when-needed`: only routes to pools with a model rewrite send response bodies;
   * the others send response headers only (served endpoint, status; no token metrics or TTFT), which
   * halves the messages per request and spares every streamed chunk a round trip. Default always.
   */
  responseBodies?: 'always' | 'when-needed';
}

export interface EnvoyConfig {
  /** The bootstrap as YAML (a header comment says where it came from). */
  yaml: string;
  bootstrap: Record<string, unknown>;
  /** Parts of the plan left out, one sentence each. */
  notes: string[];
  /** Actual listener ports, by declared port. */
  ports: ReadonlyMap<number, number>;
}

type Obj = Record<string, unknown>;

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EXT_PROC = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const EXT_PROC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const HTTP_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const OVERRIDE_HOST =
  'type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost';
const LEAST_REQUEST_POLICY =
  'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
const EXT_PROC_FILTER_NAME = 'envoy.filters.http.ext_proc';

/** Cluster names are `[a-z0-9_.-]`: `svc.<ns>.<name>.<port>`, `pool.<ns>.<name>`, `epp.<ns>.<name>`. */
function clusterName(kind: 'svc' | 'pool' | 'epp', key: string, port?: number): string {
  const base = `${kind}.${key.replace('/', '.')}`;
  return port !== undefined ? `${base}.${port}` : base;
}

function seconds(ms: number): string {
  return `${Math.round(ms) / 1000}s`;
}

function socketAddress(address: string, port: number): Obj {
  return { socket_address: { address, port_value: port } };
}

function lbEndpoints(eps: readonly EndpointAddress[]): Obj[] {
  return eps.filter((e) => e.ready).map((e) => ({ endpoint: { address: socketAddress(e.address, e.port) } }));
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`"${hostPort}" is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * Envoy's default circuit breakers allow 1,024 connections, pending requests and requests, and 3
 * retries, in flight per cluster. LLM requests are long streams and every one of them also holds an
 * ext_proc stream to the picker: a busy gateway would answer 503 (or fail the picker's stream) long
 * before the replicas are full, and a replica failure would leave most fallbacks untried. Admission
 * is the picker's job (saturation, flow control), so every cluster written here lifts them.
 */
const CIRCUIT_BREAKERS = {
  thresholds: [
    {
      priority: 'DEFAULT',
      max_connections: 1_000_000,
      max_pending_requests: 1_000_000,
      max_requests: 1_000_000,
      max_retries: 1_000_000,
    },
  ],
};

/** ext_proc streams per connection to a picker (below Node's rapid-reset burst of 1,000). */
const EPP_STREAMS_PER_CONNECTION = 500;

const LB_POLICY: Readonly<Record<ServiceLbPolicy, string>> = {
  'least-request': 'LEAST_REQUEST',
  'round-robin': 'ROUND_ROBIN',
  random: 'RANDOM',
};

export function envoyBootstrap(plan: Plan, o: EnvoyConfigOptions): EnvoyConfig {
  const notes: string[] = [];
  const clusters = new Map<string, Obj>();
  const poolsUsed = new Set<string>();

  const serviceCluster = (b: BackendPlan, lb: ServiceLbPolicy): string | undefined => {
    const svc = plan.services.get(b.key);
    if (!svc || b.port === undefined) return undefined;
    const name = clusterName('svc', b.key, b.port);
    if (!clusters.has(name)) {
      const eps = svc.endpointsByPort.get(b.port) ?? [];
      if (lbEndpoints(eps).length === 0)
        notes.push(
          `Service ${b.key}:${b.port} has no ready endpoint in the manifests: its cluster is empty (503).`,
        );
      clusters.set(name, {
        name,
        type: 'STATIC',
        connect_timeout: '5s',
        lb_policy: LB_POLICY[lb],
        circuit_breakers: CIRCUIT_BREAKERS,
        load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints(eps) }] },
      });
    }
    return name;
  };

  const poolCluster = (b: BackendPlan): string | undefined => {
    const pool = plan.pools.get(b.key);
    if (!pool) return undefined;
    poolsUsed.add(b.key);
    const name = clusterName('pool', b.key);
    if (!clusters.has(name)) clusters.set(name, poolClusterConfig(name, pool, notes));
    return name;
  };

  const clusterFor = (b: BackendPlan, route: RoutePlan, listener: ListenerPlan): string | undefined => {
    if (!b.resolved) return undefined;
    if (b.kind === 'InferencePool') return poolCluster(b);
    return serviceCluster(b, route.loadBalancer ?? listener.loadBalancer ?? 'least-request');
  };

  // Listeners by actual port: Gateway listeners sharing a port share one Envoy listener.
  const byPort = new Map<number, ListenerPlan[]>();
  for (const l of plan.listeners) {
    const list = byPort.get(l.port);
    if (list) list.push(l);
    else byPort.set(l.port, [l]);
  }
  const ports = new Map<number, number>();
  const listeners: Obj[] = [];
  const routesByKey = new Map(plan.routes.map((r) => [r.key, r]));
  for (const [declared, gatewayListeners] of byPort) {
    const actual = o.portMap.get(declared) ?? declared + o.portOffset;
    ports.set(declared, actual);
    // domain set → routes
    const hosts = new Map<string, { domains: string[]; routes: RouteEntry[] }>();
    const seen = new Set<string>();
    for (const l of gatewayListeners) {
      if (l.protocol !== 'HTTP')
        notes.push(`Listener ${l.key} is ${l.protocol}: served as plain HTTP (no TLS in this bootstrap).`);
      for (const rk of l.routeKeys) {
        if (seen.has(rk)) continue;
        seen.add(rk);
        const route = routesByKey.get(rk);
        if (!route) continue;
        const names = route.hostnames.length > 0 ? route.hostnames : l.hostname ? [l.hostname] : ['*'];
        const domains = [...new Set(names.flatMap((h) => (h === '*' ? ['*'] : [h, `${h}:*`])))];
        const dkey = domains.join(',');
        let vh = hosts.get(dkey);
        if (!vh) {
          vh = { domains, routes: [] };
          hosts.set(dkey, vh);
        }
        vh.routes.push(...routeEntries(route, l, clusterFor, o, plan, notes));
      }
    }
    const virtualHosts = [...hosts.entries()].map(([dkey, vh], i) => ({
      name: `vh-${actual}-${i}`,
      domains: vh.domains,
      routes: sortRoutes(vh.routes),
      _key: dkey,
    }));
    // The catch-all host last; Envoy picks the most specific domain anyway, but keep output stable.
    virtualHosts.sort((a, b) => (a._key === '*' ? 1 : b._key === '*' ? -1 : 0));
    listeners.push(
      listenerConfig(
        `listener-${declared}`,
        o.host,
        actual,
        virtualHosts.map(({ _key, ...vh }) => vh),
        gatewayListeners,
        poolsUsed,
        plan,
        o,
      ),
    );
  }

  for (const key of poolsUsed) {
    const ep = o.epp.get(key) ?? o.defaultEpp;
    const { host, port } = splitHostPort(ep);
    const name = clusterName('epp', key);
    clusters.set(name, {
      name,
      type: 'STATIC',
      connect_timeout: '1s',
      lb_policy: 'ROUND_ROBIN',
      circuit_breakers: CIRCUIT_BREAKERS,
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': HTTP_OPTIONS,
          explicit_http_config: { http2_protocol_options: {} },
          // Envoy resets every ext_proc stream when its request ends (envoyproxy/envoy#22727), and
          // Node's HTTP/2 server answers the 1,000th quick reset on one connection with GOAWAY
          // (nghttp2's rapid-reset limit: burst 1,000, 33/s; not settable on Node 20): every stream
          // then open on it fails (500). A fresh connection every 500 streams stays under the limit.
          common_http_protocol_options: { max_requests_per_connection: EPP_STREAMS_PER_CONNECTION },
        },
      },
      load_assignment: {
        cluster_name: name,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }],
      },
      // A picker that is down must be known as down before a request starts: in FULL_DUPLEX_STREAMED
      // mode Envoy streams the body to the processor before the stream is up, and a stream that
      // fails after that answers 500 even with failure_mode_allow. With the host marked unhealthy
      // (gRPC health of the ExternalProcessor service, as the reference chart checks) and no panic
      // routing, the stream cannot be opened at all, which failure_mode_allow does cover.
      health_checks: [
        {
          timeout: '1s',
          interval: '1s',
          no_traffic_interval: '1s',
          unhealthy_threshold: 2,
          healthy_threshold: 1,
          grpc_health_check: { service_name: EXT_PROC_SERVICE },
        },
      ],
      // The faster path: the first stream that cannot even connect (the picker's process is gone)
      // ejects the picker at once, without waiting for two failed health checks; the ejection is
      // short (1 s, longer when repeated) so a picker that comes back is used again soon, and the
      // health check keeps a dead one out meanwhile.
      outlier_detection: {
        split_external_local_origin_errors: true,
        consecutive_local_origin_failure: 1,
        enforcing_consecutive_local_origin_failure: 100,
        // Only failures to reach the picker eject it, never answers on its streams.
        enforcing_consecutive_5xx: 0,
        enforcing_consecutive_gateway_failure: 0,
        enforcing_success_rate: 0,
        interval: '1s',
        base_ejection_time: '1s',
        max_ejection_time: '10s',
        max_ejection_percent: 100,
      },
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    });
  }

  const bootstrap: Obj = {
    ...(o.adminPort >= 0 ? { admin: { address: socketAddress('127.0.0.1', o.adminPort) } } : {}),
    static_resources: { listeners, clusters: [...clusters.values()] },
  };
  const header =
    '# Envoy bootstrap written by `infergate envoy-config` from the manifests.\n' +
    '# InferencePool routes go through ext_proc to `infergate epp` (one per pool):\n' +
    [...poolsUsed].map((k) => `#   ${k} → ${o.epp.get(k) ?? o.defaultEpp}\n`).join('') +
    notes.map((n) => `# note: ${n}\n`).join('');
  return {
    yaml: header + stringify(bootstrap, { lineWidth: 0, aliasDuplicateObjects: false }),
    bootstrap,
    notes,
    ports,
  };
}

function poolClusterConfig(name: string, pool: PoolPlan, notes: string[]): Obj {
  const eps = lbEndpoints(pool.endpoints);
  const h2 = pool.appProtocol === 'kubernetes.io/h2c';
  const protocol = h2
    ? {
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': HTTP_OPTIONS,
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      }
    : {};
  if (eps.length === 0) {
    notes.push(
      `InferencePool ${pool.key} has no endpoints in the manifests: its cluster is ORIGINAL_DST on ` +
        `${DESTINATION_ENDPOINT_KEY} (the picker's fallbacks are not followed; FailOpen has nowhere to go).`,
    );
    return {
      name,
      type: 'ORIGINAL_DST',
      connect_timeout: '5s',
      lb_policy: 'CLUSTER_PROVIDED',
      original_dst_lb_config: { use_http_header: true, http_header_name: DESTINATION_ENDPOINT_KEY },
      circuit_breakers: CIRCUIT_BREAKERS,
      ...protocol,
    };
  }
  return {
    name,
    type: 'STATIC',
    connect_timeout: '5s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: eps }] },
    circuit_breakers: CIRCUIT_BREAKERS,
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: 'envoy.load_balancing_policies.override_host',
            typed_config: {
              '@type': OVERRIDE_HOST,
              override_host_sources: [
                { metadata: { key: DESTINATION_NAMESPACE, path: [{ key: DESTINATION_ENDPOINT_KEY }] } },
              ],
              fallback_policy: {
                policies: [
                  {
                    typed_extension_config: {
                      name: 'envoy.load_balancing_policies.least_request',
                      typed_config: { '@type': LEAST_REQUEST_POLICY },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    },
    ...protocol,
  };
}

const FULL_DUPLEX_MODE = {
  request_header_mode: 'SEND',
  response_header_mode: 'SEND',
  request_body_mode: 'FULL_DUPLEX_STREAMED',
  response_body_mode: 'FULL_DUPLEX_STREAMED',
  request_trailer_mode: 'SEND',
  response_trailer_mode: 'SEND',
};
const HEADERS_ONLY_RESPONSE_MODE = {
  ...FULL_DUPLEX_MODE,
  response_body_mode: 'NONE',
  response_trailer_mode: 'SKIP',
};

/** True when responses of the pool may carry a model name the client must not see (a rewrite). */
function rewritesModels(pool: PoolPlan): boolean {
  if (pool.rewrites.length > 0) return true;
  return pool.models.some((m) => m.targetModels.some((t) => t.name !== m.modelName));
}

/** The ext_proc filter config for one pool's picker (also used as a per-route override). */
function extProcConfig(pool: PoolPlan | undefined, poolKey: string, o: EnvoyConfigOptions): Obj {
  const failOpen = pool?.endpointPicker?.failureMode === 'FailOpen';
  const headersOnly = o.responseBodies === 'when-needed' && pool !== undefined && !rewritesModels(pool);
  return {
    grpc_service: { envoy_grpc: { cluster_name: clusterName('epp', poolKey) }, timeout: '10s' },
    failure_mode_allow: failOpen,
    ...(headersOnly ? { processing_mode: HEADERS_ONLY_RESPONSE_MODE } : {}),
  };
}

function listenerConfig(
  name: string,
  host: string,
  port: number,
  virtualHosts: Obj[],
  _gatewayListeners: readonly ListenerPlan[],
  poolsUsed: ReadonlySet<string>,
  plan: Plan,
  o: EnvoyConfigOptions,
): Obj {
  const filters: Obj[] = [];
  const firstPool = [...poolsUsed][0];
  if (firstPool !== undefined) {
    const base = extProcConfig(plan.pools.get(firstPool), firstPool, o);
    filters.push({
      name: EXT_PROC_FILTER_NAME,
      typed_config: {
        '@type': EXT_PROC,
        ...base,
        processing_mode: FULL_DUPLEX_MODE,
        message_timeout: '1000s',
        // The picker's choice travels as metadata; keep the route (and its weighted draw) as matched.
        route_cache_action: 'RETAIN',
        response_attributes: [UPSTREAM_ADDRESS_ATTRIBUTE],
        metadata_options: {
          forwarding_namespaces: { untyped: [DESTINATION_NAMESPACE, SUBSET_NAMESPACE] },
          receiving_namespaces: { untyped: [DESTINATION_NAMESPACE] },
        },
      },
    });
  }
  filters.push({
    name: 'envoy.filters.http.router',
    typed_config: { '@type': ROUTER, suppress_envoy_headers: true },
  });
  return {
    name,
    address: socketAddress(host, port),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: name,
              codec_type: 'AUTO',
              // LLM streams outlive Envoy's 5-minute default stream idle timeout only when idle; keep it.
              route_config: { name: `${name}-routes`, virtual_hosts: virtualHosts },
              http_filters: filters,
            },
          },
        ],
      },
    ],
  };
}

interface RouteEntry extends Obj {
  _rank: [number, number, number, number];
}

function routeEntries(
  route: RoutePlan,
  listener: ListenerPlan,
  clusterFor: (b: BackendPlan, r: RoutePlan, l: ListenerPlan) => string | undefined,
  o: EnvoyConfigOptions,
  plan: Plan,
  notes: string[],
): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const rule of route.rules) {
    const action = routeAction(rule, route, listener, clusterFor, o, plan, notes);
    rule.matches.forEach((m, mi) => {
      const entry: RouteEntry = {
        name: `${route.namespace}/${route.name}/rule-${rule.index}/match-${mi}`,
        match: matchConfig(m),
        ...action,
        _rank: rank(m, route, rule.index),
      };
      out.push(entry);
    });
  }
  return out;
}

function rank(m: MatchPlan, route: RoutePlan, ruleIndex: number): [number, number, number, number] {
  const typeRank = m.path.type === 'Exact' ? 0 : m.path.type === 'PathPrefix' ? 1 : 2;
  const len = m.path.type === 'PathPrefix' ? -m.path.value.length : 0;
  const more = -(m.headers.length + m.queryParams.length + (m.method ? 1 : 0));
  // Istio first-match routes keep their order; Gateway API ties go to the route order.
  return route.firstMatch
    ? [3, route.loadOrder, ruleIndex, 0]
    : [typeRank, len, more, route.loadOrder * 1000 + ruleIndex];
}

function sortRoutes(routes: RouteEntry[]): Obj[] {
  return [...routes]
    .sort((a, b) => {
      for (let i = 0; i < 4; i++) {
        const d = a._rank[i]! - b._rank[i]!;
        if (d !== 0) return d;
      }
      return 0;
    })
    .map(({ _rank, ...r }) => r);
}

function matchConfig(m: MatchPlan): Obj {
  const match: Obj = {};
  const v = m.path.value;
  if (m.path.type === 'Exact') match.path = v;
  else if (m.path.type === 'RegularExpression') match.safe_regex = { regex: v };
  else if (v === '/' || v.endsWith('/')) match.prefix = v;
  else match.path_separated_prefix = v;
  const headers: Obj[] = m.headers.map((h) => ({
    name: h.name,
    string_match: h.type === 'Exact' ? { exact: h.value } : { safe_regex: { regex: h.value } },
  }));
  if (m.method) headers.push({ name: ':method', string_match: { exact: m.method } });
  if (headers.length > 0) match.headers = headers;
  if (m.queryParams.length > 0) {
    match.query_parameters = m.queryParams.map((q) => ({
      name: q.name,
      string_match: q.type === 'Exact' ? { exact: q.value } : { safe_regex: { regex: q.value } },
    }));
  }
  return match;
}

function routeAction(
  rule: RulePlan,
  route: RoutePlan,
  listener: ListenerPlan,
  clusterFor: (b: BackendPlan, r: RoutePlan, l: ListenerPlan) => string | undefined,
  o: EnvoyConfigOptions,
  plan: Plan,
  notes: string[],
): Obj {
  const where = `${route.key} rule ${rule.index}`;
  const backends = rule.backends
    .filter((b) => b.weight > 0)
    .map((b) => ({ b, cluster: clusterFor(b, route, listener) }));
  const usable = backends.filter((x) => x.cluster !== undefined);
  const extra: Obj = {};
  const modifier = rule.requestHeaderModifier;
  if (modifier) {
    const add = [
      ...modifier.set.map((h) => ({
        header: { key: h.name, value: h.value },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      })),
      ...modifier.add.map((h) => ({
        header: { key: h.name, value: h.value },
        append_action: 'APPEND_IF_EXISTS_OR_ADD',
      })),
    ];
    if (add.length > 0) extra.request_headers_to_add = add;
    if (modifier.remove.length > 0) extra.request_headers_to_remove = [...modifier.remove];
  }
  if (usable.length === 0) {
    if (backends.length > 0 || rule.backends.length > 0)
      notes.push(`${where}: no backend resolves; Envoy answers 500 as Gateway API requires.`);
    return {
      direct_response: {
        status: 500,
        body: {
          inline_string:
            '{"error":{"message":"The route has no usable backend.","type":"InternalServerError","param":null,"code":500}}',
        },
      },
      ...extra,
    };
  }
  if (usable.length < backends.length)
    notes.push(`${where}: a backendRef does not resolve; its weight is dropped.`);

  const action: Obj = {};
  if (usable.length === 1) action.cluster = usable[0]!.cluster;
  else {
    action.weighted_clusters = {
      clusters: usable.map(({ b, cluster }) => ({
        name: cluster,
        weight: b.weight,
        ...(b.kind === 'InferencePool'
          ? { typed_per_filter_config: { [EXT_PROC_FILTER_NAME]: perRouteExtProc(plan, b.key, o) } }
          : {}),
      })),
    };
  }
  const requestMs = rule.timeouts.requestMs ?? listener.requestTimeoutMs ?? 0;
  action.timeout = seconds(requestMs);
  const pools = usable.filter((x) => x.b.kind === 'InferencePool');
  const retry: Obj = {};
  if (rule.timeouts.backendRequestMs !== undefined)
    retry.per_try_timeout = seconds(rule.timeouts.backendRequestMs);
  if (pools.length > 0 && o.poolRetries > 0) {
    retry.retry_on = 'connect-failure,refused-stream,reset-before-request,retriable-status-codes';
    retry.retriable_status_codes = [503];
    retry.num_retries = o.poolRetries;
  }
  if (Object.keys(retry).length > 0) action.retry_policy = retry;
  const rewrite = rule.urlRewrite;
  if (rewrite?.hostname) action.host_rewrite_literal = rewrite.hostname;
  if (rewrite?.path) {
    if (rewrite.path.type === 'ReplaceFullPath')
      action.regex_rewrite = { pattern: { regex: '^/.*$' }, substitution: rewrite.path.value };
    else action.prefix_rewrite = rewrite.path.value;
  }
  const mirrors: Obj[] = [];
  for (const m of rule.mirrors) {
    if (m.backend.kind === 'InferencePool') {
      notes.push(
        `${where}: RequestMirror to InferencePool ${m.backend.key} left out (Envoy mirrors skip the picker).`,
      );
      continue;
    }
    const cluster = clusterFor(m.backend, route, listener);
    if (!cluster) {
      notes.push(`${where}: RequestMirror to ${m.backend.key} does not resolve; left out.`);
      continue;
    }
    mirrors.push({
      cluster,
      runtime_fraction: {
        default_value: { numerator: Math.round(m.fraction * 1_000_000), denominator: 'MILLION' },
      },
    });
  }
  if (mirrors.length > 0) action.request_mirror_policies = mirrors;

  const perFilter: Obj = {};
  if (pools.length === 0) perFilter[EXT_PROC_FILTER_NAME] = { '@type': EXT_PROC_PER_ROUTE, disabled: true };
  else if (usable.length === 1) perFilter[EXT_PROC_FILTER_NAME] = perRouteExtProc(plan, pools[0]!.b.key, o);
  else if (pools.length < usable.length) {
    // Services weighted with pools: the filter stays on for the route; the Service clusters turn it off.
    const wc = action.weighted_clusters as { clusters: Obj[] };
    for (const c of wc.clusters) {
      if (!c.typed_per_filter_config)
        c.typed_per_filter_config = {
          [EXT_PROC_FILTER_NAME]: { '@type': EXT_PROC_PER_ROUTE, disabled: true },
        };
    }
  }
  return {
    route: action,
    ...extra,
    ...(Object.keys(perFilter).length > 0 ? { typed_per_filter_config: perFilter } : {}),
  };
}

function perRouteExtProc(plan: Plan, poolKey: string, o: EnvoyConfigOptions): Obj {
  return { '@type': EXT_PROC_PER_ROUTE, overrides: extProcConfig(plan.pools.get(poolKey), poolKey, o) };
}
