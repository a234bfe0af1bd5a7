/**
 * What a request (Exchange) and a mirror copy need from the gateway process. Implemented by Gateway;
 * kept as an interface so the per-request code does not depend on lifecycle code.
 */
import type { PoolRouterRegistry } from '../requestcontrol/types.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { Logger } from '../util/log.js';
import type { Rng } from '../util/rng.js';
import type { MirrorDispatcher } from './mirror.js';
import type { GatewayOptions } from './options.js';
import type { OutlierDetector } from './outlier.js';
import type { GatewayState } from './state.js';
import type { UpstreamEndpointTable } from './upstream-endpoint.js';

/** Why a request was cut short by the gateway. */
export type AbortReason = 'client-abort' | 'timeout' | 'shutdown';

/** A request in flight, as the process sees it: something it can cut short at shutdown. */
export interface InFlightRequest {
  cancel(reason: AbortReason): void;
}

export interface GatewayContext {
  readonly opts: GatewayOptions;
  readonly metrics: GatewayMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  readonly pools: PoolRouterRegistry;
  readonly endpoints: UpstreamEndpointTable;
  readonly outlier: OutlierDetector;
  readonly rng: Rng;
  readonly mirrors: MirrorDispatcher;
  /** The plan being served now (undefined before the first plan). */
  readonly state: GatewayState | undefined;
  /** True once draining started: responses close their connection. */
  readonly draining: boolean;
  track(r: InFlightRequest): void;
  untrack(r: InFlightRequest): void;
}
