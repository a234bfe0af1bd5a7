/**
 * Saturation, as the reference endpoint picker's saturation detector defines it: an endpoint is
 * saturated when its waiting queue reaches `queueDepthThreshold` or its KV cache reaches
 * `kvCacheUtilThreshold`, or when its metrics are older than `metricsStalenessThresholdMs` (stale
 * metrics are not trusted). Queue and KV are the estimates of SchedulingEndpoint: the last scrape plus
 * what this gateway dispatched since. An endpoint that never exported metrics (none yet, or an engine
 * without a metrics page) is judged by nothing and so is never saturated.
 *
 * Used twice: by the admission controller (every candidate saturated → shed or queue) and by the
 * `saturation-filter` plugin (drop saturated endpoints while others remain).
 */
import type { SchedulingEndpoint } from './framework/endpoint.js';

export interface SaturationConfig {
  /** Waiting requests at which an endpoint is saturated (reference default 5). */
  readonly queueDepthThreshold: number;
  /** KV-cache utilisation in (0, 1] at which an endpoint is saturated (reference default 0.8). */
  readonly kvCacheUtilThreshold: number;
  /** Metrics older than this (ms) count as saturated (reference default 200). */
  readonly metricsStalenessThresholdMs: number;
}

export const DEFAULT_SATURATION: SaturationConfig = Object.freeze({
  queueDepthThreshold: 5,
  kvCacheUtilThreshold: 0.8,
  metricsStalenessThresholdMs: 200,
});

export function isSaturated(ep: SchedulingEndpoint, now: number, cfg: SaturationConfig): boolean {
  const m = ep.metrics;
  if (m === undefined) return false;
  if (now - ep.metricsAt > cfg.metricsStalenessThresholdMs) return true;
  if (ep.estWaiting() >= cfg.queueDepthThreshold) return true;
  const kv = ep.estKvUsage();
  return kv !== undefined && kv >= cfg.kvCacheUtilThreshold;
}

/** True when every endpoint in the list is saturated (false for an empty list). */
export function allSaturated(
  eps: readonly SchedulingEndpoint[],
  now: number,
  cfg: SaturationConfig,
): boolean {
  if (eps.length === 0) return false;
  for (let i = 0; i < eps.length; i++) if (!isSaturated(eps[i]!, now, cfg)) return false;
  return true;
}
