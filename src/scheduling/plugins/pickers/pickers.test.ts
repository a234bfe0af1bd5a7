import { describe, expect, it } from 'vitest';
import { context, request, state } from '../../../../test/scheduling/helpers.js';
import { SeededRng } from '../../../util/rng.js';
import type { Picker } from '../../framework/types.js';
import { PLUGIN_FACTORIES } from '../../plugin-catalog.js';

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
