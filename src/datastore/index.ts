/**
 * The datastore room's public surface: what is known about pools and their endpoints — endpoint
 * state (scraped metrics, health, this gateway's in-flight accounting) and the pools' objectives.
 * It sits below scheduling and request control and knows nothing about either.
 */

export type { Endpoint } from './endpoint.js';
export { EndpointState } from './endpoint-state.js';
export {
  OBJECTIVE_HEADER,
  type ObjectiveChoice,
  PoolObjectives,
  UNKNOWN_MODELS_ANNOTATION,
  type UnknownModelPolicy,
} from './objectives.js';
