/**
 * `prefill-cost-scorer` (infergate): prefix affinity and load in one currency — the prompt tokens an
 * endpoint must prefill before this request's first token:
 *
 *   cost(e) = prefill backlog(e) + uncached(e)
 *
 * - uncached(e): the prompt's tokens (body bytes / 4) not in e's prefix cache, from the match the
 *   `prefix-cache-scorer` of the same profile found (it must come before this scorer; without it
 *   every endpoint counts the whole prompt, and the score balances the backlog alone). When every
 *   hashed block matched, the prompt is taken as cached beyond the hashed window too (a growing
 *   conversation); otherwise only the matched blocks are.
 * - prefill backlog(e): the uncached prompt tokens this gateway sent to e, drained at e's prefill
 *   rate — learned per endpoint from the TTFTs it answers with (tokens ahead ÷ TTFT, moving
 *   average), `prefillTokensPerSecond` until the first sample (SchedulingEndpoint.prefillBacklog).
 *
 * Score: (min cost + slack) / (cost + slack), in (0, 1]; the cheapest endpoint scores 1. Affinity
 * therefore holds exactly while the affine endpoint's backlog is smaller than the prefill a cold
 * endpoint would do, and is released when the backlog exceeds it (the tail of issue 16: requests
 * queued behind long prefills on the one replica that holds their prefix). Queued *tokens*, not
 * requests: one waiting 8,000-token prefill weighs as much as eighty 100-token ones.
 */
import type { SchedulingContext } from '../../framework/context.js';
import type { RequestOutcome, SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';
import { PREFIX_MATCH, type PrefixMatch } from './prefix-cache-scorer.js';

export const PREFILL_COST_SCORER = 'prefill-cost-scorer';

export interface PrefillCostParams {
  /** Prefill rate assumed for an endpoint before its first TTFT sample, tokens per second (wall). */
  readonly prefillTokensPerSecond: number;
  /** Added to every cost in the score's ratio: differences much below it barely matter. Tokens. */
  readonly slackTokens: number;
  /** Samples of the prefill rate need at least this many tokens ahead (smaller ones are mostly overhead). */
  readonly minSampleTokens: number;
}

interface RequestCost {
  candidates: readonly SchedulingEndpoint[];
  /** Uncached prompt tokens per candidate (scoring order). */
  uncached: Float64Array;
  promptTokens: number;
  /** Backlog joined + own uncached tokens at the last dispatch (the rate sample's numerator). */
  sampleTokens: number;
}

export class PrefillCostScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = PREFILL_COST_SCORER;
  readonly category = 'distribution';
  private readonly fallbackPerMs: number;

  constructor(
    readonly name: string,
    readonly params: PrefillCostParams,
  ) {
    this.fallbackPerMs = params.prefillTokensPerSecond / 1000;
  }

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const n = candidates.length;
    const prompt = ctx.estPromptTokens();
    const match = ctx.get<PrefixMatch>(PREFIX_MATCH);
    const data: RequestCost = {
      candidates,
      uncached: new Float64Array(n),
      promptTokens: prompt,
      sampleTokens: 0,
    };
    ctx.set(this, data);
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const ep = candidates[i]!;
      let cached = 0;
      if (match && match.candidates === candidates) cached = match.cachedTokens(i, prompt);
      const uncached = Math.max(0, prompt - cached);
      data.uncached[i] = uncached;
      const cost = ep.prefillBacklog(ctx.now, this.fallbackPerMs) + uncached;
      out[i] = cost;
      if (cost < min) min = cost;
    }
    const s = this.params.slackTokens;
    for (let i = 0; i < n; i++) out[i] = (min + s) / (out[i]! + s);
  }

  onDispatch(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    const data = ctx.get<RequestCost>(this);
    if (!data) return;
    const i = data.candidates.indexOf(endpoint);
    const uncached = i >= 0 ? data.uncached[i]! : data.promptTokens;
    const ahead = endpoint.addPrefill(uncached, performance.now(), this.fallbackPerMs);
    data.sampleTokens = ahead + uncached;
  }

  onComplete(ctx: SchedulingContext, endpoint: SchedulingEndpoint, outcome: RequestOutcome): void {
    const data = ctx.get<RequestCost>(this);
    if (!data || outcome.ttftMs === undefined) return;
    endpoint.notePrefillSample(data.sampleTokens, outcome.ttftMs, this.params.minSampleTokens);
  }

  /** The fallback rate, tokens per wall ms (for the access log's load summary). */
  get fallbackTokensPerMs(): number {
    return this.fallbackPerMs;
  }
}

export function createPrefillCostScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): PrefillCostScorer {
  const p = new ParamReader(PREFILL_COST_SCORER, params);
  const prefillTokensPerSecond = p.float('prefillTokensPerSecond', 10_000, { min: 1 });
  const slackTokens = p.float('slackTokens', 1024, { min: 1 });
  const minSampleTokens = p.float('minSampleTokens', 512, { min: 0 });
  p.done();
  return new PrefillCostScorer(name, { prefillTokensPerSecond, slackTokens, minSampleTokens });
}
