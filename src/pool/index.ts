/** The pool room's public surface: the registry the gateway constructs, and the contract types. */

export { findModelValues, rewriteModel } from '../openai/model-rewrite.js';
export { AdmissionQueue } from './admission.js';
export { CHARS_PER_TOKEN, EndpointState, type MetricsFreshness } from './endpoint-state.js';
export {
  OBJECTIVE_HEADER,
  type ObjectiveChoice,
  PoolObjectives,
  UNKNOWN_MODELS_ANNOTATION,
  type UnknownModelPolicy,
} from './objectives.js';
export {
  createSchedulerRegistry,
  endpointId,
  type SchedulerRegistry,
  type SchedulerRegistryOptions,
} from './registry.js';
export { InferencePoolRouter } from './router.js';
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
