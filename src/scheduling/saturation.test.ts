import { describe, expect, it } from 'vitest';
import { type StateOpts, state } from '../../test/scheduling/helpers.js';
import { allSaturated, DEFAULT_SATURATION, isSaturated, type SaturationConfig } from './saturation.js';

const NOW = 10_000;
const CFG: SaturationConfig = {
  queueDepthThreshold: 3,
  kvCacheUtilThreshold: 0.5,
  metricsStalenessThresholdMs: 100,
};
const ep = (opts: StateOpts) => state(1, opts, NOW);

describe('isSaturated', () => {
  it('has the reference defaults', () => {
    expect(DEFAULT_SATURATION).toEqual({
      queueDepthThreshold: 5,
      kvCacheUtilThreshold: 0.8,
      metricsStalenessThresholdMs: 200,
    });
    expect(Object.isFrozen(DEFAULT_SATURATION)).toBe(true);
  });

  it.each<[string, StateOpts, boolean]>([
    ['never scraped: judged by nothing', {}, false],
    ['fresh and idle', { m: {} }, false],
    ['metrics exactly at the staleness limit', { m: {}, ageMs: 100 }, false],
    ['metrics older than the limit', { m: {}, ageMs: 101 }, true],
    ['queue one below the threshold', { m: { waiting: 2 } }, false],
    ['queue at the threshold', { m: { waiting: 3 } }, true],
    ['KV just below the threshold', { m: { kvUsage: 0.49 } }, false],
    ['KV at the threshold', { m: { kvUsage: 0.5 } }, true],
  ])('%s → %s', (_label, opts, want) => {
    expect(isSaturated(ep(opts), NOW, CFG)).toBe(want);
  });

  it("counts this gateway's requests dispatched since the scrape toward the queue", () => {
    // Scraped with 2 waiting and a full batch; requests sent since then wait too.
    const busy = ep({ m: { waiting: 2, running: 0 }, inflight: 1 });
    expect(busy.estWaiting()).toBeGreaterThanOrEqual(2);
    expect(isSaturated(busy, NOW, CFG)).toBe(busy.estWaiting() >= 3);
  });
});

describe('allSaturated', () => {
  const saturated = ep({ m: { waiting: 9 } });
  const idle = ep({ m: {} });
  it.each([
    ['an empty list', [], false],
    ['one saturated endpoint', [saturated], true],
    ['every endpoint saturated', [saturated, saturated], true],
    ['one idle among saturated', [saturated, idle, saturated], false],
    ['the idle one last', [saturated, saturated, idle], false],
  ])('%s → %s', (_label, list, want) => {
    expect(allSaturated(list, NOW, CFG)).toBe(want);
  });
});
