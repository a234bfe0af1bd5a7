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
const LOAD_GAUGES = [RUNNING, WAITING] as const;

export const vllmMapping: EngineMapping = {
  type: 'vllm',
  aliases: [],
  metricsPath: '/metrics',
  sampleNames: new Set([RUNNING, WAITING, SWAPPED, KV_V1, KV_V0, LORA_INFO, CACHE_CONFIG]),
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
    };
  },
};
