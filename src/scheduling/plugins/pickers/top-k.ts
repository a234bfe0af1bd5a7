/** Shared selection helpers for pickers. */
import type { Rng } from '../../../util/rng.js';
import { ParamReader } from '../../framework/params.js';

/** `maxNumOfEndpoints` (reference parameter of every picker), default 1. */
export function readMaxEndpoints(type: string, params: Readonly<Record<string, unknown>>): number {
  const p = new ParamReader(type, params);
  const k = p.int('maxNumOfEndpoints', 1, { min: 1, max: 64 });
  p.done();
  return k;
}

/**
 * Indices of the k largest `keys[0 … n)`, largest first; ties broken uniformly at random.
 * k = 1 is a single pass without allocation beyond the result.
 */
export function topK(keys: ArrayLike<number>, n: number, k: number, rng: Rng): number[] {
  if (n === 0) return [];
  if (k === 1) {
    let best = 0;
    let bestKey = keys[0]!;
    let ties = 1;
    for (let i = 1; i < n; i++) {
      const v = keys[i]!;
      if (v > bestKey) {
        bestKey = v;
        best = i;
        ties = 1;
      } else if (v === bestKey) {
        ties++;
        if (rng.next() * ties < 1) best = i;
      }
    }
    return [best];
  }
  const idx: number[] = [];
  const tie: number[] = [];
  for (let i = 0; i < n; i++) {
    idx.push(i);
    tie.push(rng.next());
  }
  idx.sort((a, b) => keys[b]! - keys[a]! || tie[a]! - tie[b]!);
  return idx.slice(0, Math.min(k, n));
}
