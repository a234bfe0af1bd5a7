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

function costAware(name: string, prefixWeight: number): PickerConfigPlan {
  return {
    name,
    plugins: [
      { type: 'saturation-filter', name: 'saturation-filter', parameters: {} },
      { type: 'prefix-cache-scorer', name: 'prefix-cache-scorer', parameters: {} },
      { type: 'prefill-cost-scorer', name: 'prefill-cost-scorer', parameters: {} },
      { type: 'queue-scorer', name: 'queue-scorer', parameters: {} },
      { type: 'kv-cache-utilization-scorer', name: 'kv-cache-utilization-scorer', parameters: {} },
      { type: 'inflight-load-scorer', name: 'inflight-load-scorer', parameters: {} },
      { type: 'lora-affinity-scorer', name: 'lora-affinity-scorer', parameters: {} },
      { type: 'max-score-picker', name: 'max-score-picker', parameters: {} },
    ],
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [
          { pluginRef: 'saturation-filter' },
          // prefix-cache-scorer first: prefill-cost-scorer reads its match.
          { pluginRef: 'prefix-cache-scorer', weight: prefixWeight },
          { pluginRef: 'prefill-cost-scorer', weight: PREFILL_COST_WEIGHT },
          { pluginRef: 'queue-scorer', weight: 1 },
          { pluginRef: 'kv-cache-utilization-scorer', weight: 1 },
          { pluginRef: 'inflight-load-scorer', weight: 1 },
          { pluginRef: 'lora-affinity-scorer', weight: 1 },
          { pluginRef: 'max-score-picker' },
        ],
      },
    ],
    source: builtIn(name),
  };
}

function loadAware(name: string, prefixWeight: number): PickerConfigPlan {
  return {
    name,
    plugins: [
      { type: 'saturation-filter', name: 'saturation-filter', parameters: {} },
      { type: 'queue-scorer', name: 'queue-scorer', parameters: {} },
      { type: 'kv-cache-utilization-scorer', name: 'kv-cache-utilization-scorer', parameters: {} },
      { type: 'prefix-cache-scorer', name: 'prefix-cache-scorer', parameters: {} },
      { type: 'inflight-load-scorer', name: 'inflight-load-scorer', parameters: {} },
      { type: 'lora-affinity-scorer', name: 'lora-affinity-scorer', parameters: {} },
      { type: 'max-score-picker', name: 'max-score-picker', parameters: {} },
    ],
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [
          { pluginRef: 'saturation-filter' },
          { pluginRef: 'queue-scorer', weight: 2 },
          { pluginRef: 'kv-cache-utilization-scorer', weight: 2 },
          { pluginRef: 'prefix-cache-scorer', weight: prefixWeight },
          { pluginRef: 'inflight-load-scorer', weight: 2 },
          { pluginRef: 'lora-affinity-scorer', weight: 1 },
          { pluginRef: 'max-score-picker' },
        ],
      },
    ],
    source: builtIn(name),
  };
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
