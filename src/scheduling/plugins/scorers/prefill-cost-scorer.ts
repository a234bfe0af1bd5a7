/**
 * `prefill-cost-scorer` (infergate): prefix affinity and load in one currency — the prompt tokens an
 * endpoint must prefill before this request's first token:
 *
 *   cost(e) = pending prefill(e) + uncached(e) × (1 + decodeStallWeight × decoding(e))
 *
 * - uncached(e): the prompt's tokens (body bytes / 4) not in e's prefix cache, from the match the
 *   `prefix-cache-scorer` of the same profile found (it must come before this scorer; without it
 *   every endpoint counts the whole prompt, and the score balances pending prefill alone). When every
 *   hashed block matched, the prompt is taken as cached beyond the hashed window too (a growing
 *   conversation); otherwise only the matched blocks are.
 * - pending prefill(e): the uncached tokens of this gateway's requests sent to e that have not
 *   answered their first token yet (SchedulingEndpoint.pendingPrefillTokens). Counted at dispatch,
 *   released at the first token (streamed answers) or at the end of the attempt — no assumed prefill
 *   rate and no scrape gap: a request is counted from the moment it is sent until the endpoint has
 *   prefilled it.
 * - decoding(e): this gateway's requests on e past their first token (in flight − pending prefill).
 *   A prefill shares the engine's steps with them: each of its chunks stalls every running decode,
 *   so its uncached tokens cost more where more requests decode. Without this term a cold prompt
 *   goes to the replica that cached its shared system prompt even when that replica is busy
 *   decoding and others are idle (the decode batches pile up there and their inter-token latency
 *   jumps with every chunk).
 *
 * Score: 1 − (cost − min cost) / costSpanTokens, clamped to [0, 1]: linear in the tokens of extra
 * prefill work, so affinity holds exactly while the affine endpoint's pending prefill is smaller than
 * the cold prefill another endpoint would do, and is released when it is larger (issue 16's tail:
 * requests queued behind long prefills on the one replica holding their prefix). Pending *tokens*,
 * not requests: one queued 8,000-token prefill weighs as much as eighty 100-token ones.
 */
import type { SchedulingContext } from '../../framework/context.js';
import type { RequestOutcome, SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';
import { PREFIX_MATCH, type PrefixMatch } from './prefix-cache-scorer.js';

export const PREFILL_COST_SCORER = 'prefill-cost-scorer';

export interface PrefillCostParams {
  /** Extra prefill tokens over the cheapest candidate at which the score reaches 0. */
  readonly costSpanTokens: number;
  /** Share of a prompt's uncached tokens added per request decoding on the endpoint. */
  readonly decodeStallWeight: number;
}

interface RequestCost {
  candidates: readonly SchedulingEndpoint[];
  /** Uncached prompt tokens per candidate (scoring order). */
  uncached: Float64Array;
  promptTokens: number;
  /** The endpoint where this request's tokens count as pending prefill now, and how many. */
  pendingOn: SchedulingEndpoint | undefined;
  pendingTokens: number;
}

export class PrefillCostScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = PREFILL_COST_SCORER;
  readonly category = 'distribution';

  constructor(
    readonly name: string,
    readonly params: PrefillCostParams,
  ) {}

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const n = candidates.length;
    const prompt = ctx.estPromptTokens();
    const match = ctx.get<PrefixMatch>(PREFIX_MATCH);
    const data: RequestCost = {
      candidates,
      uncached: new Float64Array(n),
      promptTokens: prompt,
      pendingOn: undefined,
      pendingTokens: 0,
    };
    ctx.set(this, data);
    const sameCandidates = match !== undefined && match.candidates === candidates;
    const stall = this.params.decodeStallWeight;
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const ep = candidates[i]!;
      const cached = sameCandidates ? match.cachedTokens(i, prompt) : 0;
      const uncached = Math.max(0, prompt - cached);
      data.uncached[i] = uncached;
      const decoding = Math.max(0, ep.inflightRequests - ep.pendingPrefillRequests);
      const cost = ep.pendingPrefillTokens + uncached * (1 + stall * decoding);
      out[i] = cost;
      if (cost < min) min = cost;
    }
    const span = this.params.costSpanTokens;
    for (let i = 0; i < n; i++) out[i] = Math.max(0, 1 - (out[i]! - min) / span);
  }

  onDispatch(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    const data = ctx.get<RequestCost>(this);
    if (!data) return;
    release(data);
    const i = data.candidates.indexOf(endpoint);
    data.pendingTokens = i >= 0 ? data.uncached[i]! : data.promptTokens;
    data.pendingOn = endpoint;
    endpoint.startPrefill(data.pendingTokens);
  }

  onFirstToken(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    const data = ctx.get<RequestCost>(this);
    if (data && data.pendingOn === endpoint) release(data);
  }

  onComplete(ctx: SchedulingContext, endpoint: SchedulingEndpoint, _outcome: RequestOutcome): void {
    const data = ctx.get<RequestCost>(this);
    if (data && data.pendingOn === endpoint) release(data);
  }
}

/** The request's pending prefill stops counting (once). */
function release(data: RequestCost): void {
  const ep = data.pendingOn;
  if (ep === undefined) return;
  data.pendingOn = undefined;
  ep.endPrefill(data.pendingTokens);
}

export function createPrefillCostScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): PrefillCostScorer {
  const p = new ParamReader(PREFILL_COST_SCORER, params);
  const costSpanTokens = p.float('costSpanTokens', 8192, { min: 1 });
  const decodeStallWeight = p.float('decodeStallWeight', 0.25, { min: 0 });
  p.done();
  return new PrefillCostScorer(name, { costSpanTokens, decodeStallWeight });
}
