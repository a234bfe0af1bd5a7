/** `max-score-picker` (reference, the default picker): highest total score first, ties at random. */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import type { Picker } from '../../framework/types.js';
import { readMaxEndpoints, topK } from './top-k.js';

export const MAX_SCORE_PICKER = 'max-score-picker';

export class MaxScorePicker implements Picker {
  readonly kind = 'picker';
  readonly type = MAX_SCORE_PICKER;
  readonly followsScores = true;

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
    return topK(scores, candidates.length, this.maxNumOfEndpoints, rng);
  }
}

export function createMaxScorePicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): MaxScorePicker {
  return new MaxScorePicker(name, readMaxEndpoints(MAX_SCORE_PICKER, params));
}
