/**
 * GET /admin/plan: what the gateway is serving, in a form meant for people and scripts — listeners
 * with their actual addresses, routes with their rules, backends and mirrors, Service and pool
 * endpoints. Derived from the served GatewayState only.
 */
import type { MatchPlan } from '../config/plan.js';
import { formatDuration } from '../util/duration.js';
import type { ListenerAddress } from './ports.js';
import type { GatewayState } from './state.js';

export function planSummary(
  state: GatewayState,
  addresses: readonly ListenerAddress[],
): Record<string, unknown> {
  const plan = state.plan;
  return {
    generation: state.generation,
    loadedAt: state.loadedAt.toISOString(),
    listeners: plan.listeners.map((l) => {
      const a = addresses.find((x) => x.key === l.key);
      return {
        key: l.key,
        protocol: l.protocol,
        hostname: l.hostname ?? '*',
        declaredPort: l.port,
        url: a?.url,
        routes: l.routeKeys,
        requestTimeout: l.requestTimeoutMs !== undefined ? formatDuration(l.requestTimeoutMs) : undefined,
        loadBalancer: l.loadBalancer,
      };
    }),
    routes: plan.routes.map((r) => ({
      key: r.key,
      hostnames: r.hostnames.length > 0 ? r.hostnames : ['*'],
      listeners: r.listenerKeys,
      rules: r.rules.map((rule) => ({
        index: rule.index,
        name: rule.name,
        matches: rule.matches.map(describeMatch),
        backends: rule.backends.map((b) => ({
          backend: `${b.kind} ${b.key}${b.port !== undefined ? `:${b.port}` : ''}`,
          weight: b.weight,
          resolved: b.resolved,
        })),
        mirrors: rule.mirrors.map((m) => ({
          backend: `${m.backend.kind} ${m.backend.key}${m.backend.port !== undefined ? `:${m.backend.port}` : ''}`,
          percent: Math.round(m.fraction * 10000) / 100,
        })),
        timeouts: {
          request:
            rule.timeouts.requestMs !== undefined ? formatDuration(rule.timeouts.requestMs) : undefined,
          backendRequest:
            rule.timeouts.backendRequestMs !== undefined
              ? formatDuration(rule.timeouts.backendRequestMs)
              : undefined,
        },
      })),
    })),
    services: [...state.services.values()].map((s) => ({
      service: s.label,
      endpoints: s.endpoints.map((e) => e.id),
    })),
    pools: [...plan.pools.values()].map((p) => ({
      pool: p.key,
      endpoints: p.endpoints.map((e) => `${e.address}:${e.port}${e.ready ? '' : ' (not ready)'}`),
      models: p.models.map((m) => ({
        model: m.modelName,
        criticality: m.criticality,
        targets: m.targetModels.map((t) => `${t.name} (${t.weight})`),
      })),
    })),
    warnings: state.warnings,
    diagnostics: plan.diagnostics.length,
  };
}

function describeMatch(m: MatchPlan): string {
  const parts = [`${m.path.type} ${m.path.value}`];
  if (m.method) parts.push(`method ${m.method}`);
  for (const h of m.headers) parts.push(`header ${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`);
  for (const q of m.queryParams) parts.push(`query ${q.name}${q.type === 'Exact' ? '=' : '~'}${q.value}`);
  return parts.join(', ');
}
