/**
 * The built-in EndpointPickerConfigs, used by a pool that names none (docs/scheduling.md explains
 * the choice of plugins and weights):
 * - `default` (issue 16): saturation filter; prefill cost 8 (pending prefill + the prompt's uncached
 *   tokens, in one currency: tokens to prefill before the first token), prefix cache 1, queue 1,
 *   KV cache 1, in-flight load 1, LoRA affinity 1; max-score picker.
 * - `prefix-cache`: the same with prefix weight 3, selected by the pool annotation
 *   `inference.networking.x-k8s.io/routing-strategy: PREFIX_CACHE` (seed 003).
 * - `load-aware` (the default before issue 16, opt-in): saturation filter; queue 2, KV cache 2,
 *   prefix cache 3 (the reference weights), in-flight load 2, LoRA affinity 1; max-score picker.
 * Baselines for benchmarks: `round-robin` and `least-request` (pickers only).
 */
import type { PickerConfigPlan, SourceRef } from '../config/plan.js';

const builtIn = (name: string): SourceRef => ({
  file: '<built-in>',
  doc: 0,
  apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
  kind: 'EndpointPickerConfig',
  name,
  namespace: '',
});

/**
 * Weight of prefill-cost-scorer in the cost-aware profiles: with its 8,192-token span, one point of
 * any other scorer is worth 1,024 tokens of prefill work.
 */
export const PREFILL_COST_WEIGHT = 8;

/**
 * A config of one profile: the saturation filter, then `scorers` (type, weight) in order, then the
 * max-score picker; every plugin declared under its type's name.
 */
function scored(name: string, scorers: readonly (readonly [string, number])[]): PickerConfigPlan {
  const types = ['saturation-filter', ...scorers.map(([type]) => type), 'max-score-picker'];
  return {
    name,
    plugins: types.map((type) => ({ type, name: type, parameters: {} })),
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [
          { pluginRef: 'saturation-filter' },
          ...scorers.map(([type, weight]) => ({ pluginRef: type, weight })),
          { pluginRef: 'max-score-picker' },
        ],
      },
    ],
    source: builtIn(name),
  };
}

function costAware(name: string, prefixWeight: number): PickerConfigPlan {
  return scored(name, [
    // prefix-cache-scorer first: prefill-cost-scorer reads its match.
    ['prefix-cache-scorer', prefixWeight],
    ['prefill-cost-scorer', PREFILL_COST_WEIGHT],
    ['queue-scorer', 1],
    ['kv-cache-utilization-scorer', 1],
    ['inflight-load-scorer', 1],
    ['lora-affinity-scorer', 1],
  ]);
}

function loadAware(name: string, prefixWeight: number): PickerConfigPlan {
  return scored(name, [
    ['queue-scorer', 2],
    ['kv-cache-utilization-scorer', 2],
    ['prefix-cache-scorer', prefixWeight],
    ['inflight-load-scorer', 2],
    ['lora-affinity-scorer', 1],
  ]);
}

function pickerOnly(name: string, pickerType: string): PickerConfigPlan {
  return {
    name,
    plugins: [{ type: pickerType, name: pickerType, parameters: {} }],
    schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: pickerType }] }],
    source: builtIn(name),
  };
}

export const DEFAULT_PICKER_CONFIG: PickerConfigPlan = costAware('default', 1);
export const PREFIX_CACHE_PICKER_CONFIG: PickerConfigPlan = costAware('prefix-cache', 3);
export const LOAD_AWARE_PICKER_CONFIG: PickerConfigPlan = loadAware('load-aware', 3);
export const ROUND_ROBIN_PICKER_CONFIG: PickerConfigPlan = pickerOnly('round-robin', 'round-robin-picker');
export const LEAST_REQUEST_PICKER_CONFIG: PickerConfigPlan = pickerOnly(
  'least-request',
  'least-request-picker',
);

/** Built-in configs by name (the scheduler registry's `strategy` option and benchmark baselines use these). */
export const BUILT_IN_PICKER_CONFIGS: ReadonlyMap<string, PickerConfigPlan> = new Map([
  ['default', DEFAULT_PICKER_CONFIG],
  ['prefix-cache', PREFIX_CACHE_PICKER_CONFIG],
  ['load-aware', LOAD_AWARE_PICKER_CONFIG],
  ['round-robin', ROUND_ROBIN_PICKER_CONFIG],
  ['least-request', LEAST_REQUEST_PICKER_CONFIG],
]);

export const ROUTING_STRATEGY_PREFIX_CACHE = 'PREFIX_CACHE';

/** The config a pool runs: its own EndpointPickerConfig, else the built-in one its annotation selects. */
export function pickerConfigFor(pool: {
  pickerConfig?: PickerConfigPlan;
  routingStrategy?: string;
}): PickerConfigPlan {
  if (pool.pickerConfig) return pool.pickerConfig;
  return pool.routingStrategy?.toUpperCase() === ROUTING_STRATEGY_PREFIX_CACHE
    ? PREFIX_CACHE_PICKER_CONFIG
    : DEFAULT_PICKER_CONFIG;
}
