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

/** Request header asking the gateway to name the chosen endpoint in the response (value `endpoint`). */
export const DEBUG_HEADER = 'x-infergate-debug';
/** Response header carrying `decision.endpoints[0].id` when asked for. */
export const ENDPOINT_RESPONSE_HEADER = 'x-infergate-endpoint';
