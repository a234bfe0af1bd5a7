/**
 * The best prefix-cache hit rate any placement could reach on a request stream: an upper bound to
 * hold a scheduler's achieved hit rate against.
 *
 * The stream is replayed in the order it was sent into ONE unbounded cache that holds every full
 * KV block of every earlier request — its prompt and its generated tokens (vLLM caches blocks as
 * they fill, output included). Each request's hit is counted as vLLM V1 counts it: the leading full
 * blocks whose chained hash is cached, at most (prompt − 1) tokens (the last prompt token is always
 * computed), hits and queries in tokens. Tokens, the chat template and block hashes are the
 * simulator's own (src/sim), so the bound speaks the same language as the replicas' counters.
 *
 * Why it bounds any placement over N replicas with finite caches: a replica's cache, when a request
 * is looked up, holds only blocks computed earlier by requests routed to it — a subset of what the
 * single unbounded cache holds — and a longest-cached-prefix match over a subset is never longer.
 * Caveats (docs/results.md): a preempted request looks the cache up again when rescheduled and the
 * replicas count that query too; requests that reach a replica in another order than they were
 * sent could in principle hit blocks this replay does not hold yet. LoRA requests (hashed with
 * their adapter) are not replayed.
 */
import { hashFullBlocks } from '../sim/kv/block-hash.js';
import { parseGenerateRequest } from '../sim/server/generate-request.js';
import { tokenize } from '../sim/tokenizer.js';
import type { Endpoint } from './workload/types.js';

export interface IdealPrefixResult {
  /** Tokens per KV block used for the replay (the replicas' block size). */
  blockSize: number;
  requests: number;
  /** Σ prompt tokens (vLLM's prefix_cache_queries). */
  queryTokens: number;
  /** Σ tokens found cached (vLLM's prefix_cache_hits). */
  hitTokens: number;
  /** hitTokens / queryTokens (0–1), null for an empty stream. */
  hitRate: number | null;
  /**
   * Each request's reusable tokens (its ideal hit), by the request's index in the stream, when the
   * replay was given indices (idealPrefixCache): what a TTFT floor (ttft-floor.ts) lets it skip.
   */
  hitsByIndex?: ReadonlyMap<number, number> | undefined;
}

/** Replays requests one by one, in the order they were sent. */
export class IdealPrefixReplay {
  private readonly cached = new Set<number>();
  private requests = 0;
  private queryTokens = 0;
  private hitTokens = 0;

  constructor(readonly blockSize: number) {
    if (!Number.isInteger(blockSize) || blockSize < 1)
      throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  }

  /**
   * Counts `prompt`'s hit against everything replayed so far, then caches the full blocks of
   * prompt + output. Returns the hit in tokens.
   */
  add(prompt: ArrayLike<number>, output: ArrayLike<number> = []): number {
    const bs = this.blockSize;
    const all = new Uint32Array(prompt.length + output.length);
    for (let i = 0; i < prompt.length; i++) all[i] = prompt[i]!;
    for (let i = 0; i < output.length; i++) all[prompt.length + i] = output[i]!;
    const hashes = hashFullBlocks(all, all.length, bs, 0);
    const maxBlocks = prompt.length > 0 ? Math.floor((prompt.length - 1) / bs) : 0;
    let hitBlocks = 0;
    while (hitBlocks < maxBlocks && this.cached.has(hashes[hitBlocks]!)) hitBlocks++;
    for (let i = 0; i < hashes.length; i++) this.cached.add(hashes[i]!);
    const hit = hitBlocks * bs;
    this.requests++;
    this.queryTokens += prompt.length;
    this.hitTokens += hit;
    return hit;
  }

  result(): IdealPrefixResult {
    return {
      blockSize: this.blockSize,
      requests: this.requests,
      queryTokens: this.queryTokens,
      hitTokens: this.hitTokens,
      hitRate: this.queryTokens > 0 ? this.hitTokens / this.queryTokens : null,
    };
  }
}

/** One request as sent and answered. */
export interface SentRequest {
  /** When it was sent (any monotonic clock); ties keep `index` order. */
  sentAt: number;
  index: number;
  /** The JSON body on the wire. */
  body: string;
  /** The generated text the client received ('' for a failed request). */
  output: string;
}

/** The simulator's prompt tokens for a request body (its chat template for chat requests). */
export function promptTokensOf(endpoint: Endpoint, body: string): ArrayLike<number> {
  const kind = endpoint === '/v1/chat/completions' ? 'chat' : 'completion';
  return parseGenerateRequest(kind, JSON.parse(body) as unknown).promptTokens;
}

/** The ideal hit rate of a captured stream (sorted here by send time). */
export function idealPrefixCache(
  endpoint: Endpoint,
  sent: readonly SentRequest[],
  blockSize: number,
): IdealPrefixResult {
  const ordered = [...sent].sort((a, b) => a.sentAt - b.sentAt || a.index - b.index);
  const replay = new IdealPrefixReplay(blockSize);
  const hitsByIndex = new Map<number, number>();
  for (const r of ordered)
    hitsByIndex.set(r.index, replay.add(promptTokensOf(endpoint, r.body), tokenize(r.output)));
  return { ...replay.result(), hitsByIndex };
}
