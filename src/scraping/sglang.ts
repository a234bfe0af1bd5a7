/**
 * SGLang /metrics → ModelServerMetrics: `sglang:num_queue_reqs` (waiting), `sglang:num_running_reqs`,
 * `sglang:token_usage` (KV pool usage 0..1), `sglang:cache_config_info{page_size,num_pages}` when
 * exported. Several series (data-parallel ranks) are summed; KV usage is the fullest rank's.
 */
import {
  clampUsage,
  count,
  type EngineMapping,
  intLabel,
  labelValues,
  type ModelServerMetrics,
  maxOf,
  NO_LORAS,
  newestSeries,
  sumOf,
} from './model-server-metrics.js';
import type { Sample } from './promtext.js';

const QUEUE = 'sglang:num_queue_reqs';
const RUNNING = 'sglang:num_running_reqs';
const TOKEN_USAGE = 'sglang:token_usage';
const CACHE_CONFIG = 'sglang:cache_config_info';
const LOAD_GAUGES = [RUNNING, QUEUE] as const;

export const sglangMapping: EngineMapping = {
  type: 'sglang',
  aliases: [],
  metricsPath: '/metrics',
  sampleNames: new Set([QUEUE, RUNNING, TOKEN_USAGE, CACHE_CONFIG]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const running = sumOf(samples, RUNNING);
    const waiting = sumOf(samples, QUEUE);
    if (running === undefined && waiting === undefined) return undefined;
    const cache = newestSeries(samples, CACHE_CONFIG);
    return {
      waiting: count(waiting),
      running: count(running),
      kvUsage: clampUsage(maxOf(samples, TOKEN_USAGE)),
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: undefined,
      blockSize: intLabel(cache, 'page_size'),
      numBlocks: intLabel(cache, 'num_pages'),
      models: labelValues(samples, LOAD_GAUGES, 'model_name'),
    };
  },
};
