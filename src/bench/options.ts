/**
 * The benchmark's programmatic options (what `infergate bench` flags turn into; scenarios and tests
 * build them directly). Times and rates are in the targets' time: with `timeScale` 0.01 (a
 * simulator running 100× faster than real time), a request rate of 1/s is sent at 100/s of wall
 * time and every measured time is reported ×100, so figures compare with real-hardware runs.
 */
import type { Slo } from './stats.js';
import type { SplitEntry } from './workload/mix.js';
import type { MultiRoundOptions } from './workload/multi-round.js';
import type { RandomOptions } from './workload/random.js';
import type { SharedPrefixOptions } from './workload/shared-prefix.js';
import type { Endpoint } from './workload/types.js';

export interface TargetSpec {
  /** Column name in tables and reports (`standard`, `inference`, or the URL). */
  name: string;
  /** Base URL of the OpenAI-compatible server; the endpoint path is appended. */
  url: string;
  /** /metrics URLs of the model servers behind this target (overrides BenchOptions.scrapeUrls). */
  scrapeUrls?: readonly string[] | undefined;
  /** Headers sent with every request to this target (e.g. `host: test.com` for a host-matched route). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** The gateway's admin URL when the target is an infergate gateway: its live page is printed. */
  adminUrl?: string | undefined;
  /**
   * When set, each request carries `x-request-id: <prefix><index>`, so a gateway's access log can be
   * joined with the run's per-request records (scenarios use it for the tail evidence).
   */
  requestIdPrefix?: string | undefined;
}

export type DatasetOptions =
  | ({ name: 'random' | 'lora-mix' } & Omit<RandomOptions, 'seed'>)
  | ({ name: 'shared-prefix' } & Omit<SharedPrefixOptions, 'seed'>)
  | ({ name: 'multi-round' } & Omit<MultiRoundOptions, 'seed'>)
  | { name: 'sharegpt'; file?: string | undefined; outputLen?: number | undefined };

export type DatasetName = DatasetOptions['name'];

export interface LoadOptions {
  /** Requests per second (Poisson arrivals); Infinity = all at once / closed loop (vLLM's `inf`). */
  requestRate: number;
  maxConcurrency?: number | undefined;
  numPrompts?: number | undefined;
  durationS?: number | undefined;
  /** After a bound is reached, how long in-flight requests may finish before being aborted. */
  graceS?: number | undefined;
  /** Per-request limit (vLLM's client allows 6 h). */
  requestTimeoutS: number;
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export type PercentileMetric = 'ttft' | 'tpot' | 'itl' | 'e2el';

export interface BenchOptions {
  /** One or more targets; with several, the first is the baseline of the ratios. */
  targets: readonly TargetSpec[];
  endpoint: Endpoint;
  /** The `model` sent (unless a model mix chooses per request). */
  model: string;
  dataset: DatasetOptions;
  /** `model` per request (LoRA adapters, or InferenceModel names of different criticality). */
  modelMix?: readonly SplitEntry[] | undefined;
  /** x-gateway-inference-objective per request (InferenceObjective names). */
  objectiveMix?: readonly SplitEntry[] | undefined;
  ignoreEos: boolean;
  /**
   * Send the first request once, uncounted, before the run (vLLM's initial test run); indexed
   * workloads only. Options built in code default to off.
   */
  initialTest?: boolean | undefined;
  seed: number;
  load: LoadOptions;
  /** Wall time per unit of the targets' time (1 for real servers). */
  timeScale: number;
  goodput?: Slo | undefined;
  /** Percentiles printed in the table (vLLM's --metric-percentiles, default [99]). */
  tablePercentiles: readonly number[];
  /** Metrics whose sections the table prints (vLLM's --percentile-metrics, default ttft,tpot,itl). */
  percentileMetrics: readonly PercentileMetric[];
  /** /metrics URLs of the model servers, for prefix-cache hit rate and per-replica load. */
  scrapeUrls: readonly string[];
  /** Sampling period of the replicas' /metrics during a run, in the targets' seconds. */
  sampleIntervalS: number;
  /** Socket limit per target; undefined = max concurrency (or 512 for unlimited open loops). */
  maxConnections?: number | undefined;
  apiKey?: string | undefined;
  progress: ProgressMode;
  /** Stops the run early (Ctrl-C): in-flight requests are aborted, the report covers what finished. */
  signal?: AbortSignal | undefined;
  /** Keep per-request records in the JSON report (vLLM's --save-detailed). */
  saveDetailed: boolean;
}

/** Socket cap for open loops without a concurrency limit (beyond it requests queue client-side). */
export const DEFAULT_OPEN_LOOP_CONNECTIONS = 512;
/** Grace after a --duration bound, in the targets' seconds. */
export const DEFAULT_GRACE_S = 60;
