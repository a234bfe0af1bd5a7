/**
 * The HTTP front door's public surface (used by the composition root in src/app, benchmarks and
 * tests). Everything else in src/gateway is internal.
 */

export { type ApplyResult, displayHost, Gateway, type GatewayDeps, type ListenerAddress } from './gateway.js';
export type { MirrorSummary } from './mirror-stats.js';
export { defaultGatewayOptions, type GatewayOptions, parseByteSize } from './options.js';
export { DEFAULT_OUTLIER_OPTIONS, type OutlierOptions } from './outlier.js';
export { actualPort, NO_PORT_MAPPING, PortMapError, type PortMapping, parsePortMap } from './ports.js';
