/**
 * What a request (Exchange) and a mirror copy need from the gateway process. Implemented by Gateway;
 * kept as an interface so the per-request code does not depend on lifecycle code.
 */
import type { PoolRouterRegistry } from '../requestcontrol/types.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { GatewayMetrics } from '../telemetry/metrics.js';
import type { Logger } from '../util/log.js';
import type { Rng } from '../util/rng.js';
import type { Exchange } from './exchange.js';
import type { MirrorDispatcher } from './mirror.js';
import type { GatewayOptions } from './options.js';
import type { OutlierDetector } from './outlier.js';
import type { GatewayState } from './state.js';
import type { EndpointRegistry } from './upstream-endpoint.js';

export interface GatewayContext {
  readonly opts: GatewayOptions;
  readonly metrics: GatewayMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  readonly pools: PoolRouterRegistry;
  readonly endpoints: EndpointRegistry;
  readonly outlier: OutlierDetector;
  readonly rng: Rng;
  readonly mirrors: MirrorDispatcher;
  /** The plan being served now (undefined before the first plan). */
  readonly state: GatewayState | undefined;
  /** True once draining started: responses close their connection. */
  readonly draining: boolean;
  track(ex: Exchange): void;
  untrack(ex: Exchange): void;
}
