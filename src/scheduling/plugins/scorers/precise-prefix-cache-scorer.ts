/**
 * `precise-prefix-cache-scorer` (llm-d's type name): the share of the request's leading token
 * blocks each endpoint actually holds, from the engines' own KV events (vLLM --kv-events-config).
 * The plugin is both the producer and the reader, as llm-d's is: on first sight of an endpoint it
 * subscribes to the endpoint's events (src/scraping/kv-events: one index per pool, shared by every
 * scorer instance of the pool and surviving reloads), and at scoring time it tokenises the request
 * as the engine does (chat template + tokenizer, `tokenizer` parameter) and looks the chained
 * block hashes up: score = longest cached prefix in blocks / the prompt's full blocks.
 *
 * Every gateway replica subscribes to every endpoint, so they all see the same caches no matter
 * which replica routed what. An endpoint whose events are not live (never published, disconnected,
 * incompatible block size) is scored by the approximate `prefix-cache-scorer` instead, and counted
 * in `infergate_precise_prefix_fallback_total`; `infergate_kv_events_publishing` shows which.
 *
 * Hot-spot guard: as the approximate scorer's, an endpoint's score fades out when its load exceeds
 * the least-loaded candidate's by more than max(imbalanceRequests, imbalanceRatio × least) requests
 * or by more than imbalanceKv of KV utilisation (gone at twice the allowance). The match is also
 * published as PREFIX_MATCH, so a `prefill-cost-scorer` after it weighs the exact cached share
 * against each endpoint's pending prefill (one currency: tokens to prefill before the first token).
 */

import type { KvEventHub, KvHubParams } from '../../../scraping/kv-events/service.js';
import { hashTokenBlocks } from '../../../scraping/kv-events/token-hash.js';
import { chatTemplateRequest, loadTokenizer, type PromptTokenizer } from '../../../tokenizer/index.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader, PluginParamsError } from '../../framework/params.js';
import type { PluginHost, Scorer } from '../../framework/types.js';
import { PromptBlockCache } from '../../prefix/prompt-blocks.js';
import { fadeHotspots } from './hotspot-fade.js';
import {
  createPrefixCacheScorer,
  PREFIX_MATCH,
  type PrefixCacheScorer,
  type PrefixMatch,
} from './prefix-cache-scorer.js';

export const PRECISE_PREFIX_CACHE_SCORER = 'precise-prefix-cache-scorer';

export interface PrecisePrefixCacheParams {
  readonly hub: KvHubParams;
  /** Blocks looked up at most (tokens beyond blockSize × this are not hashed). */
  readonly maxPrefixBlocksToMatch: number;
  /** `stand-in` or a local tokenizer.json / directory; chatTemplate: a Jinja file overriding its template. */
  readonly tokenizer: string;
  readonly chatTemplate: string | undefined;
  readonly hotspotGuard: boolean;
  readonly imbalanceRequests: number;
  readonly imbalanceRatio: number;
  readonly imbalanceKv: number;
}

interface RequestTokens {
  /** Block hashes of the prompt (length n). */
  hashes: Float64Array;
  n: number;
  candidates: readonly SchedulingEndpoint[];
  /** Matched leading blocks per candidate (precise or, for fallbacks, approximate × n). */
  ratios: Float64Array;
  counted: boolean;
}

/** The prompt's block hashes computed by `prepare`, before the decision. */
interface PreparedHashes {
  /** undefined: the request has no prompt (or could not be tokenized). */
  hashes: Float64Array | undefined;
  blockSize: number;
  root: number;
}

type Json = Record<string, unknown>;

/**
 * The request's prompt as the engine sees it before encoding: text (a rendered chat, or a
 * completions prompt, which the engine encodes with special tokens) or token ids; undefined when it
 * has none.
 */
export type RequestPrompt =
  | { readonly text: string; readonly addSpecialTokens: boolean }
  | { readonly ids: readonly number[] };

/**
 * The request's prompt: token ids as sent, or text (a chat rendered with `tokenizer`'s template from
 * the template input vLLM builds of the request: tokenizer/chat-request.ts).
 */
export function requestPrompt(
  json: Json | undefined,
  tokenizer: Pick<PromptTokenizer, 'renderChat'>,
): RequestPrompt | undefined {
  if (!json) return undefined;
  const chat = chatTemplateRequest(json);
  if (chat) return { text: tokenizer.renderChat(chat.messages, chat.vars), addSpecialTokens: false };
  const prompt = json.prompt;
  if (typeof prompt === 'string') return { text: prompt, addSpecialTokens: true };
  if (Array.isArray(prompt)) {
    if (prompt.length > 0 && prompt.every((t) => typeof t === 'number')) return { ids: prompt as number[] };
    if (prompt.length === 1 && typeof prompt[0] === 'string')
      return { text: prompt[0], addSpecialTokens: true };
  }
  return undefined;
}

/** The request's prompt token ids as the engine would compute them, or undefined when it has none. */
export function requestTokens(
  json: Json | undefined,
  tokenizer: PromptTokenizer,
): ArrayLike<number> | undefined {
  const p = requestPrompt(json, tokenizer);
  if (!p) return undefined;
  return 'ids' in p ? p.ids : tokenizer.encode(p.text, p.addSpecialTokens);
}

/**
 * Chained hashes of the prompt's full blocks into `out` (at most out.length); returns how many.
 * Text the tokenizer can cut exactly goes through `cache` (earlier pieces neither encoded nor
 * hashed again); anything else is encoded whole.
 */
export function promptBlockHashes(
  prompt: RequestPrompt,
  tokenizer: PromptTokenizer,
  cache: PromptBlockCache,
  root: number,
  out: Float64Array,
): number {
  if ('ids' in prompt) return hashTokenBlocks(prompt.ids, prompt.ids.length, cache.blockSize, root, out);
  const encodePiece = tokenizer.encodePiece?.bind(tokenizer);
  const pieces = encodePiece && tokenizer.pieces?.(prompt.text, prompt.addSpecialTokens);
  if (pieces) return cache.hash(pieces, encodePiece, root, out);
  const ids = tokenizer.encode(prompt.text, prompt.addSpecialTokens);
  return hashTokenBlocks(ids, ids.length, cache.blockSize, root, out);
}

/**
 * The match for scorers that weigh it (prefill-cost-scorer): candidate i holds its matched share of
 * the prompt — exact block counts from the events (approximate for fallback endpoints), scaled to the
 * caller's token estimate so both sides count in the same units.
 */
class PreciseMatchView implements PrefixMatch {
  constructor(private readonly data: RequestTokens) {}

  get candidates(): readonly SchedulingEndpoint[] {
    return this.data.candidates;
  }

  cachedTokens(i: number, promptTokens: number): number {
    const r = this.data.ratios[i] ?? 0;
    return r >= 1 ? promptTokens : r * promptTokens;
  }
}

export class PrecisePrefixCacheScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = PRECISE_PREFIX_CACHE_SCORER;
  readonly category = 'affinity';
  readonly promptChars: number;
  /** The approximate scorer used for endpoints whose events are not live. */
  readonly fallback: PrefixCacheScorer;
  private hubRef: KvEventHub | undefined;
  private host: PluginHost | undefined;
  private tokenizerRef: PromptTokenizer | undefined;
  private readonly scratch: Float64Array;
  private matched = new Int32Array(64);
  private fallbackScores = new Float64Array(64);
  private warnedTokenize = false;
  /** Block hashes per prompt piece, so earlier turns of a conversation are not encoded or hashed again. */
  private blockCache: PromptBlockCache | undefined;
  /** ctx key of this scorer's PreparedHashes (ctx.get(this) holds the scoring's RequestTokens). */
  private readonly preparedKey = {};

  constructor(
    readonly name: string,
    readonly params: PrecisePrefixCacheParams,
  ) {
    this.scratch = new Float64Array(params.maxPrefixBlocksToMatch);
    this.fallback = createPrefixCacheScorer(`${name}/fallback`, {
      hotspotGuard: false,
    });
    this.promptChars = this.fallback.promptChars;
  }

  attach(host: PluginHost): void {
    this.host = host;
    this.fallback.attach(host);
    const kv = host.kvEvents;
    if (kv) {
      const hub = kv.hub(host.poolKey, this.params.hub);
      // registered as pool-shared state so the router tells it when endpoints leave
      this.hubRef = host.shared(`kv-events:${JSON.stringify(this.params.hub)}`, () => hub);
      // load the tokenizer now (a large tokenizer.json takes a second), not on the first request
      try {
        const tok = this.tokenizer;
        host.logger.info(
          { pool: host.poolKey, tokenizer: this.params.tokenizer, ...tok.describe?.() },
          'precise-prefix-cache-scorer tokenizer loaded',
        );
      } catch (err) {
        host.logger.warn(
          { pool: host.poolKey, tokenizer: this.params.tokenizer, err: (err as Error).message },
          'precise-prefix-cache-scorer cannot load its tokenizer; scoring requests as uncached',
        );
      }
    }
  }

  /** The pool's KV-event hub, when the host connects to endpoints. */
  get hub(): KvEventHub | undefined {
    return this.hubRef;
  }

  get tokenizer(): PromptTokenizer {
    if (!this.tokenizerRef)
      this.tokenizerRef = loadTokenizer(this.params.tokenizer, this.params.chatTemplate);
    return this.tokenizerRef;
  }

  /**
   * Tokenizes and hashes the prompt before the decision, so the router can let load updates in
   * between (tokenizing a long new conversation takes milliseconds). Only when events are in use.
   */
  prepare(ctx: SchedulingContext): boolean {
    const hub = this.hubRef;
    if (!hub?.anyLive()) return false;
    const { blockSize } = hub.index;
    const root = hub.index.rootFor(ctx.targetModel);
    const hashes = this.hashesFor(ctx, blockSize, root);
    ctx.set(this.preparedKey, { hashes, blockSize, root } satisfies PreparedHashes);
    return true;
  }

  /** The prompt's hashes: prepare's when they fit this index, else computed now (into scratch). */
  private hashesFor(ctx: SchedulingContext, blockSize: number, root: number): Float64Array | undefined {
    const p = ctx.get<PreparedHashes>(this.preparedKey);
    if (p && p.blockSize === blockSize && p.root === root) return p.hashes;
    const n = this.blockHashes(ctx, blockSize, root);
    return n === undefined ? undefined : this.scratch.slice(0, n);
  }

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const nc = candidates.length;
    const hub = this.hubRef;
    let live = 0;
    if (hub) {
      for (let i = 0; i < nc; i++) {
        const c = candidates[i]!;
        hub.ensure(c.id, c.endpoint);
        if (hub.status(c.id) === 'live') live++;
      }
    }
    const data: RequestTokens = {
      hashes: this.scratch,
      n: 0,
      candidates,
      ratios: new Float64Array(nc),
      counted: false,
    };
    ctx.set(this, data);
    if (live > 0 && hub) {
      const index = hub.index;
      const hashes = this.hashesFor(ctx, index.blockSize, index.rootFor(ctx.targetModel));
      if (hashes !== undefined) {
        const n = hashes.length;
        data.hashes = hashes;
        data.n = n;
        if (n > 0) {
          if (this.matched.length < index.slots) this.matched = new Int32Array(index.slots * 2);
          index.match(data.hashes, n, this.matched);
          for (let i = 0; i < nc; i++) {
            const slot = index.slotOf(candidates[i]!.id);
            data.ratios[i] = slot >= 0 ? this.matched[slot]! / n : 0;
          }
        }
      }
    }
    if (live < nc) {
      if (this.fallbackScores.length < nc) this.fallbackScores = new Float64Array(nc * 2);
      this.fallback.score(ctx, candidates, this.fallbackScores);
    }
    let any = false;
    for (let i = 0; i < nc; i++) {
      const id = candidates[i]!.id;
      if (hub?.status(id) !== 'live') {
        data.ratios[i] = this.fallbackScores[i]!;
        hub?.countFallback(id);
      }
      out[i] = data.ratios[i]!;
      if (out[i]! > 0) any = true;
    }
    // after the fallback, which publishes its own
    ctx.set(PREFIX_MATCH, new PreciseMatchView(data));
    if (any && this.params.hotspotGuard && nc > 1) fadeHotspots(candidates, out, this.params);
  }

  onDispatch(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    this.fallback.onDispatch(ctx, endpoint);
    const data = ctx.get<RequestTokens>(this);
    // when the fallback scored this request it already counted the lookup
    if (!data || data.counted || data.n === 0 || ctx.get(this.fallback) !== undefined) return;
    data.counted = true;
    const i = data.candidates.indexOf(endpoint);
    const matched = i >= 0 ? Math.round(data.ratios[i]! * data.n) : 0;
    this.host?.telemetry?.prefixLookup(data.n, matched);
  }

  onDecisive(
    ctx: SchedulingContext,
    picked: SchedulingEndpoint,
    candidates: readonly SchedulingEndpoint[],
  ): void {
    const data = ctx.get<RequestTokens>(this);
    const logger = this.host?.logger;
    if (!data || !logger || data.candidates !== candidates) return;
    let mine = 0;
    let other = 0;
    for (let i = 0; i < candidates.length; i++) {
      const r = data.ratios[i]!;
      if (candidates[i] === picked) mine = r;
      else if (r > other) other = r;
    }
    logger.info(
      {
        request: ctx.request.id,
        pool: ctx.request.pool,
        endpoint: picked.id,
        'matching ratio': `${mine.toFixed(2)} > ${other.toFixed(2)}`,
        precise: true,
      },
      'Do prefix-aware routing!',
    );
  }

  /** The prompt's block hashes into this.scratch; their count, or undefined when it has no prompt. */
  private blockHashes(ctx: SchedulingContext, blockSize: number, root: number): number | undefined {
    try {
      // The tokenizer is touched only for text: token-id prompts score even when it cannot load.
      const prompt = requestPrompt(ctx.request.json, {
        renderChat: (m, vars) => this.tokenizer.renderChat(m, vars),
      });
      if (!prompt) return undefined;
      if ('ids' in prompt)
        return hashTokenBlocks(prompt.ids, prompt.ids.length, blockSize, root, this.scratch);
      if (this.blockCache?.blockSize !== blockSize) this.blockCache = new PromptBlockCache(blockSize);
      return promptBlockHashes(prompt, this.tokenizer, this.blockCache, root, this.scratch);
    } catch (err) {
      if (!this.warnedTokenize) {
        this.warnedTokenize = true;
        this.host?.logger.warn(
          { pool: ctx.request.pool, err: (err as Error).message },
          'precise-prefix-cache-scorer cannot tokenize requests; scoring them as uncached',
        );
      }
      return undefined;
    }
  }
}

export function createPrecisePrefixCacheScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): PrecisePrefixCacheScorer {
  const p = new ParamReader(PRECISE_PREFIX_CACHE_SCORER, params);
  const blockSize = p.int('blockSize', 16, { min: 1, max: 4096 });
  const socketPort = p.int('socketPort', 5557, { min: 1, max: 65_535 });
  const replayPort = p.int('replayPort', 0, { min: 0, max: 65_535 });
  const topicFilter = typeof params.topicFilter === 'string' ? params.topicFilter : '';
  if (params.topicFilter !== undefined) p.string('topicFilter', ''); // marks it known (empty is allowed)
  const maxBlocksPerEndpoint = p.int('maxBlocksPerEndpoint', 500_000, { min: 1 });
  const replayTimeoutMs = p.durationMs('replayTimeout', 2000, { min: 1, max: 60_000 });
  const maxPrefixBlocksToMatch = p.int('maxPrefixBlocksToMatch', 4096, { min: 1, max: 65_536 });
  const tokenizer = p.string('tokenizer', 'stand-in');
  const chatTemplate = params.chatTemplate === undefined ? undefined : p.string('chatTemplate', '');
  const hotspotGuard = p.bool('hotspotGuard', true);
  const imbalanceRequests = p.float('imbalanceRequests', 4, { min: 0 });
  const imbalanceRatio = p.float('imbalanceRatio', 0.5, { min: 0 });
  const imbalanceKv = p.float('imbalanceKv', 0.25, { min: 0, max: 1 });
  try {
    p.done();
  } catch (err) {
    // an empty topicFilter is valid: drop the string reader's complaint about it
    if (!(err instanceof PluginParamsError)) throw err;
    const issues = err.issues.filter((i) => !(i.field === 'topicFilter' && params.topicFilter === ''));
    if (issues.length > 0) throw new PluginParamsError(PRECISE_PREFIX_CACHE_SCORER, issues);
  }
  return new PrecisePrefixCacheScorer(name, {
    hub: {
      socketPort,
      replayPort: replayPort === 0 ? null : replayPort,
      topicFilter,
      blockSize,
      maxBlocksPerEndpoint,
      replayTimeoutMs,
    },
    maxPrefixBlocksToMatch,
    tokenizer,
    chatTemplate,
    hotspotGuard,
    imbalanceRequests,
    imbalanceRatio,
    imbalanceKv,
  });
}
