/**
 * Stage 3: validated objects → Plan. Order matters: Services and listeners first (routes resolve
 * against them), picker configs before pools (pools choose one), pools before routes (the attach-to
 * annotation adds routes, and backends resolve against pools), policies last (they amend listeners
 * and routes). Cross-reference problems are reported on the way; the Plan is returned only when no
 * error was found.
 */
import { formatSelector } from '../../util/labels.js';
import { Codes, type DiagnosticSink, whereOf } from '../diagnostics.js';
import type { ObjectStore } from '../objects.js';
import type { ListenerPlan, Plan, PoolPlan, RoutePlan, WorkloadRef } from '../plan.js';
import { buildServices } from './backends.js';
import type { BuildContext } from './context.js';
import { EndpointIndex } from './endpoints.js';
import { buildHTTPRoutes } from './http-routes.js';
import { buildLLMRoutes, buildVirtualServices } from './istio-routes.js';
import { buildGatewayListeners, buildIstioListeners } from './listeners.js';
import { olderFirst } from './matching.js';
import { buildPickerConfigs, type PickerConfigValidator } from './picker-configs.js';
import { applyBackendTrafficPolicies } from './policies.js';
import { buildPools } from './pools.js';

export type { PickerConfigValidator };

export function buildPlan(
  store: ObjectStore,
  sink: DiagnosticSink,
  validatePickerConfig?: PickerConfigValidator,
): Plan | undefined {
  const ctx: BuildContext = {
    store,
    sink,
    endpoints: new EndpointIndex(store),
    listeners: [],
    listenersByGateway: new Map(),
    routes: [],
    services: new Map(),
    pools: new Map(),
  };
  buildServices(ctx);
  buildGatewayListeners(ctx);
  buildIstioListeners(ctx);
  const pickerConfigs = buildPickerConfigs(ctx, validatePickerConfig);
  buildPools(ctx, pickerConfigs);
  buildHTTPRoutes(ctx);
  buildVirtualServices(ctx);
  buildLLMRoutes(ctx);
  applyBackendTrafficPolicies(ctx);
  noteMissingEndpoints(ctx);
  if (sink.hasErrors()) return undefined;

  // Precedence-tie order: oldest first (creationTimestamp, else load order), then namespace/name.
  const routes: RoutePlan[] = [...ctx.routes].sort((a, b) =>
    olderFirst(
      { creationTimestamp: a.creationTimestamp, loadOrder: a.loadOrder, key: a.key },
      { creationTimestamp: b.creationTimestamp, loadOrder: b.loadOrder, key: b.key },
    ),
  );
  const rank = new Map<string, number>();
  for (let i = 0; i < routes.length; i++) rank.set(routes[i]!.key, i);
  const listeners: ListenerPlan[] = ctx.listeners.map((l) => {
    const plan: ListenerPlan = {
      key: l.key,
      gateway: l.gateway,
      name: l.name,
      port: l.port,
      protocol: l.protocol,
      routeKeys: [...l.routeKeys].sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0)),
      source: l.source,
    };
    if (l.hostname !== undefined) plan.hostname = l.hostname;
    if (l.requestTimeoutMs !== undefined) plan.requestTimeoutMs = l.requestTimeoutMs;
    if (l.loadBalancer !== undefined) plan.loadBalancer = l.loadBalancer;
    return plan;
  });
  return {
    listeners,
    routes,
    services: ctx.services,
    pools: ctx.pools,
    ignored: [...store.ignored.values()].map((e) => ({
      kind: e.kind,
      apiVersion: e.apiVersion,
      names: e.names,
      reason: e.reason,
    })),
    diagnostics: [],
  };
}

/** Standalone has no cluster: say which backends have no addresses, and what their selectors match. */
function noteMissingEndpoints(ctx: BuildContext): void {
  for (const pool of ctx.pools.values()) {
    if (pool.endpoints.length > 0) continue;
    ctx.sink.info(
      whereOf(pool.source),
      Codes.NO_ENDPOINTS,
      'spec.selector',
      `${noAddresses(pool, pool.workloads)}`,
      'add Pod objects with status.podIP (or a hostPort), see docs/configuration.md',
    );
  }
  const noted = new Set<string>();
  for (const route of ctx.routes) {
    for (const rule of route.rules) {
      const backends = [...rule.backends, ...rule.mirrors.map((m) => m.backend)];
      for (const b of backends) {
        if (b.kind !== 'Service' || !b.resolved || b.port === undefined || noted.has(b.key)) continue;
        const svc = ctx.services.get(b.key);
        if (!svc || (svc.endpointsByPort.get(b.port)?.length ?? 0) > 0) continue;
        noted.add(b.key);
        const what = svc.selector
          ? noAddresses(
              { kind: 'Service', key: svc.key, selector: { matchLabels: svc.selector } },
              svc.workloads,
            )
          : `Service ${svc.key} has no selector and no EndpointSlice names it`;
        ctx.sink.info(
          whereOf(svc.source),
          Codes.NO_ENDPOINTS,
          svc.selector ? 'spec.selector' : '',
          what,
          svc.selector
            ? 'add Pod objects with status.podIP (or a hostPort), see docs/configuration.md'
            : 'add an EndpointSlice labelled kubernetes.io/service-name: ' + svc.name,
        );
      }
    }
  }
}

function noAddresses(
  target: { kind?: string; key: string; selector: PoolPlan['selector'] },
  workloads: readonly WorkloadRef[],
): string {
  const kind = target.kind ?? 'InferencePool';
  const selected = workloads.length
    ? workloads
        .map((w) => `${w.kind} ${w.name} (${w.replicas} replica${w.replicas === 1 ? '' : 's'})`)
        .join(', ')
    : `no workload of the manifests given (selector ${formatSelector(target.selector)})`;
  return `${kind} ${target.key} selects ${selected}; no Pod addresses are given in standalone mode, so it has no endpoints`;
}
