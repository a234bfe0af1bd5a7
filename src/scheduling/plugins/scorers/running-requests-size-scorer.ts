/**
 * `running-requests-size-scorer` (reference): fewer requests on the server, higher score —
 * (max − r) / (max − min), 1 for all when equal. r is running + waiting from the last scrape plus what
 * this gateway sent since; this gateway's in-flight count for an endpoint without metrics.
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';
import { minMaxInverse } from './normalize.js';

export const RUNNING_REQUESTS_SIZE_SCORER = 'running-requests-size-scorer';

export class RunningRequestsSizeScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = RUNNING_REQUESTS_SIZE_SCORER;
  readonly category = 'distribution';

  constructor(readonly name: string) {}

  score(_ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    for (let i = 0; i < candidates.length; i++) out[i] = candidates[i]!.estRequests();
    minMaxInverse(out, candidates.length);
  }
}

export function createRunningRequestsSizeScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): RunningRequestsSizeScorer {
  new ParamReader(RUNNING_REQUESTS_SIZE_SCORER, params).done();
  return new RunningRequestsSizeScorer(name);
}
