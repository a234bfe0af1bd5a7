/**
 * `prefix-cache-scorer` (reference type and parameters, hot-spot safe): the share of the prompt's
 * leading blocks an endpoint is believed to hold in its prefix cache — matched leading blocks / total
 * blocks — from the pool's approximate PrefixIndex, which records a request's blocks for the endpoint
 * it is dispatched to.
 *
 * Hot-spot guard (the complaint users raise against every prefix-affinity picker): an endpoint's
 * prefix score is faded out when it is loaded well above the least-loaded candidate — by more than
 * max(imbalanceRequests, imbalanceRatio × least) requests (estimated running + waiting), or by more
 * than imbalanceKv of KV utilisation; it fades linearly to 0 at twice that excess. Affinity is thus
 * released exactly when following it would queue the request behind others, and the request lands
 * elsewhere — which then holds the prefix too, so a popular prefix spreads over several replicas
 * instead of pinning one.
 *
 * When this scorer decides a pick — or the request goes to the endpoint holding strictly the most of
 * its prefix, whichever term decided (prefill-cost-scorer weighs affinity in uncached tokens) — it
 * logs `Do prefix-aware routing!` once, with the match ratio of the chosen endpoint against the best
 * of the others, e.g. `"matching ratio": "0.54 > 0.12"`.
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { CHARS_PER_TOKEN } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { PluginHost, Scorer } from '../../framework/types.js';
import { chainSeed, hashBlocks } from '../../prefix/block-hash.js';
import { PrefixIndex } from '../../prefix/prefix-index.js';
import { fadeHotspots } from './hotspot-fade.js';

export const PREFIX_CACHE_SCORER = 'prefix-cache-scorer';

export interface PrefixCacheParams {
  /** Characters per block (reference default 64: 16 tokens × ~4 characters). */
  readonly blockSize: number;
  /** Blocks hashed at most (prompt characters beyond blockSize × this are ignored). */
  readonly maxPrefixBlocksToMatch: number;
  /** Index capacity per endpoint, in blocks, when its KV size is unknown (or autoTune is off). */
  readonly lruCapacityPerServer: number;
  /** Size each endpoint's capacity from its exported KV cache size (num_gpu_blocks × block_size). */
  readonly autoTune: boolean;
  /** Bound of the whole index in (block, endpoint) entries. */
  readonly maxIndexEntries: number;
  /** Fade affinity out on endpoints loaded well above the least loaded. */
  readonly hotspotGuard: boolean;
  readonly imbalanceRequests: number;
  readonly imbalanceRatio: number;
  readonly imbalanceKv: number;
}

interface RequestPrefix {
  hashes: Int32Array;
  n: number;
  candidates: readonly SchedulingEndpoint[];
  /** Unfaded match ratio per candidate (scoring order). */
  ratios: Float64Array;
  counted: boolean;
  /** `Do prefix-aware routing!` was logged for this request. */
  logged: boolean;
}

/**
 * What this scorer found for a request, for other plugins of the same profile that run after it
 * (`ctx.get<PrefixMatch>(PREFIX_MATCH)`; e.g. prefill-cost-scorer).
 */
export interface PrefixMatch {
  /** The candidates scored, in order. */
  readonly candidates: readonly SchedulingEndpoint[];
  /**
   * Estimated prompt tokens candidate i holds cached, of a `promptTokens`-token prompt: the matched
   * blocks' characters ÷ 4, or the whole prompt when every hashed block matched (a conversation
   * continuing beyond the hashed window).
   */
  cachedTokens(i: number, promptTokens: number): number;
}

/** ctx key of the PrefixMatch of the request being scheduled. */
export const PREFIX_MATCH: object = Object.freeze({ key: 'prefix-match' });

class PrefixMatchView implements PrefixMatch {
  constructor(
    private readonly data: RequestPrefix,
    private readonly blockTokens: number,
  ) {}

  get candidates(): readonly SchedulingEndpoint[] {
    return this.data.candidates;
  }

  cachedTokens(i: number, promptTokens: number): number {
    const r = this.data.ratios[i] ?? 0;
    if (r >= 1) return promptTokens;
    return Math.min(promptTokens, Math.round(r * this.data.n) * this.blockTokens);
  }
}

export class PrefixCacheScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = PREFIX_CACHE_SCORER;
  readonly category = 'affinity';
  readonly promptChars: number;
  private host: PluginHost | undefined;
  private indexRef: PrefixIndex | undefined;
  private readonly scratch: Int32Array;

  constructor(
    readonly name: string,
    readonly params: PrefixCacheParams,
  ) {
    this.promptChars = params.blockSize * params.maxPrefixBlocksToMatch;
    this.scratch = new Int32Array(params.maxPrefixBlocksToMatch);
  }

  attach(host: PluginHost): void {
    this.host = host;
    const p = this.params;
    this.indexRef = host.shared(
      `prefix-index:${p.blockSize}:${p.maxPrefixBlocksToMatch}:${p.lruCapacityPerServer}:${p.maxIndexEntries}`,
      () => new PrefixIndex({ defaultCapacity: p.lruCapacityPerServer, maxEntries: p.maxIndexEntries }),
    );
  }

  /** The index this scorer reads and feeds (shared per pool across reloads). */
  get index(): PrefixIndex {
    if (!this.indexRef) {
      const p = this.params;
      this.indexRef = new PrefixIndex({
        defaultCapacity: p.lruCapacityPerServer,
        maxEntries: p.maxIndexEntries,
      });
    }
    return this.indexRef;
  }

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const p = this.params;
    const text = ctx.prompt();
    const salt = ctx.request.json?.cache_salt;
    const seed = chainSeed(ctx.targetModel, typeof salt === 'string' ? salt : undefined);
    const n = hashBlocks(text, p.blockSize, p.maxPrefixBlocksToMatch, seed, this.scratch);
    const nc = candidates.length;
    const data: RequestPrefix = {
      hashes: this.scratch.slice(0, n),
      n,
      candidates,
      ratios: new Float64Array(nc),
      counted: false,
      logged: false,
    };
    ctx.set(this, data);
    ctx.set(PREFIX_MATCH, new PrefixMatchView(data, p.blockSize / CHARS_PER_TOKEN));
    if (n === 0) return;
    const index = this.index;
    const matched = index.match(data.hashes, n);
    let any = false;
    for (let i = 0; i < nc; i++) {
      const slot = index.slotOf(candidates[i]!.id);
      const r = slot >= 0 ? matched[slot]! / n : 0;
      data.ratios[i] = r;
      out[i] = r;
      if (r > 0) any = true;
    }
    if (any && p.hotspotGuard && nc > 1) fadeHotspots(candidates, out, p);
  }

  onDispatch(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    const data = ctx.get<RequestPrefix>(this);
    if (!data || data.n === 0) return;
    this.index.insert(endpoint.id, data.hashes, data.n, this.capacityFor(endpoint));
    if (!data.counted) {
      data.counted = true;
      const i = data.candidates.indexOf(endpoint);
      const matched = i >= 0 ? Math.round(data.ratios[i]! * data.n) : 0;
      this.host?.telemetry?.prefixLookup(data.n, matched);
      // Affinity may have decided through another term (prefill-cost-scorer counts uncached
      // tokens): the request still went to the endpoint holding the most of its prefix.
      if (!data.logged && i >= 0) {
        const { mine, other } = ratiosOf(data, endpoint);
        if (mine > other) this.logRouting(ctx, endpoint, mine, other, data);
      }
    }
  }

  onDecisive(
    ctx: SchedulingContext,
    picked: SchedulingEndpoint,
    candidates: readonly SchedulingEndpoint[],
  ): void {
    const data = ctx.get<RequestPrefix>(this);
    if (!data || data.candidates !== candidates || data.logged) return;
    const { mine, other } = ratiosOf(data, picked);
    this.logRouting(ctx, picked, mine, other, data);
  }

  private logRouting(
    ctx: SchedulingContext,
    picked: SchedulingEndpoint,
    mine: number,
    other: number,
    data: RequestPrefix,
  ): void {
    const logger = this.host?.logger;
    if (!logger) return;
    data.logged = true;
    logger.info(
      {
        request: ctx.request.id,
        pool: ctx.request.pool,
        endpoint: picked.id,
        'matching ratio': `${mine.toFixed(2)} > ${other.toFixed(2)}`,
      },
      'Do prefix-aware routing!',
    );
  }

  /** Blocks the endpoint's cache can hold, in this scorer's character blocks. */
  capacityFor(ep: SchedulingEndpoint): number {
    const p = this.params;
    if (p.autoTune) {
      const tokens = ep.kvCapacityTokens();
      if (tokens !== undefined) return Math.max(1, Math.floor((tokens * CHARS_PER_TOKEN) / p.blockSize));
    }
    return p.lruCapacityPerServer;
  }
}

/** The picked endpoint's match ratio and the best of the others'. */
function ratiosOf(data: RequestPrefix, picked: SchedulingEndpoint): { mine: number; other: number } {
  let mine = 0;
  let other = 0;
  for (let i = 0; i < data.candidates.length; i++) {
    const r = data.ratios[i]!;
    if (data.candidates[i] === picked) mine = r;
    else if (r > other) other = r;
  }
  return { mine, other };
}

export function createPrefixCacheScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): PrefixCacheScorer {
  const p = new ParamReader(PREFIX_CACHE_SCORER, params);
  const blockSize = p.int('blockSize', 64, { min: 4, max: 65_536, aliases: ['hashBlockSize'] });
  const maxPrefixBlocksToMatch = p.int('maxPrefixBlocksToMatch', 256, { min: 1, max: 16_384 });
  const lruCapacityPerServer = p.int('lruCapacityPerServer', 31_250, { min: 1 });
  const autoTune = p.bool('autoTune', true);
  const maxIndexEntries = p.int('maxIndexEntries', 2_000_000, { min: 1 });
  const hotspotGuard = p.bool('hotspotGuard', true);
  const imbalanceRequests = p.float('imbalanceRequests', 4, { min: 0 });
  const imbalanceRatio = p.float('imbalanceRatio', 0.5, { min: 0 });
  const imbalanceKv = p.float('imbalanceKv', 0.25, { min: 0, max: 1 });
  p.done();
  return new PrefixCacheScorer(name, {
    blockSize,
    maxPrefixBlocksToMatch,
    lruCapacityPerServer,
    autoTune,
    maxIndexEntries,
    hotspotGuard,
    imbalanceRequests,
    imbalanceRatio,
    imbalanceKv,
  });
}
