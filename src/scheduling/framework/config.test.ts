import { describe, expect, it } from 'vitest';
import type { PickerConfigPlan } from '../../config/plan.js';
import { SeededRng } from '../../util/rng.js';
import { PLUGIN_FACTORIES } from '../plugin-catalog.js';
import type { SaturationFilter } from '../plugins/filters/saturation-filter.js';
import { BUILT_IN_PICKER_CONFIGS, DEFAULT_PICKER_CONFIG } from '../profiles.js';
import { buildScheduler, instantiatePickerConfig, validatePickerConfig } from './config.js';
import type { PluginFactory } from './types.js';

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

  it("the config's saturationDetector sets the saturation filter's thresholds; the filter's own win", () => {
    const detector = {
      queueDepthThreshold: 2,
      kvCacheUtilThreshold: 0.5,
      metricsStalenessThresholdMs: 30_000,
    };
    const thresholds = (parameters: Record<string, unknown>) => {
      const { config, issues } = instantiatePickerConfig({
        ...cfg({
          plugins: [plugin('saturation-filter', parameters), plugin('queue-scorer')],
          schedulingProfiles: [],
        }),
        saturationDetector: detector,
      });
      expect(issues).toEqual([]);
      return (config!.profiles[0]!.filters[0] as SaturationFilter).config;
    };
    expect(thresholds({})).toEqual(detector);
    expect(thresholds({ queueDepthThreshold: 7, metricsStalenessThreshold: '1s' })).toEqual({
      queueDepthThreshold: 7,
      kvCacheUtilThreshold: 0.5,
      metricsStalenessThresholdMs: 1000,
    });
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

describe('instantiatePickerConfig: every issue with its path', () => {
  const profile = (name: string, ...refs: string[]) => ({
    name,
    plugins: refs.map((pluginRef) => ({ pluginRef })),
  });
  const issuesOf = (spec: Spec, factories?: ReadonlyMap<string, PluginFactory>) =>
    instantiatePickerConfig(cfg(spec), factories).issues;

  it('parameters that are not a mapping: the path is the parameters themselves', () => {
    const issues = issuesOf({
      plugins: [{ type: 'queue-scorer', name: 'q', parameters: [] as never }],
      schedulingProfiles: [],
    });
    expect(issues).toEqual([
      {
        path: 'plugins[0].parameters',
        message: 'plugin "q" (queue-scorer): parameters must be a mapping',
        fix: 'write `parameters: {}`',
      },
    ]);
  });

  it('a factory that fails otherwise: its message at the parameters', () => {
    const factories = new Map<string, PluginFactory>([
      [
        'boom',
        () => {
          throw new Error('cannot build');
        },
      ],
      [
        'odd',
        () => {
          throw 'a string';
        },
      ],
    ]);
    expect(
      issuesOf({ plugins: [plugin('boom'), plugin('odd')], schedulingProfiles: [profile('p')] }, factories),
    ).toEqual([
      { path: 'plugins[0].parameters', message: 'plugin "boom" (boom): cannot build' },
      { path: 'plugins[1].parameters', message: 'plugin "odd" (odd): a string' },
    ]);
  });

  it('an unknown type far from every known one lists the known types', () => {
    const factories = new Map<string, PluginFactory>([
      ['queue-scorer', PLUGIN_FACTORIES.get('queue-scorer')!],
    ]);
    expect(
      issuesOf({ plugins: [plugin('zzzzzzzzzzzz')], schedulingProfiles: [profile('p')] }, factories),
    ).toEqual([
      {
        path: 'plugins[0].type',
        message: 'unknown plugin type "zzzzzzzzzzzz" (plugin "zzzzzzzzzzzz")',
        fix: 'known types: queue-scorer',
      },
    ]);
  });

  it('an unnamed plugin is named by its type, also when checking for twins', () => {
    const issues = issuesOf({
      plugins: [{ type: 'queue-scorer', name: '', parameters: {} }, plugin('queue-scorer')],
      schedulingProfiles: [],
    });
    expect(issues).toEqual([
      {
        path: 'plugins[1].name',
        message: 'plugin name "queue-scorer" is used twice',
        fix: 'give each plugin instance its own `name`',
      },
    ]);
    // and the default profile refers to it by its type
    const built = instantiatePickerConfig(
      cfg({ plugins: [{ type: 'queue-scorer', name: '', parameters: {} }], schedulingProfiles: [] }),
    );
    expect(built.config!.profiles[0]!.scorers.map((w) => w.scorer.name)).toEqual(['queue-scorer']);
  });

  it('two profile handlers; a handler listed in a profile; a profile name used twice', () => {
    const issues = issuesOf({
      plugins: [
        plugin('single-profile-handler', {}, 'h1'),
        plugin('single-profile-handler', {}, 'h2'),
        plugin('queue-scorer'),
      ],
      schedulingProfiles: [profile('p', 'queue-scorer', 'h1'), profile('p', 'queue-scorer')],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        {
          path: 'plugins',
          message: '2 profile handlers (h1, h2); at most one is allowed',
          fix: 'keep one profile handler plugin',
        },
        {
          path: 'schedulingProfiles[0].plugins[1].pluginRef',
          message: '"h1" is a profile handler; profiles list filters, scorers and a picker',
          fix: 'declare the handler under plugins only',
        },
        { path: 'schedulingProfiles[1].name', message: 'profile name "p" is used twice' },
      ]),
    );
  });

  it('one handler is fine; a profile naming an undeclared plugin when none built lists "(none)"', () => {
    expect(
      issuesOf({
        plugins: [plugin('single-profile-handler'), plugin('queue-scorer')],
        schedulingProfiles: [profile('p', 'queue-scorer')],
      }),
    ).toEqual([]);
    expect(issuesOf({ plugins: [], schedulingProfiles: [profile('p', 'ghost')] })).toEqual([
      {
        path: 'schedulingProfiles[0].plugins[0].pluginRef',
        message: 'profile "p" refers to plugin "ghost", which is not declared',
        fix: 'declare it under plugins, or use one of: (none)',
      },
    ]);
  });

  it('weight 0 is allowed; the fixes of weight and picker issues', () => {
    expect(
      issuesOf({
        plugins: [plugin('queue-scorer')],
        schedulingProfiles: [{ name: 'p', plugins: [{ pluginRef: 'queue-scorer', weight: 0 }] }],
      }),
    ).toEqual([]);
    const issues = issuesOf({
      plugins: [plugin('queue-scorer'), plugin('random-picker'), plugin('max-score-picker')],
      schedulingProfiles: [
        {
          name: 'p',
          plugins: [
            { pluginRef: 'queue-scorer', weight: Number.NaN },
            { pluginRef: 'random-picker' },
            { pluginRef: 'max-score-picker' },
          ],
        },
      ],
    });
    expect(issues.map((i) => i.fix)).toEqual(['weight: 1', 'keep one picker per profile']);
  });

  it('a profile without a picker gets max-score-picker', () => {
    const built = instantiatePickerConfig(
      cfg({ plugins: [plugin('queue-scorer')], schedulingProfiles: [profile('p', 'queue-scorer')] }),
    );
    expect(built.config!.profiles[0]!.picker).toMatchObject({
      name: 'max-score-picker',
      type: 'max-score-picker',
      maxNumOfEndpoints: 1,
    });
  });

  it('several profiles are fine under a handler that picks among them', () => {
    const factories = new Map<string, PluginFactory>([
      ...PLUGIN_FACTORIES,
      [
        'pick-by-header',
        (name) => ({
          kind: 'profile-handler',
          type: 'pick-by-header',
          name,
          pickProfile: (_c, ps) => ps[1]!,
        }),
      ],
    ]);
    const spec = {
      plugins: [plugin('pick-by-header'), plugin('queue-scorer')],
      schedulingProfiles: [profile('a', 'queue-scorer'), profile('b')],
    };
    const built = instantiatePickerConfig(cfg(spec), factories);
    expect(built.issues).toEqual([]);
    expect(built.config!.handler.type).toBe('pick-by-header');
    expect(built.config!.profiles.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('buildScheduler names the config and every issue', () => {
    const spec = { plugins: [plugin('nope')], schedulingProfiles: [profile('p', 'ghost')] };
    expect(() => buildScheduler(cfg(spec), new SeededRng(1))).toThrow(
      'EndpointPickerConfig epp: plugins[0].type: unknown plugin type "nope" (plugin "nope"); ' +
        'schedulingProfiles[0].plugins[0].pluginRef: profile "p" refers to plugin "ghost", which is not declared',
    );
  });
});
