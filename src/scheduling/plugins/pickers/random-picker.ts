/** `random-picker` (reference): uniformly random candidates, scores ignored. */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import type { Picker } from '../../framework/types.js';
import { readMaxEndpoints } from './top-k.js';

export const RANDOM_PICKER = 'random-picker';

export class RandomPicker implements Picker {
  readonly kind = 'picker';
  readonly type = RANDOM_PICKER;
  readonly followsScores = false;

  constructor(
    readonly name: string,
    readonly maxNumOfEndpoints: number,
  ) {}

  pick(
    _ctx: SchedulingContext,
    candidates: readonly SchedulingEndpoint[],
    _scores: Float64Array,
    rng: Rng,
  ): number[] {
    const n = candidates.length;
    const k = Math.min(this.maxNumOfEndpoints, n);
    if (k === 1) return [Math.floor(rng.next() * n)];
    const idx: number[] = [];
    for (let i = 0; i < n; i++) idx.push(i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng.next() * (n - i));
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    return idx.slice(0, k);
  }
}

export function createRandomPicker(name: string, params: Readonly<Record<string, unknown>>): RandomPicker {
  return new RandomPicker(name, readMaxEndpoints(RANDOM_PICKER, params));
}
