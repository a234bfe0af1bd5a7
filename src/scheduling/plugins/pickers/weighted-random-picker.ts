/**
 * `weighted-random-picker` (reference): candidates drawn with probability proportional to their total
 * score, without replacement (A-Res: key = u^(1/score), largest keys win). Zero-score candidates
 * come only after every positive one; all zero → uniform.
 */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { KeyedPicker, readMaxEndpoints } from './top-k.js';

export const WEIGHTED_RANDOM_PICKER = 'weighted-random-picker';

export class WeightedRandomPicker extends KeyedPicker {
  readonly type = WEIGHTED_RANDOM_PICKER;
  readonly followsScores = false;

  protected fillKeys(
    keys: Float64Array,
    candidates: readonly SchedulingEndpoint[],
    scores: Float64Array,
    rng: Rng,
  ): void {
    for (let i = 0; i < candidates.length; i++) {
      const w = scores[i]!;
      // log(u)/w is a monotone transform of u^(1/w); zero weights sort below every positive one.
      keys[i] = w > 0 ? Math.log(1 - rng.next()) / w : Number.NEGATIVE_INFINITY;
    }
  }
}

export function createWeightedRandomPicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): WeightedRandomPicker {
  return new WeightedRandomPicker(name, readMaxEndpoints(WEIGHTED_RANDOM_PICKER, params));
}
