import { describe, expect, it } from 'vitest';
import type { PickerConfigPlan } from '../../config/plan.js';
import { SeededRng } from '../../util/rng.js';
import { BUILT_IN_PICKER_CONFIGS, DEFAULT_PICKER_CONFIG } from '../profiles.js';
import { buildScheduler, instantiatePickerConfig, validatePickerConfig } from './config.js';

type Spec = Pick<PickerConfigPlan, 'plugins' | 'schedulingProfiles'>;
const cfg = (spec: Spec): PickerConfigPlan => ({
  name: 'epp',
  ...spec,
  source: {
    file: 'epp.yaml',
    doc: 1,
    apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
    kind: 'EndpointPickerConfig',
    name: 'epp',
    namespace: 'default',
  },
});
const plugin = (type: string, parameters: Record<string, unknown> = {}, name = type) => ({
  type,
  name,
  parameters,
});

describe('validatePickerConfig', () => {
  it.each<[string, Spec, { path: string; message: RegExp; fix?: RegExp }]>([
    [
      'unknown plugin type, with a suggestion',
      {
        plugins: [plugin('queue-scorer'), plugin('prefix-cache-scorrer', {}, 'pfx')],
        schedulingProfiles: [],
      },
      {
        path: 'plugins[1].type',
        message: /unknown plugin type "prefix-cache-scorrer" \(plugin "pfx"\)/,
        fix: /did you mean "prefix-cache-scorer"/,
      },
    ],
    [
      'parameter of the wrong type',
      {
        plugins: [
          plugin('queue-scorer'),
          plugin('kv-cache-utilization-scorer'),
          plugin('prefix-cache-scorer', { blockSize: 'big' }, 'pfx'),
        ],
        schedulingProfiles: [],
      },
      {
        path: 'plugins[2].parameters.blockSize',
        message: /plugin "pfx" \(prefix-cache-scorer\): must be an integer, got "big"/,
        fix: /blockSize: 64/,
      },
    ],
    [
      'parameter out of range',
      { plugins: [plugin('prefix-cache-scorer', { maxPrefixBlocksToMatch: 0 })], schedulingProfiles: [] },
      { path: 'plugins[0].parameters.maxPrefixBlocksToMatch', message: /between 1 and 16384, got 0/ },
    ],
    [
      'unknown parameter, listing the known ones',
      { plugins: [plugin('max-score-picker', { maxEndpoints: 2 })], schedulingProfiles: [] },
      {
        path: 'plugins[0].parameters.maxEndpoints',
        message: /unknown parameter of max-score-picker/,
        fix: /known parameters: maxNumOfEndpoints/,
      },
    ],
    [
      'parameter given to a plugin that takes none',
      { plugins: [plugin('queue-scorer', { threshold: 3 })], schedulingProfiles: [] },
      { path: 'plugins[0].parameters.threshold', message: /unknown parameter/, fix: /takes no parameters/ },
    ],
    [
      'duplicate plugin names',
      { plugins: [plugin('queue-scorer'), plugin('queue-scorer')], schedulingProfiles: [] },
      { path: 'plugins[1].name', message: /"queue-scorer" is used twice/ },
    ],
    [
      'profile referring to an undeclared plugin',
      {
        plugins: [plugin('queue-scorer')],
        schedulingProfiles: [
          { name: 'default', plugins: [{ pluginRef: 'queue-scorer' }, { pluginRef: 'kv' }] },
        ],
      },
      {
        path: 'schedulingProfiles[0].plugins[1].pluginRef',
        message: /refers to plugin "kv", which is not declared/,
      },
    ],
    [
      'negative weight',
      {
        plugins: [plugin('queue-scorer')],
        schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'queue-scorer', weight: -1 }] }],
      },
      { path: 'schedulingProfiles[0].plugins[0].weight', message: /must be a number ≥ 0, got -1/ },
    ],
    [
      'two pickers in one profile',
      { plugins: [plugin('random-picker'), plugin('max-score-picker')], schedulingProfiles: [] },
      { path: 'schedulingProfiles[0].plugins[1].pluginRef', message: /two pickers/ },
    ],
    [
      'several profiles with the single-profile handler',
      {
        plugins: [plugin('queue-scorer')],
        schedulingProfiles: [
          { name: 'a', plugins: [{ pluginRef: 'queue-scorer' }] },
          { name: 'b', plugins: [] },
        ],
      },
      {
        path: 'schedulingProfiles',
        message: /2 scheduling profiles, but single-profile-handler runs exactly one/,
      },
    ],
  ])('%s', (_label, spec, want) => {
    const issues = validatePickerConfig(cfg(spec));
    const hit = issues.find((i) => i.path === want.path);
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit!.message).toMatch(want.message);
    if (want.fix) expect(hit!.fix).toMatch(want.fix);
  });

  it('reports every problem at once', () => {
    const issues = validatePickerConfig(
      cfg({
        plugins: [
          plugin('nope'),
          plugin('prefix-cache-scorer', { blockSize: -1, lruCapacityPerServer: 'x' }),
        ],
        schedulingProfiles: [],
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'plugins[0].type',
      'plugins[1].parameters.blockSize',
      'plugins[1].parameters.lruCapacityPerServer',
    ]);
  });

  it('loads the reference documentation example unchanged (hashBlockSize spelling, defaults applied)', () => {
    const ref = cfg({
      plugins: [
        plugin('prefix-cache-scorer', {
          hashBlockSize: 5,
          maxPrefixBlocksToMatch: 256,
          lruCapacityPerServer: 31250,
        }),
      ],
      schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'prefix-cache-scorer', weight: 50 }] }],
    });
    const { config, issues } = instantiatePickerConfig(ref);
    expect(issues).toEqual([]);
    expect(config!.handler.type).toBe('single-profile-handler');
    expect(config!.profiles[0]!.picker.type).toBe('max-score-picker');
    expect(config!.profiles[0]!.scorers.map((s) => [s.scorer.name, s.weight])).toEqual([
      ['prefix-cache-scorer', 50],
    ]);
  });

  it('accepts the older reference name kv-cache-scorer', () => {
    const { config, issues } = instantiatePickerConfig(
      cfg({ plugins: [plugin('kv-cache-scorer')], schedulingProfiles: [] }),
    );
    expect(issues).toEqual([]);
    expect(config!.profiles[0]!.scorers[0]!.scorer.type).toBe('kv-cache-utilization-scorer');
  });

  it('no schedulingProfiles: one default profile with every plugin, weight 1', () => {
    const { config } = instantiatePickerConfig(
      cfg({
        plugins: [plugin('queue-scorer'), plugin('saturation-filter'), plugin('random-picker')],
        schedulingProfiles: [],
      }),
    );
    const p = config!.profiles[0]!;
    expect(p.name).toBe('default');
    expect(p.filters.map((f) => f.type)).toEqual(['saturation-filter']);
    expect(p.scorers.map((s) => s.weight)).toEqual([1]);
    expect(p.picker.type).toBe('random-picker');
  });

  it('every built-in config is valid', () => {
    for (const [name, c] of BUILT_IN_PICKER_CONFIGS) expect(validatePickerConfig(c), name).toEqual([]);
  });
});

describe('buildScheduler', () => {
  it('builds the default profile with the documented weights', () => {
    const s = buildScheduler(DEFAULT_PICKER_CONFIG, new SeededRng(1));
    const p = s.profiles[0]!;
    expect(p.filters.map((f) => f.type)).toEqual(['saturation-filter']);
    expect(Object.fromEntries(p.scorers.map((w) => [w.scorer.type, w.weight]))).toEqual({
      'prefix-cache-scorer': 1,
      'prefill-cost-scorer': 8,
      'queue-scorer': 1,
      'kv-cache-utilization-scorer': 1,
      'inflight-load-scorer': 1,
      'lora-affinity-scorer': 1,
    });
    expect(p.picker.type).toBe('max-score-picker');
    expect(s.promptChars).toBe(64 * 256);
  });

  it('throws with every issue when the config does not load', () => {
    expect(() =>
      buildScheduler(cfg({ plugins: [plugin('nope')], schedulingProfiles: [] }), new SeededRng(1)),
    ).toThrow(/plugins\[0\]\.type: unknown plugin type "nope"/);
  });
});
