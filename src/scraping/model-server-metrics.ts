/**
 * The engine-neutral view of one model server's load that the scheduler reads. Every engine
 * mapping (vllm.ts, sglang.ts, trtllm.ts, tgi.ts, llamacpp.ts) turns the samples it asked for into
 * one of these; scorers never see engine-specific names.
 */
import type { Sample } from './promtext.js';

export interface ModelServerMetrics {
  /** Requests queued in the server and not yet running (vLLM: waiting, v0 also swapped). ≥ 0. */
  readonly waiting: number;
  /** Requests in the running batch. ≥ 0. */
  readonly running: number;
  /** KV-cache utilisation in [0, 1]; undefined when the engine does not export it. */
  readonly kvUsage: number | undefined;
  /** LoRA adapters in the running batch (vLLM `running_lora_adapters`). */
  readonly activeLoras: readonly string[];
  /** LoRA adapters requested by waiting requests. */
  readonly waitingLoras: readonly string[];
  /** Adapters the server can hold in the batch at once; undefined when unknown (no LoRA info). */
  readonly maxLoras: number | undefined;
  /** KV block size in tokens, when the engine exports its cache config. */
  readonly blockSize: number | undefined;
  /** Number of KV blocks (GPU), when exported. */
  readonly numBlocks: number | undefined;
  /** `model_name` label values seen (the served base model names). */
  readonly models: readonly string[];
  /** Prefix-cache queries and hits so far (tokens; counters), when the engine exports them (vLLM V1). */
  readonly prefixCacheQueries?: number;
  readonly prefixCacheHits?: number;
  /** Prefix-cache hit rate in [0,1] as the engine's own gauge says (vLLM V0), when exported. */
  readonly prefixCacheHitRate?: number;
}

/** How one engine's /metrics page maps to ModelServerMetrics. */
export interface EngineMapping {
  /** Canonical engine type, the value of the pod label `inference.networking.k8s.io/engine-type`. */
  readonly type: string;
  /** Other accepted spellings of the label value. */
  readonly aliases: readonly string[];
  /** Path scraped on the endpoint's port (e.g. `/metrics`). */
  readonly metricsPath: string;
  /** Exact sample names the mapping reads; everything else on the page is skipped unparsed. */
  readonly sampleNames: ReadonlySet<string>;
  /** Undefined when none of the engine's load gauges is on the page (wrong engine, metrics off). */
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined;
}

export const NO_LORAS: readonly string[] = Object.freeze([]);

/** Sum of the values of every series of `name`; undefined when absent. NaN values are skipped. */
export function sumOf(samples: ReadonlyMap<string, readonly Sample[]>, name: string): number | undefined {
  const list = samples.get(name);
  if (!list || list.length === 0) return undefined;
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!.value;
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

/** Largest value over every series of `name` (several engines or DP ranks); undefined when absent. */
export function maxOf(samples: ReadonlyMap<string, readonly Sample[]>, name: string): number | undefined {
  const list = samples.get(name);
  if (!list || list.length === 0) return undefined;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!.value;
    if (Number.isFinite(v) && v > best) best = v;
  }
  return best === Number.NEGATIVE_INFINITY ? undefined : best;
}

/** Sum of the series of `name` whose label `key` equals `value`. */
export function sumWhere(
  samples: ReadonlyMap<string, readonly Sample[]>,
  name: string,
  key: string,
  value: string,
): number | undefined {
  const list = samples.get(name);
  if (!list) return undefined;
  let total = 0;
  let found = false;
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    if (s.labels[key] !== value || !Number.isFinite(s.value)) continue;
    total += s.value;
    found = true;
  }
  return found ? total : undefined;
}

/** The series with the largest value (vLLM's `*_info` gauges whose value is a timestamp). */
export function newestSeries(
  samples: ReadonlyMap<string, readonly Sample[]>,
  name: string,
): Sample | undefined {
  const list = samples.get(name);
  if (!list || list.length === 0) return undefined;
  let best = list[0]!;
  for (let i = 1; i < list.length; i++) if (list[i]!.value > best.value) best = list[i]!;
  return best;
}

/** Positive integer read from a label, or undefined. */
export function intLabel(s: Sample | undefined, key: string): number | undefined {
  const raw = s?.labels[key];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

/** Comma-joined adapter list label → names (empty entries dropped). */
export function listLabel(s: Sample | undefined, key: string): readonly string[] {
  const raw = s?.labels[key];
  if (!raw) return NO_LORAS;
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const t = part.trim();
    if (t.length > 0) out.push(t);
  }
  return out;
}

/** Distinct values of label `key` over the given sample names. */
export function labelValues(
  samples: ReadonlyMap<string, readonly Sample[]>,
  names: readonly string[],
  key: string,
): readonly string[] {
  const seen: string[] = [];
  for (const name of names) {
    const list = samples.get(name);
    if (!list) continue;
    for (let i = 0; i < list.length; i++) {
      const v = list[i]!.labels[key];
      if (v !== undefined && v !== '' && !seen.includes(v)) seen.push(v);
    }
  }
  return seen;
}

/** Clamps a utilisation fraction into [0, 1]; undefined for a missing or non-finite reading. */
export function clampUsage(v: number | undefined): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Non-negative count (NaN/negative → 0). */
export function count(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}

/** How recent a scraped snapshot is: within the stale bound, older, or none yet. */
export type MetricsFreshness = 'fresh' | 'stale' | 'none';
