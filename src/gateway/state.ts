/**
 * What the gateway serves for one plan: the compiled route table with each rule's runtime attached
 * (backends with weights, filters, timeouts, mirrors) and a ServiceTarget per Service port. Built once
 * per (re)load, then immutable except for endpoint sets (`swapEndpoints`, on pod churn): a request
 * keeps the state it started with, a reload swaps in a new one.
 */
import type { BackendPlan, ListenerPlan, Plan, RoutePlan, RulePlan } from '../config/plan.js';
import type { MirrorStats, MirrorStatsTable } from './mirror-stats.js';
import { RouteTable, type RouteTableWarning } from './route-table.js';
import { ServiceTarget } from './service-balancer.js';
import type { UpstreamEndpoint, UpstreamEndpointTable } from './upstream-endpoint.js';

export interface BackendRuntime {
  readonly kind: 'Service' | 'InferencePool';
  /** `namespace/name`. */
  readonly key: string;
  /** Metrics/log label: `Service ns/name:port` or `InferencePool ns/name`. */
  readonly label: string;
  /** False when the reference does not resolve (answered 500). */
  readonly resolved: boolean;
  /** Service backends: the balancer over the Service port's ready endpoints. */
  readonly service: ServiceTarget | undefined;
}

export interface MirrorRuntime {
  readonly backend: BackendRuntime;
  /** 0..1. */
  readonly fraction: number;
  readonly stats: MirrorStats;
}

export interface RuleRuntime {
  readonly route: RoutePlan;
  readonly rule: RulePlan;
  readonly backends: readonly BackendRuntime[];
  readonly weights: readonly number[];
  readonly totalWeight: number;
  readonly mirrors: readonly MirrorRuntime[];
}

export class GatewayState {
  readonly table: RouteTable<RuleRuntime>;
  readonly services = new Map<string, ServiceTarget>();
  readonly listenersByKey = new Map<string, ListenerPlan>();
  readonly warnings: readonly RouteTableWarning[];
  /** Every upstream endpoint id referenced by the plan (for pruning idle connection pools). */
  readonly endpointIds = new Set<string>();
  readonly loadedAt = new Date();

  private planValue: Plan;

  constructor(
    plan: Plan,
    readonly generation: number,
    private readonly endpoints: UpstreamEndpointTable,
    private readonly mirrorStats: MirrorStatsTable,
  ) {
    this.planValue = plan;
    for (const l of plan.listeners) this.listenersByKey.set(l.key, l);
    this.table = new RouteTable(plan, (route, rule) => this.ruleRuntime(route, rule));
    this.warnings = this.table.warnings;
    this.addPoolEndpointIds();
  }

  get plan(): Plan {
    return this.planValue;
  }

  /**
   * Takes the endpoints of `plan`, which must route as the current one does (differsOnlyInEndpoints):
   * the route table, rule runtimes and Service targets are kept, each target gets its new ready
   * endpoints. Requests in flight keep the endpoint they were sent to.
   */
  swapEndpoints(plan: Plan): void {
    this.planValue = plan;
    this.endpointIds.clear();
    this.addPoolEndpointIds();
    for (const [targetKey, target] of this.services) {
      const cut = targetKey.lastIndexOf(':');
      target.setEndpoints(this.serviceUpstreams(targetKey.slice(0, cut), Number(targetKey.slice(cut + 1))));
    }
  }

  private addPoolEndpointIds(): void {
    for (const pool of this.plan.pools.values()) {
      for (const a of pool.endpoints)
        if (a.ready) this.endpointIds.add(this.endpoints.get(a.address, a.port).id);
    }
  }

  /** The ready upstream endpoints of one Service port (noted in endpointIds). */
  private serviceUpstreams(serviceKey: string, port: number): UpstreamEndpoint[] {
    const eps: UpstreamEndpoint[] = [];
    for (const a of this.plan.services.get(serviceKey)?.endpointsByPort.get(port) ?? []) {
      if (!a.ready) continue;
      const ep = this.endpoints.get(a.address, a.port);
      if (!eps.includes(ep)) eps.push(ep);
      this.endpointIds.add(ep.id);
    }
    return eps;
  }

  /** Declared ports that need a socket. */
  ports(): number[] {
    const set = new Set<number>();
    for (const l of this.plan.listeners) set.add(l.port);
    return [...set].sort((a, b) => a - b);
  }

  private ruleRuntime(route: RoutePlan, rule: RulePlan): RuleRuntime {
    const backends = rule.backends.map((b) => this.backend(b));
    // Unresolved backends keep their weight: Gateway API answers 500 for their share of requests.
    const weights = rule.backends.map((b) => Math.max(0, b.weight));
    let total = 0;
    for (const w of weights) total += w;
    const mirrors: MirrorRuntime[] = rule.mirrors.map((m) => {
      const backend = this.backend(m.backend);
      const key = `${route.key}#${rule.index} → ${backend.label}`;
      return {
        backend,
        fraction: m.fraction,
        stats: this.mirrorStats.get(key, { route: route.key, rule: rule.index, mirror: backend.label }),
      };
    });
    return { route, rule, backends, weights, totalWeight: total, mirrors };
  }

  private backend(b: BackendPlan): BackendRuntime {
    if (b.kind === 'InferencePool') {
      return {
        kind: b.kind,
        key: b.key,
        label: `InferencePool ${b.key}`,
        resolved: b.resolved,
        service: undefined,
      };
    }
    const label = `Service ${b.key}:${b.port ?? '?'}`;
    if (!b.resolved || b.port === undefined) {
      return { kind: b.kind, key: b.key, label, resolved: false, service: undefined };
    }
    const targetKey = `${b.key}:${b.port}`;
    let target = this.services.get(targetKey);
    if (target === undefined) {
      target = new ServiceTarget(targetKey, label, this.serviceUpstreams(b.key, b.port));
      this.services.set(targetKey, target);
    }
    return { kind: b.kind, key: b.key, label, resolved: this.plan.services.has(b.key), service: target };
  }
}
