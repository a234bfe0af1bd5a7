/**
 * The recent past of the gateway's own counters and histograms, for the live page: once a second,
 * while someone is looking, the families the page shows are read from the process Registry (as a
 * Prometheus scrape would read them) and kept for `keepSeconds`. Rates and percentiles over any span
 * inside that window are differences of two samples, as PromQL's rate() and histogram_quantile() do.
 * Nothing runs on the request path; when nobody looks, the sampler stops.
 */
import type { Registry } from 'prom-client';

/** The families the page reads (infergate's own names; the dashboard uses the same). */
export const PAGE_FAMILIES = [
  'infergate_requests_total',
  'infergate_prompt_tokens_total',
  'infergate_completion_tokens_total',
  'infergate_time_to_first_token_seconds',
  'infergate_time_per_output_token_seconds',
  'infergate_shed_total',
  'infergate_scheduler_picks_total',
  'infergate_prefix_index_lookups_total',
  'infergate_prefix_index_hits_total',
] as const;

export interface SeriesValue {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * One reading of every page family: sample name (`…_bucket` included) → series key → value. The key
 * joins the labels in the order the metric reports them (the same for every reading of a metric).
 */
export interface MetricSample {
  /** Wall-clock ms. */
  readonly t: number;
  readonly series: ReadonlyMap<string, ReadonlyMap<string, SeriesValue>>;
  /** Extra per-sample readings from the sampler's `extra` hook (e.g. replica prefix-cache counters). */
  readonly extra: ReadonlyMap<string, number>;
}

export interface MetricsWindowOptions {
  readonly registry: Registry;
  /** Seconds between samples. Default 1. */
  readonly intervalSeconds?: number;
  /** Seconds of history kept. Default 300. */
  readonly keepSeconds?: number;
  /** The sampler stops this long after the last look, ms. Default 30,000. */
  readonly idleStopMs?: number;
  /** Additional numbers read with each sample (cumulative counters keyed by name). */
  readonly extra?: () => ReadonlyMap<string, number>;
  readonly families?: readonly string[];
}

interface MetricJson {
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[];
}

export class MetricsWindow {
  private readonly samples: MetricSample[] = [];
  private readonly intervalMs: number;
  private readonly keep: number;
  private readonly idleStopMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastLook = 0;
  private sampling: Promise<void> | undefined;

  constructor(private readonly opts: MetricsWindowOptions) {
    this.intervalMs = (opts.intervalSeconds ?? 1) * 1000;
    this.keep = Math.max(2, Math.ceil((opts.keepSeconds ?? 300) / (opts.intervalSeconds ?? 1)) + 1);
    this.idleStopMs = opts.idleStopMs ?? 30_000;
  }

  /** Someone looked: keep sampling (the first look takes a sample at once; await it for a fresh one). */
  async watch(): Promise<void> {
    this.lastLook = performance.now();
    if (this.timer === undefined) {
      this.timer = setInterval(this.tick, this.intervalMs);
      this.timer.unref();
      await this.sample();
    } else if (this.sampling) await this.sampling;
  }

  /** Samples held, oldest first. */
  get history(): readonly MetricSample[] {
    return this.samples;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the page families now and appends the sample. */
  sample(): Promise<void> {
    this.sampling ??= this.read().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private readonly tick = (): void => {
    if (performance.now() - this.lastLook > this.idleStopMs) {
      this.stop();
      return;
    }
    void this.sample();
  };

  private async read(): Promise<void> {
    const series = new Map<string, Map<string, SeriesValue>>();
    for (const family of this.opts.families ?? PAGE_FAMILIES) {
      const metric = this.opts.registry.getSingleMetric(family) as unknown as
        | { get(): Promise<MetricJson> | MetricJson }
        | undefined;
      if (!metric) continue;
      const json = await metric.get();
      for (const v of json.values) {
        const name = v.metricName ?? family;
        let byKey = series.get(name);
        if (byKey === undefined) {
          byKey = new Map();
          series.set(name, byKey);
        }
        const labels: Record<string, string> = {};
        let key = '';
        for (const k in v.labels) {
          const x = String(v.labels[k]);
          labels[k] = x;
          key += `${k}=${x}\u0000`;
        }
        byKey.set(key, { labels, value: v.value });
      }
    }
    const extra = this.opts.extra?.() ?? new Map<string, number>();
    this.samples.push({ t: Date.now(), series, extra });
    while (this.samples.length > this.keep) this.samples.shift();
  }
}

/**
 * Increase of every series of `name` between two samples, grouped by `groupBy(labels)` (undefined
 * drops the series). A series absent from `from` counts from 0 (a counter born in between); a value
 * that went down (counter reset) counts from 0 too, as PromQL's increase() does.
 */
export function increaseBy(
  from: MetricSample,
  to: MetricSample,
  name: string,
  groupBy: (labels: Readonly<Record<string, string>>) => string | undefined,
): Map<string, number> {
  const out = new Map<string, number>();
  const before = from.series.get(name);
  for (const [key, s] of to.series.get(name) ?? []) {
    const group = groupBy(s.labels);
    if (group === undefined) continue;
    const b = before?.get(key)?.value ?? 0;
    const d = s.value >= b ? s.value - b : s.value;
    out.set(group, (out.get(group) ?? 0) + d);
  }
  return out;
}

/** Cumulative bucket counts (`le` → count, +Inf included) of a histogram's increase, grouped. */
export function bucketIncreaseBy(
  from: MetricSample,
  to: MetricSample,
  histogram: string,
  groupBy: (labels: Readonly<Record<string, string>>) => string | undefined,
): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const inc = increaseBy(from, to, `${histogram}_bucket`, (l) => {
    const g = groupBy(l);
    return g === undefined ? undefined : `${g}\u0001${l.le}`;
  });
  for (const [k, v] of inc) {
    const cut = k.lastIndexOf('\u0001');
    const group = k.slice(0, cut);
    const le = k.slice(cut + 1);
    let buckets = out.get(group);
    if (buckets === undefined) {
      buckets = new Map();
      out.set(group, buckets);
    }
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v);
  }
  return out;
}

/**
 * The q-quantile (0–1) of cumulative bucket counts, interpolated linearly inside the bucket as
 * Prometheus's histogram_quantile() does; undefined when there are no observations. A quantile in
 * the +Inf bucket answers the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return undefined;
  const total = buckets.get(bounds[bounds.length - 1]!) ?? 0;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = buckets.get(b)!;
    if (c >= rank) {
      if (b === Number.POSITIVE_INFINITY) return prevBound;
      if (c === prevCount) return b;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / (c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}
