import { describe, expect, it } from 'vitest';
import { text } from '../../../test/scheduling/helpers.js';
import { SeededRng } from '../../util/rng.js';
import { chainSeed, hashBlocks } from './block-hash.js';
import { PrefixIndex } from './prefix-index.js';

const hashes = (s: string, model = 'm', blockSize = 64, maxBlocks = 256) => {
  const out = new Int32Array(maxBlocks);
  const n = hashBlocks(s, blockSize, maxBlocks, chainSeed(model), out);
  return out.slice(0, n);
};

describe('hashBlocks', () => {
  it('is deterministic and cuts whole blocks only (trailing partial block ignored)', () => {
    const t = text(64 * 3 + 10, 1);
    expect([...hashes(t)]).toEqual([...hashes(t)]);
    expect(hashes(t).length).toBe(3);
    expect(hashes(text(63, 1)).length).toBe(0);
  });

  it('chains: a change in block 2 changes block 2 and every later hash, not earlier ones', () => {
    const a = text(64 * 5, 2);
    const b = `${a.slice(0, 130)}X${a.slice(131)}`;
    const ha = hashes(a);
    const hb = hashes(b);
    expect(hb[0]).toBe(ha[0]);
    expect(hb[1]).toBe(ha[1]);
    for (let i = 2; i < 5; i++) expect(hb[i]).not.toBe(ha[i]);
  });

  it('chains: equal blocks at different positions or after different prefixes hash differently', () => {
    const block = 'x'.repeat(64);
    const h = hashes(block + block);
    expect(h[0]).not.toBe(h[1]);
    expect(hashes(`${'y'.repeat(64)}${block}`)[1]).not.toBe(h[1]);
  });

  it('is seeded by the model (and salt): different models never share blocks', () => {
    const t = text(640, 3);
    expect(hashes(t, 'a')[0]).not.toBe(hashes(t, 'b')[0]);
    expect(chainSeed('a', 'salt')).not.toBe(chainSeed('a'));
  });

  it('stops at maxBlocks and honours the block size', () => {
    expect(hashes(text(64 * 300, 4)).length).toBe(256);
    expect(hashes(text(100, 4), 'm', 10, 5).length).toBe(5);
  });

  it('the fast path (even block sizes) equals the character-by-character path, non-ASCII and ropes included', () => {
    // a block size of 2 × 32 + 0 takes the fast path; compare with the odd-size path on the same
    // characters by hashing blocks of one pair at a time through both definitions
    const slow = (s: string, blockSize: number) => {
      const out = new Int32Array(1024);
      const n = hashBlocks(s, blockSize, 1024, chainSeed('m'), out);
      return [...out.slice(0, n)];
    };
    let rope = '';
    for (let i = 0; i < 50; i++) rope += `${text(37, i)}日本語é🙂`;
    for (const s of [text(5000, 8), rope, '\u0000'.repeat(640)]) {
      const fast = slow(s, 64);
      // reference: the same mixing written out with charCodeAt
      const ref: number[] = [];
      let prev = chainSeed('m');
      for (let b = 0; b + 64 <= Math.min(s.length, 64 * 1024); b += 64) {
        let h = prev;
        for (let i = b; i < b + 64; i += 2) {
          let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
          k = Math.imul(k, 0xcc9e2d51);
          k = (k << 15) | (k >>> 17);
          k = Math.imul(k, 0x1b873593);
          h ^= k;
          h = (h << 13) | (h >>> 19);
          h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        }
        h ^= 64;
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        prev = h >> 1;
        ref.push(prev);
      }
      expect(fast).toEqual(ref);
    }
  });

  it('produces V8 small integers (31-bit), spread over the range', () => {
    const h = hashes(text(64 * 256, 5));
    for (const v of h) {
      expect(v).toBeGreaterThanOrEqual(-(2 ** 30));
      expect(v).toBeLessThan(2 ** 30);
    }
    expect(new Set(h).size).toBe(256);
  });
});

describe('PrefixIndex', () => {
  const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => 1000 + i);

  it('matches leading blocks only, per endpoint', () => {
    const idx = new PrefixIndex({ defaultCapacity: 100, maxEntries: 1000 });
    idx.insert('a', Int32Array.from([1, 2, 3, 4]), 4);
    idx.insert('b', Int32Array.from([1, 2, 9]), 3);
    idx.insert('c', Int32Array.from([2, 3, 4]), 3); // holds blocks 2..4 but not the first
    const m = idx.match(Int32Array.from([1, 2, 3, 5]), 4);
    expect(m[idx.slotOf('a')]).toBe(3);
    expect(m[idx.slotOf('b')]).toBe(2);
    expect(m[idx.slotOf('c')]).toBe(0);
    expect(idx.slotOf('nobody')).toBe(-1);
  });

  it('evicts least recently used first, a request tail before its head', () => {
    const idx = new PrefixIndex({ defaultCapacity: 4, maxEntries: 1000 });
    idx.insert('a', Int32Array.from([1, 2, 3]), 3); // LRU order: 3, 2, 1 (head most recent)
    idx.insert('a', Int32Array.from([7, 8]), 2); // capacity 4: evicts 3
    expect(idx.sizeOf('a')).toBe(4);
    let m = idx.match(Int32Array.from([1, 2, 3]), 3);
    expect(m[idx.slotOf('a')]).toBe(2);
    idx.insert('a', Int32Array.from([1]), 1); // touch 1: now 2 is the oldest
    idx.insert('a', Int32Array.from([9]), 1);
    m = idx.match(Int32Array.from([1, 2]), 2);
    expect(m[idx.slotOf('a')]).toBe(1);
    expect(idx.evictions).toBe(2);
  });

  it('per-endpoint capacity can differ (KV-sized)', () => {
    const idx = new PrefixIndex({ defaultCapacity: 2, maxEntries: 1000 });
    idx.insert('big', ids(10), 10, 8);
    idx.insert('small', ids(10), 10);
    expect(idx.sizeOf('big')).toBe(8);
    expect(idx.sizeOf('small')).toBe(2);
  });

  it('the global bound holds, taking from the fullest endpoint first', () => {
    const idx = new PrefixIndex({ defaultCapacity: 100, maxEntries: 50 });
    idx.insert('a', ids(40), 40);
    idx.insert('b', ids(30), 30);
    expect(idx.size).toBe(50);
    expect(idx.sizeOf('a')).toBe(25);
    expect(idx.sizeOf('b')).toBe(25);
  });

  it('stays within both bounds under a long random workload', () => {
    const rng = new SeededRng(9);
    const idx = new PrefixIndex({ defaultCapacity: 300, maxEntries: 1000 });
    for (let r = 0; r < 5000; r++) {
      const ep = `e${Math.floor(rng.next() * 6)}`;
      const n = 1 + Math.floor(rng.next() * 50);
      const h = Int32Array.from({ length: n }, () => Math.floor(rng.next() * 5000));
      idx.insert(ep, h, n);
      expect(idx.size).toBeLessThanOrEqual(1000);
    }
    for (let e = 0; e < 6; e++) expect(idx.sizeOf(`e${e}`)).toBeLessThanOrEqual(300);
    expect(idx.distinctBlocks).toBeLessThanOrEqual(idx.size);
  });

  it.each([120, 20_000])(
    'agrees with a plain reference model under random inserts, evictions and removals (%i distinct blocks)',
    (keySpace) => {
      // reference: per endpoint an array ordered oldest → newest
      const ref = new Map<string, number[]>();
      const refInsert = (id: string, h: Int32Array, cap: number) => {
        const list = ref.get(id) ?? [];
        for (let b = h.length - 1; b >= 0; b--) {
          const i = list.indexOf(h[b]!);
          if (i >= 0) list.splice(i, 1);
          list.push(h[b]!);
        }
        while (list.length > cap) list.shift();
        ref.set(id, list);
      };
      const refMatch = (id: string, h: Int32Array) => {
        const set = new Set(ref.get(id) ?? []);
        let n = 0;
        while (n < h.length && set.has(h[n]!)) n++;
        return n;
      };
      const rng = new SeededRng(21);
      const idx = new PrefixIndex({ defaultCapacity: 400, maxEntries: 1e9 });
      const chain = (len: number) =>
        Int32Array.from({ length: len }, () => Math.floor(rng.next() * keySpace) - keySpace / 2);
      for (let step = 0; step < 4000; step++) {
        const id = `e${Math.floor(rng.next() * 5)}`;
        const r = rng.next();
        if (r < 0.03) {
          idx.removeEndpoint(id);
          ref.delete(id);
        } else {
          const h = chain(1 + Math.floor(rng.next() * 12));
          const cap = id === 'e0' ? 15 : 400;
          idx.insert(id, h, h.length, cap);
          refInsert(id, h, cap);
        }
        const probe = chain(1 + Math.floor(rng.next() * 6));
        const m = idx.match(probe, probe.length);
        for (const e of ['e0', 'e1', 'e2', 'e3', 'e4']) {
          const slot = idx.slotOf(e);
          expect(slot >= 0 ? m[slot] : 0, `step ${step} ${e}`).toBe(refMatch(e, probe));
          expect(idx.sizeOf(e)).toBe(ref.get(e)?.length ?? 0);
        }
      }
      let total = 0;
      const distinct = new Set<number>();
      for (const list of ref.values()) {
        total += list.length;
        for (const h of list) distinct.add(h);
      }
      expect(idx.size).toBe(total);
      expect(idx.distinctBlocks).toBe(distinct.size);
    },
  );

  it('removeEndpoint forgets its blocks and keeps the others', () => {
    const idx = new PrefixIndex({ defaultCapacity: 100, maxEntries: 1000 });
    idx.insert('a', Int32Array.from([1, 2]), 2);
    idx.insert('b', Int32Array.from([1, 2]), 2);
    idx.removeEndpoint('a');
    expect(idx.size).toBe(2);
    const m = idx.match(Int32Array.from([1, 2]), 2);
    expect(m[idx.slotOf('b')]).toBe(2);
    idx.insert('c', Int32Array.from([1]), 1); // reuses a's slot
    expect(idx.match(Int32Array.from([1, 2]), 2)[idx.slotOf('c')]).toBe(1);
  });
});
