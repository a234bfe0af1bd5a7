/**
 * The figures a report shows, as flat keys (`ttft.mean`, `output_token_throughput` …) shared by
 * the comparison table, the JSON ratios, the HTML report and the scenarios' "document" columns.
 */
import type { TargetResult } from '../bench.js';
import type { PercentileMetric } from '../options.js';
import { type Distribution, percentileKey, type ServingMetrics } from '../stats.js';

export interface FigureRow {
  key: string;
  label: string;
  decimals: 0 | 2;
  /** Which direction is an improvement (for colouring ratios). */
  better: 'lower' | 'higher' | 'none';
}

/** Flat figures of one target; null when unknown (no scrape, no SLO). */
export type FigureValues = Record<string, number | null>;

const SECTION_NAMES: Record<PercentileMetric, string> = {
  ttft: 'TTFT',
  tpot: 'TPOT',
  itl: 'ITL',
  e2el: 'E2EL',
};

export interface FigureRowOptions {
  percentileMetrics: readonly PercentileMetric[];
  /** Percentiles shown besides mean and median. */
  percentiles: readonly number[];
  goodput: boolean;
}

export function figureRows(opts: FigureRowOptions): FigureRow[] {
  const rows: FigureRow[] = [
    { key: 'completed', label: 'Successful requests', decimals: 0, better: 'higher' },
    { key: 'failed', label: 'Failed requests', decimals: 0, better: 'lower' },
    { key: 'duration_s', label: 'Benchmark duration (s)', decimals: 2, better: 'none' },
    { key: 'total_input_tokens', label: 'Total input tokens', decimals: 0, better: 'none' },
    { key: 'total_output_tokens', label: 'Total generated tokens', decimals: 0, better: 'none' },
    { key: 'request_throughput', label: 'Request throughput (req/s)', decimals: 2, better: 'higher' },
  ];
  if (opts.goodput)
    rows.push({ key: 'request_goodput', label: 'Request goodput (req/s)', decimals: 2, better: 'higher' });
  rows.push(
    { key: 'input_token_throughput', label: 'Input token throughput (tok/s)', decimals: 2, better: 'higher' },
    {
      key: 'output_token_throughput',
      label: 'Output token throughput (tok/s)',
      decimals: 2,
      better: 'higher',
    },
    { key: 'total_token_throughput', label: 'Total Token throughput (tok/s)', decimals: 2, better: 'higher' },
  );
  for (const m of opts.percentileMetrics) {
    const n = SECTION_NAMES[m];
    rows.push(
      { key: `${m}.mean`, label: `Mean ${n} (ms)`, decimals: 2, better: 'lower' },
      { key: `${m}.median`, label: `Median ${n} (ms)`, decimals: 2, better: 'lower' },
    );
    for (const p of opts.percentiles) {
      const k = percentileKey(p);
      rows.push({ key: `${m}.${k}`, label: `${k.toUpperCase()} ${n} (ms)`, decimals: 2, better: 'lower' });
    }
  }
  rows.push(
    { key: 'prefix_cache_hit_rate', label: 'Prefix cache hit rate (%)', decimals: 2, better: 'higher' },
    {
      key: 'request_cache_hit_rate',
      label: 'Cached prompt tokens, first lookup (%)',
      decimals: 2,
      better: 'higher',
    },
    {
      key: 'prefix_cache_ideal_hit_rate',
      label: 'Ideal prefix cache hit rate (%)',
      decimals: 2,
      better: 'none',
    },
    { key: 'prefix_cache_vs_ideal', label: 'Hit rate / ideal', decimals: 2, better: 'higher' },
  );
  return rows;
}

function addDistribution(out: FigureValues, name: string, d: Distribution): void {
  out[`${name}.mean`] = d.mean;
  out[`${name}.median`] = d.median;
  out[`${name}.std`] = d.std;
  out[`${name}.p90`] = d.p90;
  out[`${name}.p99`] = d.p99;
  for (const [k, v] of Object.entries(d.percentiles)) out[`${name}.${k}`] = v;
}

/**
 * Counts and throughputs under their report names (JSON keys and figure keys alike): requests,
 * seconds, tokens, and per-second rates. Null when the metric is unknown (no goodput SLO).
 */
export function countFigures(m: ServingMetrics): FigureValues {
  return {
    completed: m.completed,
    failed: m.failed,
    duration_s: m.durationS,
    total_input_tokens: m.totalInputTokens,
    total_output_tokens: m.totalOutputTokens,
    request_throughput: m.requestThroughput,
    request_goodput: m.requestGoodput,
    input_token_throughput: m.inputTokenThroughput,
    output_token_throughput: m.outputTokenThroughput,
    total_token_throughput: m.totalTokenThroughput,
  };
}

export function figureValues(r: TargetResult): FigureValues {
  const m = r.metrics;
  const ideal = r.idealPrefixCache?.hitRate;
  const out: FigureValues = {
    ...countFigures(r.metrics),
    prefix_cache_hit_rate: r.prefixCache?.hitRate == null ? null : r.prefixCache.hitRate * 100,
    request_cache_hit_rate: r.requestCache ? r.requestCache.hitRate * 100 : null,
    prefix_cache_ideal_hit_rate: ideal == null ? null : ideal * 100,
    // Against the ideal, the requests' own first-lookup rate when the server reports it: the
    // replicas' counters also count lookups repeated after preemption.
    prefix_cache_vs_ideal: ratio(r.requestCache?.hitRate ?? r.prefixCache?.hitRate, ideal),
  };
  addDistribution(out, 'ttft', m.ttft);
  addDistribution(out, 'tpot', m.tpot);
  addDistribution(out, 'itl', m.itl);
  addDistribution(out, 'e2el', m.e2el);
  return out;
}

/** value / baseline, or null when either is unknown or the baseline is 0. */
export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (
    value == null ||
    baseline == null ||
    baseline === 0 ||
    !Number.isFinite(value) ||
    !Number.isFinite(baseline)
  ) {
    return null;
  }
  return value / baseline;
}
