/**
 * The machine-readable form of a Plan (`infergate validate --output json`): the same structure with
 * Maps turned into objects keyed like the Maps (`namespace/name`, Service port numbers).
 */
import type { Plan, ServicePlan } from './plan.js';

export function planToJSON(plan: Plan): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const [key, svc] of plan.services) services[key] = serviceToJSON(svc);
  const pools: Record<string, unknown> = {};
  for (const [key, pool] of plan.pools) pools[key] = pool;
  return {
    listeners: plan.listeners,
    routes: plan.routes,
    services,
    pools,
    ignored: plan.ignored,
    diagnostics: plan.diagnostics,
  };
}

function serviceToJSON(svc: ServicePlan): Record<string, unknown> {
  const endpointsByPort: Record<string, unknown> = {};
  for (const [port, eps] of svc.endpointsByPort) endpointsByPort[String(port)] = eps;
  return { ...svc, endpointsByPort };
}
