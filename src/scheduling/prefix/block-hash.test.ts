import { describe, expect, it } from 'vitest';
import { text } from '../../../test/scheduling/helpers.js';
import { chainSeed, hashBlocks } from './block-hash.js';

/** The chain's initial state before the model is mixed in (chainSeed of no model, unfolded). */
const INITIAL = 0x9747b28c;

const hashAll = (s: string, blockSize: number, seed: number, maxBlocks = 4096, outLength = maxBlocks) => {
  const out = new Int32Array(outLength);
  const n = hashBlocks(s, blockSize, maxBlocks, seed, out);
  return [...out.slice(0, n)];
};

/** One block hashed on its own, seeded by the previous block's hash. */
const one = (block: string, seed: number) => hashAll(block, block.length, seed, 1)[0]!;

describe('hashBlocks and chainSeed: one mixing function', () => {
  const samples = [
    'a',
    'ab',
    'abc',
    'abcd',
    'model-7b',
    'llama-3.1-8b-instruct',
    '日本語',
    'é🙂x',
    '\u0000\uffff',
  ];

  it.each(samples)('a model name seeds the chain as hashing it as one block would: %j', (s) => {
    // odd lengths take the character path, even lengths the fast path: both must agree with chainSeed
    expect(one(s, INITIAL)).toBe(chainSeed(s));
  });

  it('no model and an empty model are the same seed; an empty salt is no salt', () => {
    expect(chainSeed(undefined)).toBe(chainSeed(''));
    expect(chainSeed('m', '')).toBe(chainSeed('m'));
    expect(chainSeed('m', undefined)).toBe(chainSeed('m'));
    expect(chainSeed('m', 'a')).not.toBe(chainSeed('m', 'b'));
    expect(chainSeed('ma')).not.toBe(chainSeed('m', 'a'));
  });

  it.each([1, 3, 7, 2, 4, 64])(
    'block size %i: each hash is its block hashed alone, seeded by the hash before it',
    (size) => {
      const s = text(size * 12 + size - 1, size);
      const seed = chainSeed('m');
      const h = hashAll(s, size, seed);
      expect(h).toHaveLength(12);
      let prev = seed;
      for (let b = 0; b < h.length; b++) {
        prev = one(s.slice(b * size, (b + 1) * size), prev);
        expect(h[b], `block ${b}`).toBe(prev);
      }
    },
  );

  it('the block size itself is mixed in: equal characters in blocks of 2 and 4 hash differently', () => {
    const s = 'abcd';
    const two = hashAll(s, 2, 1);
    expect(one('ab', two[0]!)).not.toBe(hashAll(s, 4, 1)[0]);
    expect(two[1]).toBe(one('cd', two[0]!));
  });

  it('prompts longer than the reusable buffer (64 KiB of UTF-16) are read to the end', () => {
    const a = text(40_000, 9);
    const b = `${a.slice(0, 39_000)}#${a.slice(39_001)}`;
    const ha = hashAll(a, 64, 5);
    const hb = hashAll(b, 64, 5);
    const changed = Math.floor(39_000 / 64);
    expect(ha).toHaveLength(Math.floor(40_000 / 64));
    expect(hb.slice(0, changed)).toEqual(ha.slice(0, changed));
    expect(hb[changed]).not.toBe(ha[changed]);
    expect(ha[ha.length - 1]).toBe(one(a.slice((ha.length - 1) * 64, ha.length * 64), ha[ha.length - 2]!));
    // and a short prompt after the long one still hashes as before
    expect(hashAll('x'.repeat(128), 64, 5)).toEqual(hashAll('x'.repeat(128), 64, 5));
  });

  it('writes at most out.length and maxBlocks hashes', () => {
    const s = text(64 * 10, 3);
    expect(hashAll(s, 64, 1, 10, 4)).toEqual(hashAll(s, 64, 1, 4));
    expect(hashAll(s, 64, 1, 3, 10)).toHaveLength(3);
    expect(hashAll(s.slice(0, 63), 64, 1)).toEqual([]);
    expect(hashAll(s.slice(0, 62), 3, 1, 0)).toEqual([]);
  });
});
