/**
 * Reading the targets' model servers (vLLM or the simulator) through their Prometheus /metrics:
 * a snapshot before and after each run for the prefix-cache hit rate and the requests each replica
 * served, and a sampler during the run (running / waiting / swapped / KV-cache usage / preemptions
 * per replica) for the
 * report's per-replica load charts. Scrapes never fail a run: an unreachable replica is noted.
 *
 * Prefix-cache hit rate over a run = Δ vllm:prefix_cache_hits_total / Δ vllm:prefix_cache_queries_total
 * (vLLM V1 counters, in tokens), summed over replicas. A V0 server only exposes the gauge
 * vllm:gpu_prefix_cache_hit_rate (its own running rate): then the mean of the replicas' gauges after
 * the run is reported, marked as such.
 *
 * infergate's own simulator also exposes `sim_time_scale` and `sim_falling_behind`: the benchmark
 * uses them to warn when --time-scale does not match the replicas, or when a replica fell behind
 * its own schedule during the run (its timing figures are then distorted).
 */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { parsePrometheusText, sumSamples } from '../scraping/promtext.js';

export interface ReplicaSnapshot {
  /** The /metrics URL. */
  url: string;
  /** Absent when the scrape worked. */
  error?: string | undefined;
  prefixQueries?: number | undefined;
  prefixHits?: number | undefined;
  /** V0's gauge (0–1). */
  prefixHitRateGauge?: number | undefined;
  requestSuccess?: number | undefined;
  running?: number | undefined;
  waiting?: number | undefined;
  /** V0 only: requests whose KV is swapped to CPU memory. */
  swapped?: number | undefined;
  /** vllm:num_preemptions_total (cumulative). */
  preemptions?: number | undefined;
  /** 0–1 (V1 kv_cache_usage_perc, V0 gpu_cache_usage_perc). */
  kvUsage?: number | undefined;
  /** Tokens per KV block (`vllm:cache_config_info{block_size}`). */
  blockSize?: number | undefined;
  /** infergate's simulator only: its --time-scale. */
  simTimeScale?: number | undefined;
  /** infergate's simulator only: 1 while it emits tokens later than scheduled. */
  simFallingBehind?: number | undefined;
}

/** One sampler tick: a value per replica (undefined when that scrape failed). */
export interface TimelineSample {
  /** Wall ms since the run started. */
  tMs: number;
  running: (number | undefined)[];
  waiting: (number | undefined)[];
  kvUsage: (number | undefined)[];
  /** Cumulative successes per replica (for requests-per-interval). */
  requestSuccess: (number | undefined)[];
  /** Cumulative preemptions per replica (vllm:num_preemptions_total); absent in older reports. */
  preemptions?: (number | undefined)[];
  /** V0 servers: requests swapped to CPU memory per replica; absent in older reports. */
  swapped?: (number | undefined)[];
  /** The simulator's falling-behind flag per replica (undefined for real servers). */
  fallingBehind: (number | undefined)[];
}

export interface ReplicaLoad {
  url: string;
  /** Δ vllm:request_success_total over the run; null when unknown. */
  requests: number | null;
  prefixQueries: number | null;
  prefixHits: number | null;
  hitRate: number | null;
  error?: string | undefined;
}

export interface PrefixCacheResult {
  /** 0–1, or null when no replica exposed prefix-cache metrics. */
  hitRate: number | null;
  source: 'v1-counters' | 'v0-gauge' | 'none';
  replicas: ReplicaLoad[];
}

/** `http://h:p` → `http://h:p/metrics`; a URL with a path is used as is. */
export function metricsUrl(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/metrics';
  return u.toString();
}

/** The largest value among a gauge's series (for per-process gauges that must not be summed). */
function maxSample(
  families: ReturnType<typeof parsePrometheusText>['families'],
  name: string,
): number | undefined {
  const samples = families.get(name)?.samples;
  if (!samples || samples.length === 0) return undefined;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of samples) if (s.value > max) max = s.value;
  return max;
}

/** A numeric label of an info metric's first series (`vllm:cache_config_info{block_size="16"}`). */
function labelNumber(
  families: ReturnType<typeof parsePrometheusText>['families'],
  name: string,
  label: string,
): number | undefined {
  const raw = families.get(name)?.samples[0]?.labels[label];
  const v = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(v) ? v : undefined;
}

/** Reads the figures the benchmark uses from one /metrics text. */
export function readSnapshot(url: string, text: string): ReplicaSnapshot {
  const { families } = parsePrometheusText(text);
  return {
    url,
    prefixQueries: sumSamples(families, 'vllm:prefix_cache_queries_total'),
    prefixHits: sumSamples(families, 'vllm:prefix_cache_hits_total'),
    prefixHitRateGauge: sumSamples(families, 'vllm:gpu_prefix_cache_hit_rate'),
    requestSuccess: sumSamples(families, 'vllm:request_success_total'),
    running: sumSamples(families, 'vllm:num_requests_running'),
    waiting: sumSamples(families, 'vllm:num_requests_waiting'),
    swapped: sumSamples(families, 'vllm:num_requests_swapped'),
    preemptions: sumSamples(families, 'vllm:num_preemptions_total'),
    kvUsage:
      sumSamples(families, 'vllm:kv_cache_usage_perc') ?? sumSamples(families, 'vllm:gpu_cache_usage_perc'),
    blockSize: labelNumber(families, 'vllm:cache_config_info', 'block_size'),
    simTimeScale: maxSample(families, 'sim_time_scale'),
    simFallingBehind: maxSample(families, 'sim_falling_behind'),
  };
}

export async function scrape(url: string, timeoutMs = 2000): Promise<ReplicaSnapshot> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { url, error: `HTTP ${res.statusCode}` };
    return readSnapshot(url, text);
  } catch (err) {
    return { url, error: err instanceof Error ? err.message : String(err) };
  }
}

export function scrapeAll(urls: readonly string[], timeoutMs?: number): Promise<ReplicaSnapshot[]> {
  return Promise.all(urls.map((u) => scrape(u, timeoutMs)));
}

function delta(after: number | undefined, before: number | undefined): number | null {
  return after === undefined || before === undefined ? null : after - before;
}

/** Hit rate and per-replica load between two snapshots of the same replicas (same order). */
export function prefixCacheDelta(
  before: readonly ReplicaSnapshot[],
  after: readonly ReplicaSnapshot[],
): PrefixCacheResult {
  let queries = 0;
  let hits = 0;
  let counters = false;
  let gaugeSum = 0;
  let gauges = 0;
  const replicas: ReplicaLoad[] = [];
  for (let i = 0; i < after.length; i++) {
    const a = after[i]!;
    const b = before[i] ?? { url: a.url };
    const q = delta(a.prefixQueries, b.prefixQueries);
    const h = delta(a.prefixHits, b.prefixHits);
    if (q !== null && h !== null) {
      counters = true;
      queries += q;
      hits += h;
    }
    if (a.prefixHitRateGauge !== undefined) {
      gaugeSum += a.prefixHitRateGauge;
      gauges++;
    }
    replicas.push({
      url: a.url,
      requests: delta(a.requestSuccess, b.requestSuccess),
      prefixQueries: q,
      prefixHits: h,
      hitRate: q !== null && h !== null && q > 0 ? h / q : null,
      error: a.error ?? b.error,
    });
  }
  if (counters) return { hitRate: queries > 0 ? hits / queries : null, source: 'v1-counters', replicas };
  if (gauges > 0) return { hitRate: gaugeSum / gauges, source: 'v0-gauge', replicas };
  return { hitRate: null, source: 'none', replicas };
}

/** Scrapes every replica each `intervalMs` (skipping a tick while the previous one is still out). */
export class MetricsSampler {
  readonly samples: TimelineSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private startedAt = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly intervalMs: number,
  ) {}

  /** `runStart` is the performance.now() the sample times are relative to. */
  start(runStart: number): void {
    if (this.urls.length === 0) return;
    this.startedAt = runStart;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.urls.length > 0) await this.tick(true);
  }

  private async tick(final = false): Promise<void> {
    if (this.busy && !final) return;
    this.busy = true;
    const t = performance.now() - this.startedAt;
    const snaps = await scrapeAll(this.urls, Math.max(500, this.intervalMs));
    this.busy = false;
    this.samples.push({
      tMs: t,
      running: snaps.map((s) => s.running),
      waiting: snaps.map((s) => s.waiting),
      kvUsage: snaps.map((s) => s.kvUsage),
      requestSuccess: snaps.map((s) => s.requestSuccess),
      preemptions: snaps.map((s) => s.preemptions),
      swapped: snaps.map((s) => s.swapped),
      fallingBehind: snaps.map((s) => s.simFallingBehind),
    });
  }
}
