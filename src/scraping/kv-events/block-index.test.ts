import { describe, expect, it } from 'vitest';
import { KvBlockIndex } from './block-index.js';
import type { StoredEvent } from './decode.js';
import { hashTokenBlocks, rootHash } from './token-hash.js';

const BS = 4;

/** Tokens 0…n−1 offset by `base`, so prompts with different bases share nothing. */
function tokens(n: number, base = 0): number[] {
  return Array.from({ length: n }, (_, i) => base + i);
}

/** BlockStored for blocks [from, to) of `toks`, with engine hashes `engine(i)` (any scheme). */
function stored(
  toks: number[],
  from: number,
  to: number,
  engineBs = BS,
  engine = (i: number) => 1000 + i,
): StoredEvent {
  return {
    kind: 'stored',
    blockHashes: Array.from({ length: to - from }, (_, k) => engine(from + k)),
    parentBlockHash: from === 0 ? null : engine(from - 1),
    tokenIds: toks.slice(from * engineBs, to * engineBs),
    blockSize: engineBs,
    loraName: null,
    medium: 'GPU',
  };
}

function score(index: KvBlockIndex, toks: number[], id: string): number {
  const hashes = new Float64Array(toks.length);
  const n = hashTokenBlocks(toks, toks.length, index.blockSize, rootHash(null), hashes);
  const out = new Int32Array(Math.max(1, index.slots));
  index.match(hashes, n, out);
  const slot = index.slotOf(id);
  return slot < 0 ? 0 : out[slot]!;
}

describe('KvBlockIndex', () => {
  it('finds the longest cached prefix per endpoint, from events stored in several runs', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1000 });
    const t = tokens(40);
    idx.stored('a', stored(t, 0, 3));
    idx.stored('a', stored(t, 3, 6)); // chained to block 2 by its engine hash
    idx.stored(
      'b',
      stored(t, 0, 2, BS, (i) => 9000 + i),
    ); // another engine's hash scheme
    expect(score(idx, t, 'a')).toBe(6);
    expect(score(idx, t, 'b')).toBe(2);
    // a prompt that diverges after block 1
    const other = [...t.slice(0, 8), ...tokens(32, 500)];
    expect(score(idx, other, 'a')).toBe(2);
    expect(score(idx, tokens(40, 7000), 'a')).toBe(0);
  });

  it('forgets evicted blocks: a removed middle block ends the prefix there', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1000 });
    const t = tokens(40);
    idx.stored('a', stored(t, 0, 8));
    idx.removed('a', [1000 + 5, 1000 + 6, 1000 + 7]);
    expect(score(idx, t, 'a')).toBe(5);
    idx.removed('a', [1000 + 2]);
    expect(score(idx, t, 'a')).toBe(2);
    expect(idx.blocksOf('a')).toBe(4);
  });

  it('AllBlocksCleared empties one endpoint and leaves the others', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1000 });
    const t = tokens(20);
    idx.stored('a', stored(t, 0, 5));
    idx.stored('b', stored(t, 0, 5));
    idx.cleared('a');
    expect(score(idx, t, 'a')).toBe(0);
    expect(score(idx, t, 'b')).toBe(5);
    expect(idx.size).toBe(5);
    idx.removeEndpoint('b');
    expect(idx.size).toBe(0);
  });

  it('re-chunks engine blocks that are a multiple of its own block size', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1000 });
    const t = tokens(64);
    // engine blocks of 16 tokens = 4 index blocks each
    expect(idx.stored('a', stored(t, 0, 2, 16))).toBe('stored');
    expect(score(idx, t, 'a')).toBe(8);
    idx.removed('a', [1001]);
    expect(score(idx, t, 'a')).toBe(4);
    expect(idx.stored('a', stored(t, 0, 1, 6))).toBe('incompatible');
  });

  it('drops a run whose parent it never saw (orphan) instead of mis-chaining it', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1000 });
    const t = tokens(40);
    expect(idx.stored('a', stored(t, 3, 6))).toBe('orphan');
    expect(score(idx, t, 'a')).toBe(0);
    expect(idx.lossesOf('a').orphans).toBe(1);
  });

  it('keeps at most maxBlocksPerEndpoint blocks per endpoint, dropping the oldest', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 10 });
    for (let p = 0; p < 5; p++)
      idx.stored(
        'a',
        stored(tokens(16, p * 100), 0, 4, BS, (i) => p * 100 + i),
      );
    expect(idx.blocksOf('a')).toBe(10);
    expect(idx.lossesOf('a').capped).toBe(10);
    expect(score(idx, tokens(16, 0), 'a')).toBe(0);
    expect(score(idx, tokens(16, 400), 'a')).toBe(4);
  });

  it('tracks more than 32 endpoints (mask words grow) and reuses slots of departed ones', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 100 });
    const t = tokens(32);
    for (let e = 0; e < 70; e++) idx.stored(`e${e}`, stored(t, 0, e % 8));
    for (let e = 0; e < 70; e++) expect(score(idx, t, `e${e}`)).toBe(e % 8);
    idx.removeEndpoint('e3');
    idx.stored('new', stored(t, 0, 7));
    expect(idx.slotOf('new')).toBe(3);
    expect(score(idx, t, 'new')).toBe(7);
    expect(score(idx, t, 'e69')).toBe(69 % 8);
  });

  it('duplicate stores of one engine block need as many removals', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 100 });
    const t = tokens(8);
    idx.stored('a', stored(t, 0, 2));
    idx.stored('a', stored(t, 0, 2));
    idx.removed('a', [1000]);
    expect(score(idx, t, 'a')).toBe(2);
    idx.removed('a', [1000]);
    expect(score(idx, t, 'a')).toBe(0);
  });

  it('keeps adapters apart: blocks of a LoRA adapter match only requests for it', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 100 });
    const t = tokens(8);
    idx.stored('a', { ...stored(t, 0, 2), loraName: 'travel' });
    expect(score(idx, t, 'a')).toBe(0);
    expect(idx.rootFor('travel')).toBe(rootHash('travel'));
    expect(idx.rootFor('base-model')).toBe(rootHash(null));
  });

  it('ignores blocks on other media (offloaded to CPU)', () => {
    const idx = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 100 });
    expect(idx.stored('a', { ...stored(tokens(8), 0, 2), medium: 'CPU' })).toBe('ignored');
  });
});
