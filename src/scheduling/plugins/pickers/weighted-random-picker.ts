/**
 * `weighted-random-picker` (reference): candidates drawn with probability proportional to their total
 * score, without replacement (A-Res: key = u^(1/score), largest keys win). Zero-score candidates
 * come only after every positive one; all zero → uniform.
 */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import type { Picker } from '../../framework/types.js';
import { readMaxEndpoints, topK } from './top-k.js';

export const WEIGHTED_RANDOM_PICKER = 'weighted-random-picker';

export class WeightedRandomPicker implements Picker {
  readonly kind = 'picker';
  readonly type = WEIGHTED_RANDOM_PICKER;
  readonly followsScores = false;
  private keys = new Float64Array(64);

  constructor(
    readonly name: string,
    readonly maxNumOfEndpoints: number,
  ) {}

  pick(
    _ctx: SchedulingContext,
    candidates: readonly SchedulingEndpoint[],
    scores: Float64Array,
    rng: Rng,
  ): number[] {
    const n = candidates.length;
    if (this.keys.length < n) this.keys = new Float64Array(n * 2);
    const keys = this.keys;
    for (let i = 0; i < n; i++) {
      const w = scores[i]!;
      // log(u)/w is a monotone transform of u^(1/w); zero weights sort below every positive one.
      keys[i] = w > 0 ? Math.log(1 - rng.next()) / w : Number.NEGATIVE_INFINITY;
    }
    return topK(keys, n, this.maxNumOfEndpoints, rng);
  }
}

export function createWeightedRandomPicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): WeightedRandomPicker {
  return new WeightedRandomPicker(name, readMaxEndpoints(WEIGHTED_RANDOM_PICKER, params));
}
