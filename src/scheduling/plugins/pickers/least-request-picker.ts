/**
 * `least-request-picker` (infergate): fewest requests this gateway has in flight on the endpoint,
 * ties at random; scores ignored. Envoy's least-request, and the baseline of the quality benchmark.
 */

import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import type { Picker } from '../../framework/types.js';
import { readMaxEndpoints, topK } from './top-k.js';

export const LEAST_REQUEST_PICKER = 'least-request-picker';

export class LeastRequestPicker implements Picker {
  readonly kind = 'picker';
  readonly type = LEAST_REQUEST_PICKER;
  readonly followsScores = false;
  private keys = new Float64Array(64);

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
    if (this.keys.length < n) this.keys = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) this.keys[i] = -candidates[i]!.inflightRequests;
    return topK(this.keys, n, this.maxNumOfEndpoints, rng);
  }
}

export function createLeastRequestPicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): LeastRequestPicker {
  return new LeastRequestPicker(name, readMaxEndpoints(LEAST_REQUEST_PICKER, params));
}
