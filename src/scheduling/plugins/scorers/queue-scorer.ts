/**
 * `queue-scorer` (reference): shorter waiting queue, higher score — (max − q) / (max − min) over the
 * candidates, 1 for all when equal. q is the estimated queue: the last scrape's waiting requests plus
 * what this gateway sent since (0 for an endpoint without metrics).
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';
import { minMaxInverse } from './normalize.js';

export const QUEUE_SCORER = 'queue-scorer';

export class QueueScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = QUEUE_SCORER;
  readonly category = 'distribution';

  constructor(readonly name: string) {}

  score(_ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    for (let i = 0; i < candidates.length; i++) out[i] = candidates[i]!.estWaiting();
    minMaxInverse(out, candidates.length);
  }
}

export function createQueueScorer(name: string, params: Readonly<Record<string, unknown>>): QueueScorer {
  new ParamReader(QUEUE_SCORER, params).done();
  return new QueueScorer(name);
}
