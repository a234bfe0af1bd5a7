/**
 * Builds Plans in code for gateway tests (the config loader is tested on its own; these tests are
 * about what the gateway does with a plan).
 */
import type {
  BackendPlan,
  EndpointAddress,
  HeaderModifierPlan,
  ListenerPlan,
  MatchPlan,
  ModelPlan,
  Plan,
  PoolPlan,
  RoutePlan,
  RulePlan,
  ServiceLbPolicy,
  ServicePlan,
  SourceRef,
  UrlRewritePlan,
} from '../../../src/config/plan.js';

const NS = 'default';

function source(kind: string, name: string): SourceRef {
  return { file: 'test.yaml', doc: 1, apiVersion: 'v1', kind, name, namespace: NS };
}

export interface Addr {
  address?: string;
  port: number;
  ready?: boolean;
}

function endpoint(a: Addr): EndpointAddress {
  return { address: a.address ?? '127.0.0.1', port: a.port, ready: a.ready ?? true, labels: {}, from: 'Pod' };
}

export interface BackendSpec {
  kind?: 'Service' | 'InferencePool';
  name: string;
  port?: number;
  weight?: number;
  resolved?: boolean;
}

export interface MatchSpec {
  path?: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string };
  headers?: MatchPlan['headers'];
  queryParams?: MatchPlan['queryParams'];
  method?: string;
}

export interface RuleSpec {
  name?: string;
  matches?: MatchSpec[];
  backends: BackendSpec[];
  mirrors?: { backend: BackendSpec; fraction?: number }[];
  headerModifier?: Partial<HeaderModifierPlan>;
  urlRewrite?: UrlRewritePlan;
  timeouts?: { requestMs?: number; backendRequestMs?: number };
}

export interface RouteSpec {
  name: string;
  namespace?: string;
  hostnames?: string[];
  /** Listener keys; default: every listener. */
  listeners?: string[];
  creationTimestamp?: string;
  rules: RuleSpec[];
}

export class PlanBuilder {
  private readonly listeners: ListenerPlan[] = [];
  private readonly routeSpecs: RouteSpec[] = [];
  private readonly services = new Map<string, ServicePlan>();
  private readonly pools = new Map<string, PoolPlan>();

  listener(opts: {
    name?: string;
    gateway?: string;
    port: number;
    hostname?: string;
    requestTimeoutMs?: number;
    loadBalancer?: ServiceLbPolicy;
  }): string {
    const gateway = opts.gateway ?? 'gw';
    const name = opts.name ?? `http-${opts.port}`;
    const key = `${NS}/${gateway}/${name}`;
    this.listeners.push({
      key,
      gateway: { kind: 'Gateway', namespace: NS, name: gateway },
      name,
      port: opts.port,
      protocol: 'HTTP',
      hostname: opts.hostname,
      routeKeys: [],
      requestTimeoutMs: opts.requestTimeoutMs,
      loadBalancer: opts.loadBalancer,
      source: source('Gateway', gateway),
    });
    return key;
  }

  /** A Service whose port `port` (default 8000) resolves to `endpoints`. */
  service(name: string, endpoints: Addr[], port = 8000): this {
    const key = `${NS}/${name}`;
    this.services.set(key, {
      key,
      namespace: NS,
      name,
      selector: { app: name },
      ports: [{ port, targetPort: port, protocol: 'TCP' }],
      endpointsByPort: new Map([[port, endpoints.map(endpoint)]]),
      workloads: [],
      source: source('Service', name),
    });
    return this;
  }

  pool(name: string, endpoints: Addr[], models: Partial<ModelPlan>[] = []): this {
    const key = `${NS}/${name}`;
    this.pools.set(key, {
      key,
      namespace: NS,
      name,
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      selector: { matchLabels: { app: name } },
      targetPorts: [8000],
      appProtocol: 'http',
      endpoints: endpoints.map(endpoint),
      workloads: [],
      models: models.map((m) => ({
        name: m.name ?? m.modelName ?? 'model',
        modelName: m.modelName ?? 'model',
        criticality: m.criticality ?? 'Standard',
        targetModels: m.targetModels ?? [],
        source: source('InferenceModel', m.name ?? 'model'),
      })),
      objectives: [],
      rewrites: [],
      source: source('InferencePool', name),
    });
    return this;
  }

  route(spec: RouteSpec): this {
    this.routeSpecs.push(spec);
    return this;
  }

  build(): Plan {
    const routes: RoutePlan[] = this.routeSpecs.map((r, i) => {
      const ns = r.namespace ?? NS;
      const key = `HTTPRoute ${ns}/${r.name}`;
      const listenerKeys = r.listeners ?? this.listeners.map((l) => l.key);
      return {
        key,
        kind: 'HTTPRoute',
        namespace: ns,
        name: r.name,
        creationTimestamp: r.creationTimestamp,
        loadOrder: i,
        hostnames: r.hostnames ?? [],
        listenerKeys,
        rules: r.rules.map((rule, index) => this.rule(rule, index)),
        source: source('HTTPRoute', r.name),
      };
    });
    const listeners = this.listeners.map((l) => ({
      ...l,
      routeKeys: routes.filter((r) => r.listenerKeys.includes(l.key)).map((r) => r.key),
    }));
    return { listeners, routes, services: this.services, pools: this.pools, ignored: [], diagnostics: [] };
  }

  private rule(r: RuleSpec, index: number): RulePlan {
    const matches: MatchPlan[] = (r.matches ?? [{}]).map((m) => ({
      path: m.path ?? { type: 'PathPrefix', value: '/' },
      headers: m.headers ?? [],
      queryParams: m.queryParams ?? [],
      method: m.method,
    }));
    return {
      index,
      name: r.name,
      matches,
      backends: r.backends.map((b) => this.backend(b)),
      requestHeaderModifier: r.headerModifier
        ? {
            set: r.headerModifier.set ?? [],
            add: r.headerModifier.add ?? [],
            remove: r.headerModifier.remove ?? [],
          }
        : undefined,
      urlRewrite: r.urlRewrite,
      mirrors: (r.mirrors ?? []).map((m) => ({
        backend: this.backend(m.backend),
        fraction: m.fraction ?? 1,
      })),
      timeouts: r.timeouts ?? {},
    };
  }

  private backend(b: BackendSpec): BackendPlan {
    const kind = b.kind ?? 'Service';
    const key = `${NS}/${b.name}`;
    const exists = kind === 'Service' ? this.services.has(key) : this.pools.has(key);
    return {
      kind,
      key,
      port: kind === 'Service' ? (b.port ?? 8000) : undefined,
      weight: b.weight ?? 1,
      resolved: b.resolved ?? exists,
    };
  }
}
