/**
 * How two plans differ, for a front door deciding how much to rebuild: when they differ only in
 * endpoint sets (pool and Service endpoints, the workloads behind them) and diagnostics — pod churn —
 * routes, routers and objectives can be kept and only the endpoints swapped.
 */
import type { Plan } from './plan.js';

const shapes = new WeakMap<Plan, string>();

/** True when `a` and `b` route alike: the same listeners, routes, Services, pools and their settings. */
export function differsOnlyInEndpoints(a: Plan, b: Plan): boolean {
  return a === b || routingShape(a) === routingShape(b);
}

/** Everything of a plan except endpoints and diagnostics, as one string (computed once per plan). */
function routingShape(plan: Plan): string {
  let shape = shapes.get(plan);
  if (shape !== undefined) return shape;
  const services = [...plan.services].map(([key, s]) => {
    const { endpointsByPort: _endpoints, workloads: _workloads, ...rest } = s;
    return [key, rest];
  });
  const pools = [...plan.pools].map(([key, p]) => {
    const { endpoints: _endpoints, workloads: _workloads, ...rest } = p;
    return [key, rest];
  });
  shape = JSON.stringify({
    listeners: plan.listeners,
    routes: plan.routes,
    services,
    pools,
    ignored: plan.ignored,
  });
  shapes.set(plan, shape);
  return shape;
}
