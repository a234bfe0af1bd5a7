import { describe, expect, it } from 'vitest';
import { hashBlock, hashFullBlocks, ROOT_BLOCK_HASH } from './block-hash.js';
import { BlockPool } from './block-pool.js';

describe('hashBlock (chained block hashes)', () => {
  const a = Array.from({ length: 48 }, (_, i) => 1000 + i);

  it('gives equal hashes for equal prefixes and different ones after the first difference', () => {
    const b = [...a];
    b[20] = 7; // inside block 1 (tokens 16..31)
    const ha = hashFullBlocks(a, a.length, 16, 0);
    const hb = hashFullBlocks(b, b.length, 16, 0);
    expect(ha).toHaveLength(3);
    expect(hb[0]).toBe(ha[0]);
    expect(hb[1]).not.toBe(ha[1]);
    // Block 2 has identical tokens but a different parent: the chain carries the difference.
    expect(hb[2]).not.toBe(ha[2]);
  });

  it('depends on the parent, the extra key (LoRA) and the block size', () => {
    const h = hashBlock(ROOT_BLOCK_HASH, a, 0, 16, 0);
    expect(hashBlock(h, a, 0, 16, 0)).not.toBe(h);
    expect(hashBlock(ROOT_BLOCK_HASH, a, 0, 16, 12345)).not.toBe(h);
    expect(hashBlock(ROOT_BLOCK_HASH, a, 0, 8, 0)).not.toBe(hashBlock(ROOT_BLOCK_HASH, a, 0, 16, 0));
  });

  it('returns safe non-negative integers, deterministically', () => {
    const hs = hashFullBlocks(a, a.length, 16, 3);
    for (const h of hs) {
      expect(Number.isSafeInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
    }
    expect(hashFullBlocks(a, a.length, 16, 3)).toEqual(hs);
  });

  it('only hashes full blocks', () => {
    expect(hashFullBlocks(a, 47, 16, 0)).toHaveLength(2);
    expect(hashFullBlocks(a, 15, 16, 0)).toHaveLength(0);
  });
});

describe('BlockPool', () => {
  it('allocates from the head of the free queue and reports usage', () => {
    const p = new BlockPool(4);
    const got: number[] = [];
    expect(p.allocate(3, got)).toBe(true);
    expect(got).toEqual([0, 1, 2]);
    expect(p.numFreeBlocks()).toBe(1);
    expect(p.usage()).toBeCloseTo(0.75);
    expect(p.allocate(2, got)).toBe(false);
    expect(got).toEqual([0, 1, 2]); // unchanged on failure
  });

  it('keeps freed blocks cached, least recently freed first in eviction order', () => {
    const p = new BlockPool(4);
    const req1: number[] = [];
    p.allocate(2, req1); // 0, 1
    p.cacheBlock(0, 111);
    p.cacheBlock(1, 222);
    p.release([1, 0]); // tail-first, as KvCacheManager.free does
    expect(p.freeQueue()).toEqual([2, 3, 1, 0]);
    expect(p.lookup(111)).toBe(0);
    expect(p.lookup(222)).toBe(1);
    // Allocating 3 takes 2, 3 (never cached) and then evicts block 1 (hash 222), not block 0.
    const req2: number[] = [];
    p.allocate(3, req2);
    expect(req2).toEqual([2, 3, 1]);
    expect(p.lookup(222)).toBe(-1);
    expect(p.lookup(111)).toBe(0);
    expect(p.evictions).toBe(1);
  });

  it('touch takes cached free blocks out of the queue; shared blocks return only at refcount 0', () => {
    const p = new BlockPool(3);
    const r: number[] = [];
    p.allocate(1, r);
    p.cacheBlock(0, 42);
    p.release([0]);
    expect(p.numFreeBlocks()).toBe(3);
    p.touch([0]);
    p.touch([0]);
    expect(p.refCountOf(0)).toBe(2);
    expect(p.numFreeBlocks()).toBe(2);
    expect(p.freeQueue()).not.toContain(0);
    p.release([0]);
    expect(p.freeQueue()).not.toContain(0);
    p.release([0]);
    expect(p.freeQueue().at(-1)).toBe(0);
    expect(p.lookup(42)).toBe(0);
  });

  it('leaves a duplicate hash in its first block', () => {
    const p = new BlockPool(2);
    const r: number[] = [];
    p.allocate(2, r);
    p.cacheBlock(0, 9);
    p.cacheBlock(1, 9);
    expect(p.lookup(9)).toBe(0);
    expect(p.hashOf(1)).toBe(-1);
  });

  it('rejects releasing more than referenced', () => {
    const p = new BlockPool(1);
    expect(() => p.release([0])).toThrow();
  });
});
