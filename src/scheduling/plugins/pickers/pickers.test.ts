import { describe, expect, it } from 'vitest';
import { context, request, state } from '../../../../test/scheduling/helpers.js';
import { SeededRng } from '../../../util/rng.js';
import type { SchedulerProfile } from '../../framework/scheduler.js';
import type { Picker } from '../../framework/types.js';
import { PLUGIN_FACTORIES } from '../../plugin-catalog.js';
import { createSingleProfileHandler } from '../profile-handlers/single-profile-handler.js';
import { topK } from './top-k.js';

const picker = (type: string, params: Record<string, unknown> = {}) =>
  PLUGIN_FACTORIES.get(type)!(type, params) as Picker;
const ctx = () => context(request());

/** How often each candidate is picked first over `draws` decisions. */
function histogram(p: Picker, scores: number[], draws: number, inflight: number[] = []): number[] {
  const set = scores.map((_, i) => state(i + 1, { inflight: inflight[i] ?? 0 }));
  const rng = new SeededRng(42);
  const counts = scores.map(() => 0);
  const s = Float64Array.from(scores);
  for (let d = 0; d < draws; d++) counts[p.pick(ctx(), set, s, rng)[0]!]!++;
  return counts;
}

describe('max-score-picker', () => {
  it.each([
    ['highest score wins', [0.1, 0.9, 0.5], [0, 300, 0]],
    ['ties are broken uniformly at random', [1, 0, 1], [150, 0, 150]],
  ] as const)('%s', (_label, scores, expected) => {
    const counts = histogram(picker('max-score-picker'), [...scores], 300);
    for (let i = 0; i < counts.length; i++)
      expect(Math.abs(counts[i]! - expected[i]!)).toBeLessThanOrEqual(40);
  });

  it('maxNumOfEndpoints returns the best k in order', () => {
    const set = [state(1), state(2), state(3), state(4)];
    const picks = picker('max-score-picker', { maxNumOfEndpoints: 3 }).pick(
      ctx(),
      set,
      Float64Array.from([0.2, 0.9, 0.1, 0.5]),
      new SeededRng(1),
    );
    expect(picks).toEqual([1, 3, 0]);
  });
});

describe('weighted-random-picker', () => {
  it('draws proportionally to the scores (seeded, 20 000 draws, ±2 points)', () => {
    const scores = [1, 2, 3, 4];
    const counts = histogram(picker('weighted-random-picker'), scores, 20_000);
    for (let i = 0; i < scores.length; i++) {
      expect(Math.abs(counts[i]! / 20_000 - scores[i]! / 10)).toBeLessThan(0.02);
    }
  });

  it('never picks a zero score while a positive one exists; all zero is uniform', () => {
    expect(histogram(picker('weighted-random-picker'), [0, 1, 0], 500)).toEqual([0, 500, 0]);
    const uniform = histogram(picker('weighted-random-picker'), [0, 0, 0, 0], 8000);
    for (const c of uniform) expect(Math.abs(c / 8000 - 0.25)).toBeLessThan(0.03);
  });
});

describe('random-picker', () => {
  it('is uniform regardless of scores (seeded, ±2 points)', () => {
    const counts = histogram(picker('random-picker'), [0, 10, 0, 0, 5], 20_000);
    for (const c of counts) expect(Math.abs(c / 20_000 - 0.2)).toBeLessThan(0.02);
  });
});

describe('round-robin-picker', () => {
  it('takes candidates in turn', () => {
    const p = picker('round-robin-picker');
    const set = [state(1), state(2), state(3)];
    const seq = Array.from({ length: 7 }, () => p.pick(ctx(), set, new Float64Array(3), new SeededRng(1))[0]);
    expect(seq).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});

describe('least-request-picker', () => {
  it('picks the fewest in-flight requests, ties at random', () => {
    expect(histogram(picker('least-request-picker'), [0, 0, 0], 200, [3, 1, 2])).toEqual([0, 200, 0]);
    const ties = histogram(picker('least-request-picker'), [0, 0, 0], 600, [1, 0, 0]);
    expect(ties[0]).toBe(0);
    expect(Math.abs(ties[1]! - 300)).toBeLessThan(60);
  });
});

it('maxNumOfEndpoints is validated', () => {
  expect(() => picker('max-score-picker', { maxNumOfEndpoints: 0 })).toThrow(
    /maxNumOfEndpoints: must be between 1 and 64/,
  );
  expect(() => picker('random-picker', { maxNumOfEndpoints: 'two' })).toThrow(/must be an integer/);
});

describe('picker contracts', () => {
  it.each([
    ['max-score-picker', true],
    ['weighted-random-picker', false],
    ['random-picker', false],
    ['round-robin-picker', false],
    ['least-request-picker', false],
  ])('%s: a picker; follows scores: %s', (type, follows) => {
    const p = picker(type);
    expect([p.kind, p.type, p.followsScores]).toEqual(['picker', type, follows]);
  });

  // 70 candidates: more than the pickers' preallocated 64 keys
  const many = (inflight: (i: number) => number) =>
    Array.from({ length: 70 }, (_, i) => state(i + 1, { inflight: inflight(i) }));

  it('least-request-picker reads every candidate of a large pool', () => {
    const set = many((i) => (i === 69 ? 0 : 1));
    expect(picker('least-request-picker').pick(ctx(), set, new Float64Array(70), new SeededRng(3))).toEqual([
      69,
    ]);
  });

  it('weighted-random-picker reads every candidate of a large pool; a negative score is never drawn', () => {
    const set = many(() => 0);
    const scores = new Float64Array(70);
    scores[69] = 0.5;
    scores[0] = -1;
    const p = picker('weighted-random-picker');
    const rng = new SeededRng(4);
    for (let d = 0; d < 50; d++) expect(p.pick(ctx(), set, scores, rng)).toEqual([69]);
  });

  it('random-picker returns maxNumOfEndpoints distinct candidates, each first as often (seeded, ±3 points)', () => {
    const p = picker('random-picker', { maxNumOfEndpoints: 2 });
    const set = [state(1), state(2), state(3), state(4)];
    const rng = new SeededRng(5);
    const first = [0, 0, 0, 0];
    const second = [0, 0, 0, 0];
    for (let d = 0; d < 8000; d++) {
      const picks = p.pick(ctx(), set, new Float64Array(4), rng);
      expect(picks).toHaveLength(2);
      expect(picks[0]).not.toBe(picks[1]);
      first[picks[0]!]!++;
      second[picks[1]!]!++;
    }
    for (const c of [...first, ...second]) expect(Math.abs(c / 8000 - 0.25)).toBeLessThan(0.03);
    // fewer candidates than asked: all of them
    expect(
      [
        ...picker('random-picker', { maxNumOfEndpoints: 5 }).pick(
          ctx(),
          set.slice(0, 3),
          new Float64Array(3),
          rng,
        ),
      ].sort(),
    ).toEqual([0, 1, 2]);
  });

  it('ties among the best k are broken uniformly (max-score, k = 2, seeded, ±3 points)', () => {
    const p = picker('max-score-picker', { maxNumOfEndpoints: 2 });
    const set = [state(1), state(2), state(3)];
    const rng = new SeededRng(6);
    const first = [0, 0, 0];
    for (let d = 0; d < 6000; d++) first[p.pick(ctx(), set, Float64Array.from([1, 1, 1]), rng)[0]!]!++;
    for (const c of first) expect(Math.abs(c / 6000 - 1 / 3)).toBeLessThan(0.03);
  });

  it('no candidates: no pick', () => {
    for (const k of [1, 2]) {
      expect(topK(new Float64Array(0), 0, k, new SeededRng(1))).toEqual([]);
    }
  });
});

describe('single-profile-handler', () => {
  it('runs the first (only) profile and takes no parameters', () => {
    const h = createSingleProfileHandler('h', {});
    expect([h.kind, h.type]).toEqual(['profile-handler', 'single-profile-handler']);
    const profiles = [{ name: 'a' }, { name: 'b' }] as unknown as SchedulerProfile[];
    expect(h.pickProfile(ctx(), profiles)).toBe(profiles[0]);
    expect(() => createSingleProfileHandler('h', { x: 1 })).toThrow(/x: unknown parameter/);
  });
});
