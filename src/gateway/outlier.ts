/**
 * Passive outlier detection for Service endpoints, as Envoy's (and Envoy Gateway's passive health
 * check) works: an endpoint that answers `consecutive5xx` times in a row with a 5xx status or a
 * connect/reset failure is ejected from balancing for `baseEjectionMs × (number of ejections)`
 * (capped at `maxEjectionMs`), unless that would eject more than `maxEjectionPercent` of the Service's
 * endpoints — at least one endpoint can always be ejected. An ejected endpoint returns on its own
 * when its time is up; its ejection count decays to zero after `maxEjectionMs` without an ejection.
 */
import type { UpstreamEndpoint } from './upstream-endpoint.js';

export interface OutlierOptions {
  /** Consecutive failures that eject an endpoint (0 disables outlier detection). */
  consecutive5xx: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** 0–100. */
  maxEjectionPercent: number;
}

/** Envoy's defaults (cluster.outlier_detection). */
export const DEFAULT_OUTLIER_OPTIONS: OutlierOptions = {
  consecutive5xx: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
};

export class OutlierDetector {
  constructor(
    private readonly opts: OutlierOptions,
    /** Told about each ejection (metrics, log). */
    private readonly onEject: (ep: UpstreamEndpoint, until: number) => void = () => undefined,
  ) {}

  success(ep: UpstreamEndpoint): void {
    ep.consecutiveFailures = 0;
  }

  /**
   * Counts a failure of `ep`, a member of `set` (the Service's endpoints). Returns true when it
   * ejected the endpoint.
   */
  failure(ep: UpstreamEndpoint, set: readonly UpstreamEndpoint[], now: number): boolean {
    const o = this.opts;
    if (o.consecutive5xx <= 0) return false;
    ep.consecutiveFailures++;
    if (ep.consecutiveFailures < o.consecutive5xx || ep.isEjected(now)) return false;
    let ejected = 0;
    for (let i = 0; i < set.length; i++) if (set[i]!.isEjected(now)) ejected++;
    if (ejected > 0 && ((ejected + 1) * 100) / set.length > o.maxEjectionPercent) return false;
    if (ep.ejections > 0 && now - ep.lastEjectedAt > o.maxEjectionMs) ep.ejections = 0;
    ep.ejections++;
    const duration = Math.min(o.baseEjectionMs * ep.ejections, Math.max(o.maxEjectionMs, o.baseEjectionMs));
    ep.ejectedUntil = now + duration;
    ep.lastEjectedAt = now;
    ep.consecutiveFailures = 0;
    this.onEject(ep, ep.ejectedUntil);
    return true;
  }
}
