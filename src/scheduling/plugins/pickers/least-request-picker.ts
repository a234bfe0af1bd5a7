/**
 * `least-request-picker` (infergate): fewest requests this gateway has in flight on the endpoint,
 * ties at random; scores ignored. Envoy's least-request, and the baseline of the quality benchmark.
 */

import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { KeyedPicker, readMaxEndpoints } from './top-k.js';

export const LEAST_REQUEST_PICKER = 'least-request-picker';

export class LeastRequestPicker extends KeyedPicker {
  readonly type = LEAST_REQUEST_PICKER;
  readonly followsScores = false;

  protected fillKeys(keys: Float64Array, candidates: readonly SchedulingEndpoint[]): void {
    for (let i = 0; i < candidates.length; i++) keys[i] = -candidates[i]!.inflightRequests;
  }
}

export function createLeastRequestPicker(
  name: string,
  params: Readonly<Record<string, unknown>>,
): LeastRequestPicker {
  return new LeastRequestPicker(name, readMaxEndpoints(LEAST_REQUEST_PICKER, params));
}
