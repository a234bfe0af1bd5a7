/**
 * The request-control room's public surface: the routing contracts (types.ts), the scheduler-backed
 * pool routers (router, admission / flow-control queue, scheduler registry and telemetry) and the
 * least-request fallback used when no scheduler is configured.
 */

export { AdmissionQueue } from './admission.js';
export {
  createLeastRequestPoolRegistry,
  LeastRequestPoolRegistry,
  type PoolRouterRegistryFactory,
} from './least-request-router.js';
export { InferencePoolRouter } from './router.js';
export {
  createSchedulerRegistry,
  endpointId,
  type SchedulerRegistry,
  type SchedulerRegistryOptions,
} from './scheduler-registry.js';
export type {
  Endpoint,
  InferenceRequest,
  PoolRouter,
  PoolRouterRegistry,
  RequestOutcome,
  RoutingDecision,
} from './types.js';

/**
 * Response header naming the endpoint that answered. An internal address: front doors add it only
 * when the operator turned debug output on (`serve --debug-headers`, `epp --debug-headers`); no
 * request header can ask for it.
 */
export const ENDPOINT_RESPONSE_HEADER = 'x-infergate-endpoint';
/** One-line JSON of the scheduling decision (debug output only, as ENDPOINT_RESPONSE_HEADER). */
export const DECISION_RESPONSE_HEADER = 'x-infergate-decision';
