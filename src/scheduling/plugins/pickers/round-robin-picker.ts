/** `round-robin-picker` (infergate): candidates in turn, scores ignored (the baseline of benchmarks). */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import type { Picker } from '../../framework/types.js';
import { readMaxEndpoints } from './top-k.js';

export const ROUND_ROBIN_PICKER = 'round-robin-picker';

export class RoundRobinPicker implements Picker {
  readonly kind = 'picker';
  readonly type = ROUND_ROBIN_PICKER;
  readonly followsScores = false;
  private next = 0;

  constructor(
    readonly name: string,
    readonly maxNumOfEndpoints: number,
  ) {}

  pick(
    _ctx: SchedulingContext,
    candidates: readonly SchedulingEndpoint[],
    _scores: Float64Array,
    _rng: Rng,
  ): number[] {
    const n = candidates.length;
    const start = this.next % n;
    this.next = (start + 1) % 1_000_000_007;
    const k = Math.min(this.maxNumOfEndpoints, n);
    const out: number[] = [];
    for (let i = 0; i < k; i++) out.push((start + i) % n);
    return out;
  }
}

export function createRoundRobinPicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): RoundRobinPicker {
  return new RoundRobinPicker(name, readMaxEndpoints(ROUND_ROBIN_PICKER, params));
}
