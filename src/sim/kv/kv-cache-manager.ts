/**
 * Per-request block tables over a BlockPool, with vLLM V1's KVCacheManager semantics:
 * - `findCachedPrefix`: the leading full blocks whose chained hash is cached (at most
 *   numTokens − 1 tokens, since the last token must be computed to sample the next one);
 * - `allocateSlots`: blocks for the tokens scheduled this step, all or nothing, counting that
 *   touching a free cached block takes it out of the free queue;
 * - `cacheComputed`: registers blocks that became full and computed;
 * - `free`: releases a finished or preempted request's blocks, last block first.
 */
import type { BlockPool } from './block-pool.js';
import type { KvEventSink } from './kv-event-sink.js';

/** What the KV manager needs from a request; the block table fields are owned by the manager. */
export interface KvSequence {
  /** Prompt + generated tokens so far. */
  readonly numTokens: number;
  /** Tokens whose KV is computed (or taken from the cache). */
  numComputedTokens: number;
  /** Chained hashes of the sequence's full blocks (maintained by the request as tokens arrive). */
  readonly blockHashes: readonly number[];
  /** Block table: block ids in token order. */
  blocks: number[];
  /** Leading entries of `blocks` registered in the prefix cache. */
  numCachedBlocks: number;
  /** Token ids [start, end) of the sequence (KV events carry them); absent: no BlockStored events. */
  tokenSlice?(start: number, end: number): number[];
  /** vLLM's lora_int_id and adapter name of the sequence, null for the base model. */
  readonly kvLora?: { readonly id: number; readonly name: string } | null;
}

export interface PrefixHit {
  /** Cached block ids, in order. */
  blocks: number[];
  /** Tokens they cover (blocks × block size). */
  tokens: number;
}

const NO_HIT: PrefixHit = Object.freeze({ blocks: [], tokens: 0 }) as PrefixHit;

export class KvCacheManager {
  readonly pool: BlockPool;
  readonly blockSize: number;
  readonly prefixCaching: boolean;
  /** Hears BlockStored for every run of newly cached blocks (evictions are the pool's). */
  events: KvEventSink | null = null;

  constructor(pool: BlockPool, blockSize: number, prefixCaching: boolean) {
    this.pool = pool;
    this.blockSize = blockSize;
    this.prefixCaching = prefixCaching;
  }

  /** Leading cached blocks of a request that holds no blocks yet. */
  findCachedPrefix(seq: KvSequence): PrefixHit {
    if (!this.prefixCaching) return NO_HIT;
    const maxBlocks = Math.min(seq.blockHashes.length, Math.floor((seq.numTokens - 1) / this.blockSize));
    if (maxBlocks <= 0) return NO_HIT;
    const blocks: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const b = this.pool.lookup(seq.blockHashes[i]!);
      if (b < 0) break;
      blocks.push(b);
    }
    return blocks.length === 0 ? NO_HIT : { blocks, tokens: blocks.length * this.blockSize };
  }

  /**
   * Makes room for `numNewTokens` more computed tokens after `seq.numComputedTokens` (which already
   * includes `hit.tokens` for a newly scheduled request). Returns false, changing nothing, when the
   * pool cannot supply the blocks.
   */
  allocateSlots(seq: KvSequence, numNewTokens: number, hit: PrefixHit = NO_HIT): boolean {
    const required = Math.ceil((seq.numComputedTokens + numNewTokens) / this.blockSize);
    const have = seq.blocks.length + hit.blocks.length;
    const needed = Math.max(0, required - have);
    let evictableHits = 0;
    for (let i = 0; i < hit.blocks.length; i++)
      if (this.pool.refCountOf(hit.blocks[i]!) === 0) evictableHits++;
    if (needed > this.pool.numFreeBlocks() - evictableHits) return false;
    if (hit.blocks.length > 0) {
      this.pool.touch(hit.blocks);
      for (let i = 0; i < hit.blocks.length; i++) seq.blocks.push(hit.blocks[i]!);
      seq.numCachedBlocks = seq.blocks.length;
    }
    if (needed > 0) this.pool.allocate(needed, seq.blocks);
    return true;
  }

  /** Registers the request's blocks that are now full and computed in the prefix cache. */
  cacheComputed(seq: KvSequence): void {
    if (!this.prefixCaching) return;
    const full = Math.min(
      Math.floor(seq.numComputedTokens / this.blockSize),
      seq.blockHashes.length,
      seq.blocks.length,
    );
    const events = this.events;
    let runStart = -1;
    for (let i = seq.numCachedBlocks; i < full; i++) {
      const stored = this.pool.cacheBlock(seq.blocks[i]!, seq.blockHashes[i]!);
      if (!events) continue;
      if (stored && runStart < 0) runStart = i;
      else if (!stored && runStart >= 0) {
        this.reportStored(events, seq, runStart, i);
        runStart = -1;
      }
    }
    if (events && runStart >= 0) this.reportStored(events, seq, runStart, full);
    if (full > seq.numCachedBlocks) seq.numCachedBlocks = full;
  }

  /** BlockStored for the sequence's blocks [start, end), all newly registered. */
  private reportStored(events: KvEventSink, seq: KvSequence, start: number, end: number): void {
    if (!seq.tokenSlice) return;
    const bs = this.blockSize;
    events.blockStored({
      blockHashes: seq.blockHashes.slice(start, end),
      parentBlockHash: start === 0 ? null : seq.blockHashes[start - 1]!,
      tokenIds: seq.tokenSlice(start * bs, end * bs),
      blockSize: bs,
      loraId: seq.kvLora ? seq.kvLora.id : null,
      loraName: seq.kvLora ? seq.kvLora.name : null,
    });
  }

  /** Releases all of the request's blocks, last first, and clears its block table. */
  free(seq: KvSequence): void {
    const blocks = seq.blocks;
    if (blocks.length === 0) return;
    blocks.reverse();
    this.pool.release(blocks);
    seq.blocks = [];
    seq.numCachedBlocks = 0;
  }
}
