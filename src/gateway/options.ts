/**
 * Options of the gateway process (`infergate serve` flags map onto these one to one; see
 * docs/gateway.md). Durations in milliseconds, sizes in bytes; 0 disables a timeout.
 */
import type { ServiceLbPolicy } from '../config/plan.js';
import type { AccessLogTarget } from '../telemetry/access-log.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_OUTLIER_OPTIONS, type OutlierOptions } from './outlier.js';
import { NO_PORT_MAPPING, type PortMapping } from './ports.js';

export interface GatewayOptions {
  /** Bind address of every listener and the admin port. */
  host: string;
  ports: PortMapping;
  /** Admin port (metrics, health, summaries); 0 = OS-chosen; -1 = no admin server. */
  adminPort: number;
  /**
   * Bind address of the admin port (default 127.0.0.1: `/admin/plan` lists every endpoint). Any
   * other address than 127.0.0.1, ::1 or localhost requires `adminToken`.
   */
  adminHost: string;
  /** Bearer token every admin request must carry (`Authorization: Bearer <token>`); undefined = none. */
  adminToken?: string;
  /** Longest time to receive a request's headers (ms); Node's `headersTimeout`. 0 = none. */
  headersTimeoutMs: number;
  /** Longest time to receive a whole request, headers and body (ms); Node's `requestTimeout`. 0 = none. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (ms). */
  keepAliveTimeoutMs: number;
  /** Open connections per listener socket; further connections are closed at once. 0 = no limit. */
  maxConnections: number;
  /** Service balancing unless a BackendTrafficPolicy of the Gateway says otherwise. */
  serviceLb: ServiceLbPolicy;
  /** Largest request body read (bigger: 413). */
  maxBodyBytes: number;
  /** Request timeout when neither the HTTPRoute nor a BackendTrafficPolicy sets one; 0 = none. */
  requestTimeoutMs: number;
  /** Longest wait for the next byte from upstream (response headers, then between body chunks); 0 = none. */
  idleTimeoutMs: number;
  /** Upstream attempts per request (1 = no retries). Retries happen only before any response byte. */
  maxAttempts: number;
  /** Mirror copies in flight per mirror backend; beyond it copies are dropped and counted. */
  mirrorConcurrency: number;
  /** A mirror copy is abandoned after this long (it never affects the primary); 0 = none. */
  mirrorTimeoutMs: number;
  /** Abort a mirror copy when the client of the primary disconnects. */
  mirrorFollowsClientAbort: boolean;
  outlier: OutlierOptions;
  /** Seed of the weighted backend draws and balancing (tests); undefined = random. */
  seed?: number;
  accessLog: AccessLogTarget;
  logger: Logger;
  /** Add `x-infergate-endpoint` (an internal address) to every response; off: never sent. */
  debugHeaders: boolean;
}

export function defaultGatewayOptions(logger: Logger): GatewayOptions {
  return {
    host: '0.0.0.0',
    ports: NO_PORT_MAPPING,
    adminPort: 9090,
    adminHost: '127.0.0.1',
    headersTimeoutMs: 10_000,
    bodyTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
    maxConnections: 10_000,
    serviceLb: 'least-request',
    maxBodyBytes: 32 * 1024 * 1024,
    requestTimeoutMs: 0,
    idleTimeoutMs: 300_000,
    maxAttempts: 3,
    mirrorConcurrency: 64,
    mirrorTimeoutMs: 300_000,
    mirrorFollowsClientAbort: false,
    outlier: DEFAULT_OUTLIER_OPTIONS,
    accessLog: { kind: 'stderr' },
    logger,
    debugHeaders: false,
  };
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|k|m|g)?$/i;
const UNIT: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `32MiB`, `512k`, `1048576` → bytes; undefined when the text is not a size. */
export function parseByteSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (UNIT[(m[2] ?? 'b').toLowerCase()] ?? 1);
  return Number.isFinite(n) ? Math.floor(n) : undefined;
}

/** Admin bind addresses that need no token (only this machine can reach them). */
export function isLocalAdminHost(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}
