/**
 * A cumulative Prometheus histogram with fixed upper bounds (unit of the caller: vLLM's are seconds
 * or token counts). `observe` is a short binary search; rendering precomputes the `le` strings.
 */
import { goFloat } from './prom-format.js';

export class Histogram {
  readonly bounds: readonly number[];
  /** Per-bucket (non-cumulative) weights; the last slot is +Inf. */
  private readonly counts: Float64Array;
  private readonly leLabels: readonly string[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError('histogram bounds must increase');
    }
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
    this.leLabels = [...bounds.map(goFloat), '+Inf'];
  }

  /** Records `value` with weight `n` (n observations of the same value). */
  observe(value: number, n = 1): void {
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= this.bounds[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]! += n;
    this.sum += value * n;
    this.count += n;
  }

  /**
   * `name_bucket{…,le="…"}`, `name_sum{…}`, `name_count{…}` lines. `labelsPrefix` is the label list
   * without braces ('' or `model_name="m",engine="0"`); `le` goes last, as prometheus_client puts it.
   */
  render(name: string, labelsPrefix: string): string {
    let out = '';
    let cum = 0;
    const sep = labelsPrefix.length > 0 ? `${labelsPrefix},` : '';
    for (let i = 0; i < this.counts.length; i++) {
      cum += this.counts[i]!;
      out += `${name}_bucket{${sep}le="${this.leLabels[i]}"} ${goFloat(cum)}\n`;
    }
    const braces = labelsPrefix.length > 0 ? `{${labelsPrefix}}` : '';
    out += `${name}_count${braces} ${goFloat(this.count)}\n`;
    out += `${name}_sum${braces} ${goFloat(this.sum)}\n`;
    return out;
  }

  /** Approximate quantile (linear within the bucket), as Prometheus' histogram_quantile. */
  quantile(q: number): number {
    return quantileFromBuckets(this.bounds, cumulative(this.counts), q);
  }
}

function cumulative(counts: Float64Array): number[] {
  const out: number[] = [];
  let c = 0;
  for (let i = 0; i < counts.length; i++) {
    c += counts[i]!;
    out.push(c);
  }
  return out;
}

/**
 * histogram_quantile over upper bounds `bounds` and cumulative counts `cum` (one more entry than
 * bounds: +Inf). Returns the upper bound of the last finite bucket when the quantile lands in +Inf.
 */
export function quantileFromBuckets(bounds: readonly number[], cum: readonly number[], q: number): number {
  const total = cum[cum.length - 1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < cum.length; i++) {
    if (cum[i]! >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? Number.NaN;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : cum[i - 1]!;
      const inBucket = cum[i]! - below;
      return inBucket <= 0 ? bounds[i]! : lower + (bounds[i]! - lower) * ((rank - below) / inBucket);
    }
  }
  return bounds[bounds.length - 1] ?? Number.NaN;
}
