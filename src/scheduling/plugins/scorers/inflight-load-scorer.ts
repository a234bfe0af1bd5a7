/**
 * `inflight-load-scorer` (infergate): this gateway's own load on each endpoint, counted at dispatch
 * and released at completion — so a burst arriving between two scrapes spreads at once instead of
 * herding onto the replica that looked idlest at the last scrape.
 *
 *   load = requestWeight × in-flight requests + tokenWeight × in-flight prompt tokens / tokensPerUnit
 *   score = (min load + 1) / (load + 1)        (1 for the least loaded; relative, not min-max)
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';
import { relativeInverse } from './normalize.js';

export const INFLIGHT_LOAD_SCORER = 'inflight-load-scorer';

export interface InflightLoadParams {
  readonly requestWeight: number;
  readonly tokenWeight: number;
  readonly tokensPerUnit: number;
}

export class InflightLoadScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = INFLIGHT_LOAD_SCORER;
  readonly category = 'distribution';

  constructor(
    readonly name: string,
    readonly params: InflightLoadParams,
  ) {}

  score(_ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const { requestWeight, tokenWeight, tokensPerUnit } = this.params;
    for (let i = 0; i < candidates.length; i++) {
      const ep = candidates[i]!;
      out[i] = requestWeight * ep.inflightRequests + (tokenWeight * ep.inflightPromptTokens) / tokensPerUnit;
    }
    relativeInverse(out, candidates.length, 1);
  }
}

export function createInflightLoadScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): InflightLoadScorer {
  const p = new ParamReader(INFLIGHT_LOAD_SCORER, params);
  const requestWeight = p.float('requestWeight', 1, { min: 0 });
  const tokenWeight = p.float('tokenWeight', 1, { min: 0 });
  const tokensPerUnit = p.int('tokensPerUnit', 4000, { min: 1 });
  p.done();
  return new InflightLoadScorer(name, { requestWeight, tokenWeight, tokensPerUnit });
}
