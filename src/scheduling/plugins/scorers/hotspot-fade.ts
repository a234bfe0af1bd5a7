/**
 * The prefix scorers' hot-spot guard: fades an affinity score on an endpoint whose load runs ahead of
 * the least-loaded candidate's, so prefix affinity never piles requests onto one replica.
 */
import type { SchedulingEndpoint } from '../../framework/endpoint.js';

export interface HotspotParams {
  /** Extra requests over the least-loaded candidate allowed before fading starts. */
  readonly imbalanceRequests: number;
  /** Or this fraction of the least-loaded candidate's requests, whichever is larger. */
  readonly imbalanceRatio: number;
  /** Extra KV-cache use (0–1) over the least-used candidate allowed before fading starts. */
  readonly imbalanceKv: number;
}

/** Multiplies each non-zero `out[i]` by a factor in [0, 1] from candidate i's excess load. */
export function fadeHotspots(
  candidates: readonly SchedulingEndpoint[],
  out: Float64Array,
  p: HotspotParams,
): void {
  const n = candidates.length;
  let minReq = Number.POSITIVE_INFINITY;
  let minKv = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const ep = candidates[i]!;
    const r = ep.estRequests();
    if (r < minReq) minReq = r;
    const kv = ep.estKvUsage();
    if (kv !== undefined && kv < minKv) minKv = kv;
  }
  const allowReq = Math.max(p.imbalanceRequests, p.imbalanceRatio * minReq);
  for (let i = 0; i < n; i++) {
    if (out[i] === 0) continue;
    const ep = candidates[i]!;
    let factor = fade(ep.estRequests() - minReq, allowReq);
    if (minKv !== Number.POSITIVE_INFINITY) {
      const kv = ep.estKvUsage();
      if (kv !== undefined) factor = Math.min(factor, fade(kv - minKv, p.imbalanceKv));
    }
    out[i] = out[i]! * factor;
  }
}

/** 1 up to `allow`, 0 from 2 × allow, linear between. */
function fade(excess: number, allow: number): number {
  if (excess <= allow) return 1;
  if (allow <= 0 || excess >= 2 * allow) return 0;
  return (2 * allow - excess) / allow;
}
