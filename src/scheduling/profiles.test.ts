import { describe, expect, it } from 'vitest';
import type { PickerConfigPlan } from '../config/plan.js';
import {
  BUILT_IN_PICKER_CONFIGS,
  DEFAULT_PICKER_CONFIG,
  LEAST_REQUEST_PICKER_CONFIG,
  LOAD_AWARE_PICKER_CONFIG,
  PREFILL_COST_WEIGHT,
  PREFIX_CACHE_PICKER_CONFIG,
  pickerConfigFor,
  ROUND_ROBIN_PICKER_CONFIG,
} from './profiles.js';

/** `pluginRef[:weight]` of the config's only profile, in order. */
const profile = (c: PickerConfigPlan) =>
  c.schedulingProfiles[0]!.plugins.map((p) =>
    p.weight === undefined ? p.pluginRef : `${p.pluginRef}:${p.weight}`,
  );

describe('built-in picker configs', () => {
  it('default: saturation filter; prefix 1 before prefill cost 8; queue, KV, in-flight, LoRA 1; max-score picker', () => {
    expect(profile(DEFAULT_PICKER_CONFIG)).toEqual([
      'saturation-filter',
      'prefix-cache-scorer:1',
      `prefill-cost-scorer:${PREFILL_COST_WEIGHT}`,
      'queue-scorer:1',
      'kv-cache-utilization-scorer:1',
      'inflight-load-scorer:1',
      'lora-affinity-scorer:1',
      'max-score-picker',
    ]);
    expect(PREFILL_COST_WEIGHT).toBe(8);
  });

  it('prefix-cache: the default with prefix weight 3', () => {
    expect(profile(PREFIX_CACHE_PICKER_CONFIG)).toEqual(
      profile(DEFAULT_PICKER_CONFIG).map((p) =>
        p === 'prefix-cache-scorer:1' ? 'prefix-cache-scorer:3' : p,
      ),
    );
  });

  it('load-aware (the default before issue 16): queue 2, KV 2, prefix 3, in-flight 2, LoRA 1', () => {
    expect(profile(LOAD_AWARE_PICKER_CONFIG)).toEqual([
      'saturation-filter',
      'queue-scorer:2',
      'kv-cache-utilization-scorer:2',
      'prefix-cache-scorer:3',
      'inflight-load-scorer:2',
      'lora-affinity-scorer:1',
      'max-score-picker',
    ]);
  });

  it('baselines are a picker alone', () => {
    expect(profile(ROUND_ROBIN_PICKER_CONFIG)).toEqual(['round-robin-picker']);
    expect(ROUND_ROBIN_PICKER_CONFIG.plugins).toEqual([
      { type: 'round-robin-picker', name: 'round-robin-picker', parameters: {} },
    ]);
    expect(profile(LEAST_REQUEST_PICKER_CONFIG)).toEqual(['least-request-picker']);
  });

  it('declares every plugin a profile refers to, and says it is built in', () => {
    for (const [name, c] of BUILT_IN_PICKER_CONFIGS) {
      expect(c.name).toBe(name);
      expect(c.schedulingProfiles.map((p) => p.name)).toEqual(['default']);
      const declared = c.plugins.map((p) => p.name);
      expect(c.plugins.every((p) => p.type === p.name)).toBe(true);
      expect(profile(c).map((p) => p.split(':')[0])).toEqual(declared);
      expect(c.source).toMatchObject({ file: '<built-in>', kind: 'EndpointPickerConfig', name });
    }
    expect([...BUILT_IN_PICKER_CONFIGS.keys()]).toEqual([
      'default',
      'prefix-cache',
      'load-aware',
      'round-robin',
      'least-request',
    ]);
  });
});

describe('pickerConfigFor', () => {
  it("a pool's own config wins over its annotation", () => {
    expect(
      pickerConfigFor({ pickerConfig: ROUND_ROBIN_PICKER_CONFIG, routingStrategy: 'PREFIX_CACHE' }),
    ).toBe(ROUND_ROBIN_PICKER_CONFIG);
  });

  it.each([
    ['PREFIX_CACHE', PREFIX_CACHE_PICKER_CONFIG],
    ['prefix_cache', PREFIX_CACHE_PICKER_CONFIG],
    ['LOAD_AWARE', DEFAULT_PICKER_CONFIG],
    [undefined, DEFAULT_PICKER_CONFIG],
  ])('routing strategy %s → its built-in config', (routingStrategy, want) => {
    expect(pickerConfigFor(routingStrategy === undefined ? {} : { routingStrategy })).toBe(want);
  });
});
