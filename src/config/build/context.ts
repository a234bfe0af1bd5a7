/**
 * Shared state of one plan build: the loaded objects, the diagnostics sink, and the plan parts built
 * so far. Listeners are built first, routes then attach to them, policies amend both, and the
 * drafts are frozen into the Plan at the end.
 */
import type { LabelSelector } from '../../util/labels.js';
import type { DiagnosticSink } from '../diagnostics.js';
import type { ObjectStore } from '../objects.js';
import type { ListenerPlan, PoolPlan, RoutePlan, RulePlan, ServiceLbPolicy, ServicePlan } from '../plan.js';
import type { EndpointIndex } from './endpoints.js';

export interface ListenerDraft extends Omit<ListenerPlan, 'routeKeys' | 'requestTimeoutMs' | 'loadBalancer'> {
  routeKeys: string[];
  requestTimeoutMs?: number;
  loadBalancer?: ServiceLbPolicy;
  /** Gateway API `allowedRoutes.namespaces.from` (Istio listeners accept routes from everywhere). */
  allowedFrom: 'All' | 'Same' | 'Selector';
  allowedSelector?: LabelSelector;
  /** False when `allowedRoutes.kinds` leaves out HTTPRoute. */
  allowsHTTPRoute: boolean;
  /** Index in the Gateway's listeners (or Istio servers), for diagnostics. */
  index: number;
}

export interface RouteDraft extends Omit<RoutePlan, 'listenerKeys' | 'rules' | 'loadBalancer'> {
  listenerKeys: string[];
  rules: RulePlan[];
  loadBalancer?: ServiceLbPolicy;
}

export interface BuildContext {
  store: ObjectStore;
  sink: DiagnosticSink;
  endpoints: EndpointIndex;
  /** In load order of their Gateways. */
  listeners: ListenerDraft[];
  /** `Gateway ns/name` or `IstioGateway ns/name` → its served listeners. */
  listenersByGateway: Map<string, ListenerDraft[]>;
  routes: RouteDraft[];
  services: Map<string, ServicePlan>;
  pools: Map<string, PoolPlan>;
}

/** Key of a Gateway in `listenersByGateway`. */
export function gatewayKey(kind: 'Gateway' | 'IstioGateway', namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}
