import { describe, expect, it } from 'vitest';
import { minMaxInverse, relativeInverse } from './normalize.js';

/** Normalises the first `n` values of `values` (the rest of the buffer must stay as it was). */
function run(f: (out: Float64Array, n: number) => void, values: number[], n = values.length): number[] {
  const out = Float64Array.from(values);
  f(out, n);
  return [...out];
}

describe('minMaxInverse: (max − v) / (max − min) over out[0 … n)', () => {
  it.each([
    ['lowest 1, highest 0, linear between', [2, 4, 6], 3, [1, 0.5, 0]],
    ['order does not matter', [6, 2, 4], 3, [0, 1, 0.5]],
    ['all equal → 1', [3, 3], 2, [1, 1]],
    ['values past n are neither read nor written', [2, 4, 6, -50, 99], 3, [1, 0.5, 0, -50, 99]],
    ['n = 0 changes nothing', [5, 7], 0, [5, 7]],
  ])('%s', (_label, values, n, want) => {
    expect(run(minMaxInverse, values, n)).toEqual(want);
  });
});

describe('relativeInverse: (min + k) / (v + k) over out[0 … n)', () => {
  const k1 = (out: Float64Array, n: number) => relativeInverse(out, n, 1);
  it.each([
    ['least loaded 1, twice its load (plus k) ½', [0, 1, 3], 3, [1, 0.5, 0.25]],
    ['min found wherever it is', [3, 1, 0], 3, [0.25, 0.5, 1]],
    ['values past n are neither read nor written', [1, 3, -5, 99], 2, [1, 0.5, -5, 99]],
    ['no finite minimum → 1', [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 2, [1, 1]],
    ['n = 0 changes nothing', [5], 0, [5]],
  ])('%s', (_label, values, n, want) => {
    expect(run(k1, values, n)).toEqual(want);
  });

  it('k smooths small loads', () => {
    expect(run((o, n) => relativeInverse(o, n, 4), [0, 4], 2)).toEqual([1, 0.5]);
  });
});
