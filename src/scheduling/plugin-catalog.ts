/**
 * Plugin type name → factory: the one place that lists every plugin. Reference type names load
 * an upstream EndpointPickerConfig unchanged; infergate's own types are marked below.
 */
import type { PluginFactory } from './framework/types.js';
import { createSaturationFilter, SATURATION_FILTER } from './plugins/filters/saturation-filter.js';
import { createLeastRequestPicker, LEAST_REQUEST_PICKER } from './plugins/pickers/least-request-picker.js';
import { createMaxScorePicker, MAX_SCORE_PICKER } from './plugins/pickers/max-score-picker.js';
import { createRandomPicker, RANDOM_PICKER } from './plugins/pickers/random-picker.js';
import { createRoundRobinPicker, ROUND_ROBIN_PICKER } from './plugins/pickers/round-robin-picker.js';
import {
  createWeightedRandomPicker,
  WEIGHTED_RANDOM_PICKER,
} from './plugins/pickers/weighted-random-picker.js';
import {
  createSingleProfileHandler,
  SINGLE_PROFILE_HANDLER,
} from './plugins/profile-handlers/single-profile-handler.js';
import { createInflightLoadScorer, INFLIGHT_LOAD_SCORER } from './plugins/scorers/inflight-load-scorer.js';
import {
  createKvCacheUtilizationScorer,
  KV_CACHE_UTILIZATION_SCORER,
} from './plugins/scorers/kv-cache-utilization-scorer.js';
import { createLoraAffinityScorer, LORA_AFFINITY_SCORER } from './plugins/scorers/lora-affinity-scorer.js';
import {
  createPrecisePrefixCacheScorer,
  PRECISE_PREFIX_CACHE_SCORER,
} from './plugins/scorers/precise-prefix-cache-scorer.js';
import { createPrefillCostScorer, PREFILL_COST_SCORER } from './plugins/scorers/prefill-cost-scorer.js';
import { createPrefixCacheScorer, PREFIX_CACHE_SCORER } from './plugins/scorers/prefix-cache-scorer.js';
import { createQueueScorer, QUEUE_SCORER } from './plugins/scorers/queue-scorer.js';
import {
  createRunningRequestsSizeScorer,
  RUNNING_REQUESTS_SIZE_SCORER,
} from './plugins/scorers/running-requests-size-scorer.js';
import {
  createSessionAffinityScorer,
  SESSION_AFFINITY_SCORER,
} from './plugins/scorers/session-affinity-scorer.js';

export const PLUGIN_FACTORIES: ReadonlyMap<string, PluginFactory> = new Map<string, PluginFactory>([
  // reference (kubernetes-sigs/gateway-api-inference-extension) types
  [SINGLE_PROFILE_HANDLER, createSingleProfileHandler],
  [QUEUE_SCORER, createQueueScorer],
  [KV_CACHE_UTILIZATION_SCORER, createKvCacheUtilizationScorer],
  [PREFIX_CACHE_SCORER, createPrefixCacheScorer],
  [LORA_AFFINITY_SCORER, createLoraAffinityScorer],
  [RUNNING_REQUESTS_SIZE_SCORER, createRunningRequestsSizeScorer],
  [MAX_SCORE_PICKER, createMaxScorePicker],
  [RANDOM_PICKER, createRandomPicker],
  [WEIGHTED_RANDOM_PICKER, createWeightedRandomPicker],
  // infergate types
  [SATURATION_FILTER, createSaturationFilter],
  [INFLIGHT_LOAD_SCORER, createInflightLoadScorer],
  [SESSION_AFFINITY_SCORER, createSessionAffinityScorer],
  [PREFILL_COST_SCORER, createPrefillCostScorer],
  [ROUND_ROBIN_PICKER, createRoundRobinPicker],
  // llm-d type (llm-d-inference-scheduler's precise prefix-cache plugin)
  [PRECISE_PREFIX_CACHE_SCORER, createPrecisePrefixCacheScorer],
  [LEAST_REQUEST_PICKER, createLeastRequestPicker],
]);

export const PLUGIN_TYPES: readonly string[] = [...PLUGIN_FACTORIES.keys()];

/** Older reference type names accepted for the same plugin. */
export const PLUGIN_ALIASES: ReadonlyMap<string, string> = new Map([
  ['kv-cache-scorer', KV_CACHE_UTILIZATION_SCORER],
]);
