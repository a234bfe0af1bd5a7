import { describe, expect, it } from 'vitest';
import { hashFullBlocks } from './block-hash.js';
import { BlockPool } from './block-pool.js';
import { KvCacheManager, type KvSequence } from './kv-cache-manager.js';

const BS = 4;

function seq(tokens: number[]): KvSequence {
  return {
    numTokens: tokens.length,
    numComputedTokens: 0,
    blockHashes: hashFullBlocks(tokens, tokens.length, BS, 0),
    blocks: [],
    numCachedBlocks: 0,
  };
}

/** Schedules a whole prompt the way the scheduler does and marks it computed. */
function prefill(kv: KvCacheManager, s: KvSequence): boolean {
  const hit = kv.findCachedPrefix(s);
  s.numComputedTokens = hit.tokens;
  if (!kv.allocateSlots(s, s.numTokens - hit.tokens, hit)) {
    s.numComputedTokens = 0;
    return false;
  }
  s.numComputedTokens = s.numTokens;
  kv.cacheComputed(s);
  return true;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('KvCacheManager', () => {
  it('finds the leading cached blocks of a repeated prefix', () => {
    const kv = new KvCacheManager(new BlockPool(16), BS, true);
    const a = seq(range(0, 12));
    expect(prefill(kv, a)).toBe(true);
    expect(a.blocks).toHaveLength(3);
    const b = seq([...range(0, 8), 99, 98, 97, 96, 95]);
    const hit = kv.findCachedPrefix(b);
    expect(hit.tokens).toBe(8);
    expect(hit.blocks).toEqual(a.blocks.slice(0, 2));
  });

  it('never reports the whole prompt as cached (the last token is recomputed)', () => {
    const kv = new KvCacheManager(new BlockPool(16), BS, true);
    const a = seq(range(0, 8));
    prefill(kv, a);
    kv.free(a);
    const again = seq(range(0, 8));
    expect(kv.findCachedPrefix(again).tokens).toBe(4);
  });

  it('reports nothing with prefix caching off', () => {
    const kv = new KvCacheManager(new BlockPool(16), BS, false);
    const a = seq(range(0, 12));
    prefill(kv, a);
    expect(kv.findCachedPrefix(seq(range(0, 12))).tokens).toBe(0);
  });

  it('allocates all or nothing, counting cached free blocks a hit would take', () => {
    const pool = new BlockPool(4);
    const kv = new KvCacheManager(pool, BS, true);
    const a = seq(range(0, 8)); // 2 blocks
    prefill(kv, a);
    kv.free(a); // both cached, both free: 4 free blocks
    const b = seq([...range(0, 4), ...range(50, 12)]); // 16 tokens: hit 1 block, needs 3 more
    const hit = kv.findCachedPrefix(b);
    expect(hit.tokens).toBe(4);
    b.numComputedTokens = hit.tokens;
    // 3 new blocks + the touched hit block = 4: fits exactly.
    expect(kv.allocateSlots(b, 12, hit)).toBe(true);
    expect(b.blocks).toHaveLength(4);
    expect(pool.numFreeBlocks()).toBe(0);
    const c = seq(range(200, 4));
    c.numComputedTokens = 0;
    expect(kv.allocateSlots(c, 4)).toBe(false);
    expect(c.blocks).toHaveLength(0);
  });

  it('grows a decoding sequence by one block when it crosses a block boundary', () => {
    const pool = new BlockPool(8);
    const kv = new KvCacheManager(pool, BS, true);
    const s = seq(range(0, 4));
    prefill(kv, s);
    expect(s.blocks).toHaveLength(1);
    // The next token (the 5th) needs a second block.
    expect(kv.allocateSlots(s, 1)).toBe(true);
    expect(s.blocks).toHaveLength(2);
    s.numComputedTokens = 5;
    expect(kv.allocateSlots(s, 1)).toBe(true);
    expect(s.blocks).toHaveLength(2);
  });

  it('frees the last block first, so a prompt’s tail is evicted before its head', () => {
    const pool = new BlockPool(3);
    const kv = new KvCacheManager(pool, BS, true);
    const a = seq(range(0, 12));
    prefill(kv, a);
    const [b0, b1, b2] = a.blocks;
    kv.free(a);
    expect(a.blocks).toHaveLength(0);
    expect(pool.freeQueue()).toEqual([b2, b1, b0]);
    // A newcomer needing one block evicts the tail block: the head blocks still hit.
    const other = seq(range(500, 4));
    other.numComputedTokens = 0;
    kv.allocateSlots(other, 4);
    expect(kv.findCachedPrefix(seq(range(0, 13))).tokens).toBe(8);
  });

  it('caches only full, computed blocks', () => {
    const pool = new BlockPool(8);
    const kv = new KvCacheManager(pool, BS, true);
    const s = seq(range(0, 10));
    s.numComputedTokens = 0;
    kv.allocateSlots(s, 6); // a chunk: 6 of 10 tokens
    s.numComputedTokens = 6;
    kv.cacheComputed(s);
    expect(s.numCachedBlocks).toBe(1);
    expect(pool.numCachedBlocks()).toBe(1);
  });
});
