/**
 * TensorRT-LLM → ModelServerMetrics, two front ends:
 * - trtllm-serve (OpenAI server, metrics at `/prometheus/metrics`): `trtllm_num_requests_waiting`,
 *   `trtllm_num_requests_running`, `trtllm_kv_cache_utilization` (0..1).
 * - Triton's TensorRT-LLM backend (metrics on Triton's metrics port, default 8002, `/metrics`):
 *   `nv_trt_llm_request_metrics{request_type="waiting"|"scheduled"|…}`,
 *   `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"|"used"|"max"|"tokens_per"}`.
 * Triton's metrics port differs from its HTTP port: set the pod label `infergate.io/metrics-port`.
 */
import {
  clampUsage,
  count,
  type EngineMapping,
  labelValues,
  type ModelServerMetrics,
  maxOf,
  NO_LORAS,
  sumOf,
  sumWhere,
} from './model-server-metrics.js';
import type { Sample } from './promtext.js';

const WAITING = 'trtllm_num_requests_waiting';
const RUNNING = 'trtllm_num_requests_running';
const KV = 'trtllm_kv_cache_utilization';

export const trtllmServeMapping: EngineMapping = {
  type: 'trtllm-serve',
  aliases: ['trtllm', 'tensorrt-llm'],
  metricsPath: '/prometheus/metrics',
  sampleNames: new Set([WAITING, RUNNING, KV]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const running = sumOf(samples, RUNNING);
    const waiting = sumOf(samples, WAITING);
    if (running === undefined && waiting === undefined) return undefined;
    return {
      waiting: count(waiting),
      running: count(running),
      kvUsage: clampUsage(maxOf(samples, KV)),
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: undefined,
      blockSize: undefined,
      numBlocks: undefined,
      models: labelValues(samples, [RUNNING, WAITING], 'model_name'),
    };
  },
};

const REQUESTS = 'nv_trt_llm_request_metrics';
const KV_BLOCKS = 'nv_trt_llm_kv_cache_block_metrics';

export const tritonMapping: EngineMapping = {
  type: 'triton',
  aliases: ['triton-tensorrt-llm', 'triton-trtllm'],
  metricsPath: '/metrics',
  sampleNames: new Set([REQUESTS, KV_BLOCKS]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const waiting = sumWhere(samples, REQUESTS, 'request_type', 'waiting');
    const running = sumWhere(samples, REQUESTS, 'request_type', 'scheduled');
    if (running === undefined && waiting === undefined) return undefined;
    let kv = sumWhere(samples, KV_BLOCKS, 'kv_cache_block_type', 'fraction');
    const used = sumWhere(samples, KV_BLOCKS, 'kv_cache_block_type', 'used');
    const max = sumWhere(samples, KV_BLOCKS, 'kv_cache_block_type', 'max');
    if (kv === undefined && used !== undefined && max !== undefined && max > 0) kv = used / max;
    const tokensPer = sumWhere(samples, KV_BLOCKS, 'kv_cache_block_type', 'tokens_per');
    return {
      waiting: count(waiting),
      running: count(running),
      kvUsage: clampUsage(kv),
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: undefined,
      blockSize: tokensPer !== undefined && tokensPer > 0 ? tokensPer : undefined,
      numBlocks: max !== undefined && max > 0 ? max : undefined,
      models: labelValues(samples, [REQUESTS], 'model'),
    };
  },
};
