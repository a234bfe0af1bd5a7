/**
 * llama.cpp server (`--metrics`) /metrics → ModelServerMetrics: `llamacpp:requests_processing`
 * (running), `llamacpp:requests_deferred` (waiting), and `llamacpp:kv_cache_usage_ratio` where the
 * server version still exports it.
 */
import {
  clampUsage,
  count,
  type EngineMapping,
  type ModelServerMetrics,
  maxOf,
  NO_LORAS,
  sumOf,
} from './model-server-metrics.js';
import type { Sample } from './promtext.js';

const PROCESSING = 'llamacpp:requests_processing';
const DEFERRED = 'llamacpp:requests_deferred';
const KV_RATIO = 'llamacpp:kv_cache_usage_ratio';

export const llamacppMapping: EngineMapping = {
  type: 'llamacpp',
  aliases: ['llama.cpp', 'llama-cpp'],
  metricsPath: '/metrics',
  sampleNames: new Set([PROCESSING, DEFERRED, KV_RATIO]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const running = sumOf(samples, PROCESSING);
    const waiting = sumOf(samples, DEFERRED);
    if (running === undefined && waiting === undefined) return undefined;
    return {
      waiting: count(waiting),
      running: count(running),
      kvUsage: clampUsage(maxOf(samples, KV_RATIO)),
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: undefined,
      blockSize: undefined,
      numBlocks: undefined,
      models: [],
    };
  },
};
