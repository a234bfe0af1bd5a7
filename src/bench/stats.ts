/**
 * Serving statistics, computed exactly as vLLM's benchmark does (vllm/benchmarks/serve.py,
 * `calculate_metrics`), as pure functions over per-request outcomes:
 * - TTFT: send → first stream chunk with non-empty `choices`.
 * - E2E latency: send → last chunk with non-empty `choices` (the usage chunk does not count).
 * - TPOT per request: (latency − TTFT) / (output tokens − 1), only for requests with > 1 output token.
 * - ITL: every gap between consecutive token chunks, pooled over all requests.
 * - Percentiles: linear interpolation between closest ranks (numpy.percentile's default).
 * - Throughputs: totals over the benchmark duration; only successful requests count.
 * - Goodput: successful requests meeting every given SLO (TPOT counts as 0 for ≤ 1 output token).
 * All times are milliseconds. Empty samples summarise to zeros, as vLLM prints them.
 */

/** Mean, spread and percentiles of one latency sample, in ms. */
export interface Distribution {
  count: number;
  mean: number;
  std: number;
  median: number;
  p90: number;
  p99: number;
  /** Extra percentiles asked for (`--metric-percentiles`), keyed like `p95`, `p99.9`. */
  percentiles: Record<string, number>;
}

/** What the load generator recorded for one request (times in ms since the request was sent). */
export interface RequestOutcome {
  success: boolean;
  /** NaN when no token chunk arrived. */
  ttftMs: number;
  /** Time of the last token chunk; NaN when none arrived. */
  latencyMs: number;
  promptTokens: number;
  outputTokens: number;
  /** Why it failed: an HTTP status ("503") or a client-side reason ("aborted", "timeout", "network" …). */
  error?: string | undefined;
}

/** Service-level objectives for goodput, in ms (vLLM's `--goodput ttft:MS tpot:MS e2el:MS`). */
export interface Slo {
  ttftMs?: number | undefined;
  tpotMs?: number | undefined;
  e2elMs?: number | undefined;
}

export interface ServingMetrics {
  completed: number;
  failed: number;
  durationS: number;
  totalInputTokens: number;
  totalOutputTokens: number;
  /** Requests / s. */
  requestThroughput: number;
  /** Good requests / s; null when no SLO was given. */
  requestGoodput: number | null;
  inputTokenThroughput: number;
  outputTokenThroughput: number;
  totalTokenThroughput: number;
  ttft: Distribution;
  tpot: Distribution;
  itl: Distribution;
  e2el: Distribution;
  /** Failed requests by reason (see RequestOutcome.error). */
  errors: Record<string, number>;
}

export interface MetricsOptions {
  slo?: Slo | undefined;
  /** Percentiles beyond median/p90/p99 to report, e.g. [95, 99.9]. */
  percentiles?: readonly number[] | undefined;
  /**
   * The targets' time scale (a simulator at `--time-scale 0.01` runs 100× faster than real time):
   * every time is divided by it and every rate multiplied, so figures read in the targets' own
   * time. 1 for real servers.
   */
  timeScale?: number | undefined;
}

/**
 * The p-th percentile (0–100) of an ascending-sorted sample, interpolating linearly between the
 * two closest ranks like numpy.percentile: rank = p/100 × (n − 1). 0 for an empty sample.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0]!;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  if (hi === lo) return a;
  return a + (sorted[hi]! - a) * (rank - lo);
}

/** `p99` for 99, `p99.9` for 99.9 (vLLM's naming). */
export function percentileKey(p: number): string {
  return `p${Number.isInteger(p) ? p.toFixed(0) : String(p)}`;
}

/**
 * Summary of a sample (any order; it is copied, not modified). `scale` multiplies every result
 * (used to convert wall ms to the targets' time).
 */
export function summarize(
  values: ArrayLike<number>,
  extraPercentiles: readonly number[] = [],
  scale = 1,
): Distribution {
  const n = values.length;
  const sorted = Float64Array.from(values as ArrayLike<number>);
  sorted.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    sq += d * d;
  }
  const percentiles: Record<string, number> = {};
  for (const p of extraPercentiles) percentiles[percentileKey(p)] = percentile(sorted, p) * scale;
  return {
    count: n,
    mean: mean * scale,
    std: (n > 0 ? Math.sqrt(sq / n) : 0) * scale,
    median: percentile(sorted, 50) * scale,
    p90: percentile(sorted, 90) * scale,
    p99: percentile(sorted, 99) * scale,
    percentiles,
  };
}

/**
 * vLLM's calculate_metrics over one run. `itlMs` is the pooled inter-token gaps of the successful
 * requests; `durationMs` the benchmark duration (first send → last request settled).
 */
export function calculateMetrics(
  outcomes: readonly RequestOutcome[],
  itlMs: ArrayLike<number>,
  durationMs: number,
  opts: MetricsOptions = {},
): ServingMetrics {
  const scale = opts.timeScale && opts.timeScale > 0 ? opts.timeScale : 1;
  const toTarget = 1 / scale;
  const extra = opts.percentiles ?? [];
  const slo = opts.slo;
  const ttfts: number[] = [];
  const tpots: number[] = [];
  const e2els: number[] = [];
  const errors: Record<string, number> = {};
  let completed = 0;
  let good = 0;
  let totalInput = 0;
  let totalOutput = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (!o.success) {
      const key = o.error ?? 'unknown';
      errors[key] = (errors[key] ?? 0) + 1;
      continue;
    }
    completed++;
    totalInput += o.promptTokens;
    totalOutput += o.outputTokens;
    ttfts.push(o.ttftMs);
    e2els.push(o.latencyMs);
    let tpot = 0;
    if (o.outputTokens > 1) {
      tpot = (o.latencyMs - o.ttftMs) / (o.outputTokens - 1);
      tpots.push(tpot);
    }
    if (slo) {
      // SLOs are in the targets' time; compare in the same units.
      const ok =
        (slo.ttftMs === undefined || o.ttftMs * toTarget <= slo.ttftMs) &&
        (slo.tpotMs === undefined || tpot * toTarget <= slo.tpotMs) &&
        (slo.e2elMs === undefined || o.latencyMs * toTarget <= slo.e2elMs);
      if (ok) good++;
    }
  }
  const durationS = (durationMs / 1000) * toTarget;
  const per = (x: number): number => (durationS > 0 ? x / durationS : 0);
  return {
    completed,
    failed: outcomes.length - completed,
    durationS,
    totalInputTokens: totalInput,
    totalOutputTokens: totalOutput,
    requestThroughput: per(completed),
    requestGoodput: slo ? per(good) : null,
    inputTokenThroughput: per(totalInput),
    outputTokenThroughput: per(totalOutput),
    totalTokenThroughput: per(totalInput + totalOutput),
    ttft: summarize(ttfts, extra, toTarget),
    tpot: summarize(tpots, extra, toTarget),
    itl: summarize(itlMs, extra, toTarget),
    e2el: summarize(e2els, extra, toTarget),
    errors,
  };
}

/** Parses vLLM's goodput spec: `ttft:500 tpot:50 e2el:10000` (ms; one or more, space or comma separated). */
export function parseSlo(spec: readonly string[] | string): Slo | { error: string } {
  const parts = (Array.isArray(spec) ? spec.join(' ') : (spec as string)).split(/[\s,]+/).filter(Boolean);
  const slo: Slo = {};
  for (const part of parts) {
    const [name, raw, ...rest] = part.split(':');
    const value = Number(raw);
    if (rest.length > 0 || raw === undefined || raw === '' || !Number.isFinite(value) || value < 0) {
      return { error: `"${part}" is not NAME:MILLISECONDS with a non-negative number` };
    }
    if (name === 'ttft') slo.ttftMs = value;
    else if (name === 'tpot') slo.tpotMs = value;
    else if (name === 'e2el') slo.e2elMs = value;
    else return { error: `"${name}" is not one of ttft, tpot, e2el` };
  }
  if (parts.length === 0) return { error: 'needs at least one NAME:MILLISECONDS pair' };
  return slo;
}

/** Figures of one slice of the requests (one adapter, one objective …). */
export interface GroupStats {
  completed: number;
  failed: number;
  errors: Record<string, number>;
  ttft: Distribution;
  tpot: Distribution;
  e2el: Distribution;
}

/**
 * Per-slice statistics: requests are grouped by `key` (those with an undefined key are left out).
 * Keys come out sorted.
 */
export function breakdown<T extends RequestOutcome>(
  outcomes: readonly T[],
  key: (o: T) => string | undefined,
  opts: MetricsOptions = {},
): Record<string, GroupStats> {
  const groups = new Map<string, T[]>();
  for (const o of outcomes) {
    const k = key(o);
    if (k === undefined) continue;
    let list = groups.get(k);
    if (!list) {
      list = [];
      groups.set(k, list);
    }
    list.push(o);
  }
  const out: Record<string, GroupStats> = {};
  for (const k of [...groups.keys()].sort()) {
    const m = calculateMetrics(groups.get(k)!, [], 0, opts);
    out[k] = {
      completed: m.completed,
      failed: m.failed,
      errors: m.errors,
      ttft: m.ttft,
      tpot: m.tpot,
      e2el: m.e2el,
    };
  }
  return out;
}
