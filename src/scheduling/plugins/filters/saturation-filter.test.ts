import { describe, expect, it } from 'vitest';
import { context, host, request, type StateOpts, state } from '../../../../test/scheduling/helpers.js';
import { createSaturationFilter } from './saturation-filter.js';

describe('saturation-filter', () => {
  const run = (specs: StateOpts[], params: Record<string, unknown> = {}) => {
    const now = performance.now();
    const set = specs.map((s, i) => state(i + 1, s, now));
    return createSaturationFilter('sat', params)
      .filter(context(request()), set)
      .map((e) => set.indexOf(e));
  };

  it.each([
    ['queue ≥ 5 is saturated', [{ m: { waiting: 5 } }, { m: { waiting: 4 } }], {}, [1]],
    ['KV ≥ 0.8 is saturated', [{ m: { kvUsage: 0.8 } }, { m: { kvUsage: 0.79 } }], {}, [1]],
    ['metrics older than 200 ms are saturated', [{ m: {}, ageMs: 500 }, { m: {} }], {}, [1]],
    ['never scraped is not judged', [{}, { m: { waiting: 9 } }], {}, [0]],
    ['all saturated: all kept', [{ m: { waiting: 9 } }, { m: { kvUsage: 0.99 } }], {}, [0, 1]],
    [
      'thresholds are parameters',
      [{ m: { waiting: 2 } }, { m: { kvUsage: 0.6 } }, { m: {}, ageMs: 500 }],
      { queueDepthThreshold: 2, kvCacheUtilThreshold: 0.5, metricsStalenessThreshold: '1s' },
      [2],
    ],
  ] as const)('%s', (_label, specs, params, want) => {
    expect(run([...specs], params)).toEqual(want);
  });

  it('rejects bad thresholds with field and fix', () => {
    expect(() => createSaturationFilter('sat', { kvCacheUtilThreshold: 1.5 })).toThrow(
      /kvCacheUtilThreshold: must be between 0.01 and 1, got 1.5/,
    );
    expect(() => createSaturationFilter('sat', { metricsStalenessThreshold: 'soon' })).toThrow(
      /must be a duration/,
    );
  });

  it('takes the pool’s thresholds when attached, its own explicit ones first', () => {
    const pool = {
      ...host(),
      saturation: { queueDepthThreshold: 2, kvCacheUtilThreshold: 0.5, metricsStalenessThresholdMs: 200 },
    };
    const now = performance.now();
    const set = [
      state(1, { m: { waiting: 3 } }, now),
      state(2, { m: { kvUsage: 0.6 } }, now),
      state(3, { m: {} }, now),
    ];
    const kept = (params: Record<string, unknown>) => {
      const f = createSaturationFilter('sat', params);
      f.attach(pool);
      return f.filter(context(request()), set).map((e) => set.indexOf(e));
    };
    expect(kept({})).toEqual([2]);
    expect(kept({ queueDepthThreshold: 5 })).toEqual([0, 2]);
    expect(kept({ kvCacheUtilThreshold: 0.9 })).toEqual([1, 2]);
  });

  it.each([
    [{ queueDepthThreshold: 0 }, 'queueDepthThreshold'],
    [{ metricsStalenessThreshold: 0 }, 'metricsStalenessThreshold'],
    [{ kvCacheUtilThreshold: 0 }, 'kvCacheUtilThreshold'],
  ])('rejects %j', (params, field) => {
    expect(() => createSaturationFilter('sat', params)).toThrow(field);
  });
});
