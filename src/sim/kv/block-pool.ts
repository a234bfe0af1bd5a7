/**
 * The paged KV cache's physical blocks, as vLLM V1's BlockPool manages them:
 * - every block has a reference count (the running requests whose block table holds it);
 * - blocks with no reference sit in a free queue ordered least-recently-used first; they keep their
 *   hash, so a later request with the same prefix can take them back (a prefix-cache hit);
 * - allocation takes blocks from the head of the free queue and evicts their hash there.
 * Requests free their blocks tail-first (see KvCacheManager.free), so a prompt's last blocks, the
 * least likely to be shared, are evicted before its first ones.
 *
 * Block ids are 0 … numBlocks−1. All operations are O(1) per block (intrusive doubly-linked list).
 * An optional KvEventSink hears every eviction of a cached hash and every reset (vLLM's KV events).
 */
import type { KvEventSink } from './kv-event-sink.js';

export class BlockPool {
  readonly numBlocks: number;
  /** Hash → block id of every block that holds a cached full block. */
  private readonly cached = new Map<number, number>();
  private readonly refCount: Int32Array;
  /** Hash of the block's content, or -1 when it holds none. */
  private readonly blockHash: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** True when the block is in the free queue. */
  private readonly inFree: Uint8Array;
  private head = -1;
  private tail = -1;
  private free = 0;
  /** Cached blocks evicted to make room, since start. */
  evictions = 0;
  /** Hears evictions and resets (set by the replica when KV events are enabled). */
  events: KvEventSink | null = null;

  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1)
      throw new RangeError(`numBlocks must be ≥ 1, got ${numBlocks}`);
    this.numBlocks = numBlocks;
    this.refCount = new Int32Array(numBlocks);
    this.blockHash = new Float64Array(numBlocks).fill(-1);
    this.prev = new Int32Array(numBlocks);
    this.next = new Int32Array(numBlocks);
    this.inFree = new Uint8Array(numBlocks);
    for (let i = 0; i < numBlocks; i++) this.pushTail(i);
  }

  /** Blocks that can be allocated now (free, cached or not). */
  numFreeBlocks(): number {
    return this.free;
  }

  /** Fraction of blocks held by requests, 0–1 (vLLM's kv_cache_usage_perc). */
  usage(): number {
    return 1 - this.free / this.numBlocks;
  }

  /** Number of cached full blocks (held or free). */
  numCachedBlocks(): number {
    return this.cached.size;
  }

  refCountOf(id: number): number {
    return this.refCount[id]!;
  }

  hashOf(id: number): number {
    return this.blockHash[id]!;
  }

  /** Block ids in the free queue, eviction order first (for tests and diagnostics). */
  freeQueue(): number[] {
    const out: number[] = [];
    for (let b = this.head; b !== -1; b = this.next[b]!) out.push(b);
    return out;
  }

  /** The block caching `hash`, or -1. */
  lookup(hash: number): number {
    return this.cached.get(hash) ?? -1;
  }

  /** Takes a reference on cached blocks found by a prefix lookup (removing free ones from the queue). */
  touch(ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i++) {
      const b = ids[i]!;
      if (this.refCount[b] === 0 && this.inFree[b] === 1) this.unlink(b);
      this.refCount[b]!++;
    }
  }

  /**
   * `n` blocks with one reference each, taken from the head of the free queue (evicting whatever
   * hash they held), appended to `out`. Returns false and changes nothing when fewer than n are free.
   */
  allocate(n: number, out: number[]): boolean {
    if (n > this.free) return false;
    for (let i = 0; i < n; i++) {
      const b = this.head;
      this.unlink(b);
      const h = this.blockHash[b]!;
      if (h >= 0) {
        if (this.cached.get(h) === b) {
          this.cached.delete(h);
          this.events?.blockRemoved(h);
        }
        this.blockHash[b] = -1;
        this.evictions++;
      }
      this.refCount[b] = 1;
      out.push(b);
    }
    return true;
  }

  /** Drops one reference from each block, in the given order; unreferenced blocks join the queue tail. */
  release(ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i++) {
      const b = ids[i]!;
      const rc = --this.refCount[b]!;
      if (rc < 0) throw new Error(`block ${b} released more often than referenced`);
      if (rc === 0) this.pushTail(b);
    }
  }

  /**
   * Records that block `id` now holds the full block with `hash`. A hash already cached in another
   * block is left there (the new block stays anonymous, as a duplicate). True when registered.
   */
  cacheBlock(id: number, hash: number): boolean {
    if (this.blockHash[id]! >= 0 || this.cached.has(hash)) return false;
    this.blockHash[id] = hash;
    this.cached.set(hash, id);
    return true;
  }

  /**
   * vLLM's reset_prefix_cache: forgets every cached hash, only when no block is held by a request
   * (returns false and changes nothing otherwise). Reports AllBlocksCleared.
   */
  resetPrefixCache(): boolean {
    if (this.free !== this.numBlocks) return false;
    this.cached.clear();
    this.blockHash.fill(-1);
    this.events?.allBlocksCleared();
    return true;
  }

  private pushTail(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = -1;
    if (this.tail !== -1) this.next[this.tail] = b;
    else this.head = b;
    this.tail = b;
    this.inFree[b] = 1;
    this.free++;
  }

  private unlink(b: number): void {
    const p = this.prev[b]!;
    const n = this.next[b]!;
    if (p !== -1) this.next[p] = n;
    else this.head = n;
    if (n !== -1) this.prev[n] = p;
    else this.tail = p;
    this.inFree[b] = 0;
    this.free--;
  }
}
