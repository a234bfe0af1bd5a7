/**
 * vLLM /metrics → ModelServerMetrics, for both metric generations:
 * - V1 (vLLM ≥ 0.10): `vllm:kv_cache_usage_perc`, labels `model_name` and `engine` (one series per
 *   engine when data-parallel: queues are summed, KV usage is the fullest engine's).
 * - V0 and V1 up to 0.9: `vllm:gpu_cache_usage_perc`; V0 also `vllm:num_requests_swapped`, counted as
 *   waiting (a swapped request waits to be swapped back in).
 * Both: `vllm:lora_requests_info{max_lora,running_lora_adapters,waiting_lora_adapters}` (value = unix
 * time of the change; the newest series is current), `vllm:cache_config_info{block_size,num_gpu_blocks}`.
 */
import {
  clampUsage,
  count,
  type EngineMapping,
  intLabel,
  labelValues,
  listLabel,
  type ModelServerMetrics,
  maxOf,
  newestSeries,
  sumOf,
} from './model-server-metrics.js';
import type { Sample } from './promtext.js';

const RUNNING = 'vllm:num_requests_running';
const WAITING = 'vllm:num_requests_waiting';
const SWAPPED = 'vllm:num_requests_swapped';
const KV_V1 = 'vllm:kv_cache_usage_perc';
const KV_V0 = 'vllm:gpu_cache_usage_perc';
const LORA_INFO = 'vllm:lora_requests_info';
const CACHE_CONFIG = 'vllm:cache_config_info';
const PREFIX_QUERIES = 'vllm:prefix_cache_queries_total';
const PREFIX_HITS = 'vllm:prefix_cache_hits_total';
const PREFIX_HIT_RATE_V0 = 'vllm:gpu_prefix_cache_hit_rate';
const LOAD_GAUGES = [RUNNING, WAITING] as const;

export const vllmMapping: EngineMapping = {
  type: 'vllm',
  aliases: [],
  metricsPath: '/metrics',
  sampleNames: new Set([
    RUNNING,
    WAITING,
    SWAPPED,
    KV_V1,
    KV_V0,
    LORA_INFO,
    CACHE_CONFIG,
    PREFIX_QUERIES,
    PREFIX_HITS,
    PREFIX_HIT_RATE_V0,
  ]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const running = sumOf(samples, RUNNING);
    const waiting = sumOf(samples, WAITING);
    if (running === undefined && waiting === undefined) return undefined;
    const lora = newestSeries(samples, LORA_INFO);
    const cache = newestSeries(samples, CACHE_CONFIG);
    return {
      waiting: count(waiting) + count(sumOf(samples, SWAPPED)),
      running: count(running),
      kvUsage: clampUsage(maxOf(samples, KV_V1) ?? maxOf(samples, KV_V0)),
      activeLoras: listLabel(lora, 'running_lora_adapters'),
      waitingLoras: listLabel(lora, 'waiting_lora_adapters'),
      maxLoras: intLabel(lora, 'max_lora'),
      blockSize: intLabel(cache, 'block_size'),
      numBlocks: intLabel(cache, 'num_gpu_blocks'),
      models: labelValues(samples, LOAD_GAUGES, 'model_name'),
      ...prefixCache(samples),
    };
  },
};

/** Prefix-cache counters (V1) or the V0 hit-rate gauge, for the live page; absent when not exported. */
function prefixCache(
  samples: ReadonlyMap<string, readonly Sample[]>,
): Pick<ModelServerMetrics, 'prefixCacheQueries' | 'prefixCacheHits' | 'prefixCacheHitRate'> {
  const queries = sumOf(samples, PREFIX_QUERIES);
  const hits = sumOf(samples, PREFIX_HITS);
  if (queries !== undefined && hits !== undefined)
    return { prefixCacheQueries: queries, prefixCacheHits: hits };
  const rate = maxOf(samples, PREFIX_HIT_RATE_V0);
  return rate !== undefined && rate >= 0 ? { prefixCacheHitRate: Math.min(1, rate) } : {};
}
