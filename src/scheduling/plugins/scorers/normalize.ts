/** Shared normalisations for load scorers (in place over out[0 … n)). */

/** Lower is better: (max − v) / (max − min); all 1 when every value is equal. */
export function minMaxInverse(out: Float64Array, n: number): void {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = out[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  if (!(span > 0)) {
    out.fill(1, 0, n);
    return;
  }
  for (let i = 0; i < n; i++) out[i] = (max - out[i]!) / span;
}

/**
 * Lower is better, relative: (min + k) / (v + k). 1 for the least loaded; an endpoint with twice the
 * load of the least (plus smoothing k) scores ½. Small differences at high load stay small, unlike
 * min-max which turns 12 vs 13 into 1 vs 0.
 */
export function relativeInverse(out: Float64Array, n: number, k: number): void {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) if (out[i]! < min) min = out[i]!;
  if (!Number.isFinite(min)) {
    out.fill(1, 0, n);
    return;
  }
  for (let i = 0; i < n; i++) out[i] = (min + k) / (out[i]! + k);
}
