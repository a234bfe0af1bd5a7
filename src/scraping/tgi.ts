/**
 * Hugging Face TGI /metrics → ModelServerMetrics: `tgi_queue_size` (waiting) and
 * `tgi_batch_current_size` (running). TGI exports no KV-cache utilisation: kvUsage stays undefined
 * and KV-based scorers treat the endpoint as neutral.
 */
import {
  count,
  type EngineMapping,
  type ModelServerMetrics,
  NO_LORAS,
  sumOf,
} from './model-server-metrics.js';
import type { Sample } from './promtext.js';

const QUEUE = 'tgi_queue_size';
const BATCH = 'tgi_batch_current_size';

export const tgiMapping: EngineMapping = {
  type: 'tgi',
  aliases: ['text-generation-inference'],
  metricsPath: '/metrics',
  sampleNames: new Set([QUEUE, BATCH]),
  map(samples: ReadonlyMap<string, readonly Sample[]>): ModelServerMetrics | undefined {
    const waiting = sumOf(samples, QUEUE);
    const running = sumOf(samples, BATCH);
    if (running === undefined && waiting === undefined) return undefined;
    return {
      waiting: count(waiting),
      running: count(running),
      kvUsage: undefined,
      activeLoras: NO_LORAS,
      waitingLoras: NO_LORAS,
      maxLoras: undefined,
      blockSize: undefined,
      numBlocks: undefined,
      models: [],
    };
  },
};
