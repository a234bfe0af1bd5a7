/**
 * The gateway room's public surface (used by `infergate serve`, `infergate demo`, benchmarks and
 * tests). Everything else in src/gateway is internal.
 */

export {
  createLeastRequestPoolRegistry,
  LeastRequestPoolRegistry,
  type PoolRouterRegistryFactory,
} from '../requestcontrol/least-request-router.js';
export { type DemoOptions, demoManifests, runDemo } from './demo.js';
export { type ApplyResult, displayHost, Gateway, type ListenerAddress } from './gateway.js';
export type { MirrorSummary } from './mirror-stats.js';
export { defaultGatewayOptions, type GatewayOptions, parseByteSize } from './options.js';
export { DEFAULT_OUTLIER_OPTIONS, type OutlierOptions } from './outlier.js';
export { actualPort, NO_PORT_MAPPING, PortMapError, type PortMapping, parsePortMap } from './ports.js';
export {
  type PlanLoadResult,
  readyLines,
  runServe,
  type ServeHandle,
  type ServeOptions,
  startServe,
} from './serve.js';
export { ConfigWatcher } from './watcher.js';
