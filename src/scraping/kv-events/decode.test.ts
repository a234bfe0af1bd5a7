import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeKvEventBatch, engineHashKey, KvEventDecodeError } from './decode.js';

describe('decodeKvEventBatch', () => {
  it('reads current vLLM batches: positional batch, tagged-map events with extra fields', () => {
    // the shape of a batch captured from vLLM 0.26 (kthena issue 1535), 64-bit hashes
    const payload = encode(
      [
        1789095808.8378847,
        [
          {
            type: 'BlockStored',
            block_hashes: [15760518052499183552n],
            parent_block_hash: null,
            token_ids: [151644, 872, 198, 9064],
            block_size: 4,
            lora_id: null,
            medium: 'GPU',
            lora_name: null,
            extra_keys: [null],
            group_idx: 0,
            kv_cache_spec_kind: 'full_attention',
          },
          { type: 'BlockRemoved', block_hashes: [7, 8], medium: 'GPU', group_idx: 0 },
          { type: 'AllBlocksCleared' },
          { type: 'SomethingNew', x: 1 },
        ],
        0,
      ],
      { useBigInt64: true },
    );
    const b = decodeKvEventBatch(payload);
    expect(b.ts).toBeCloseTo(1789095808.8378847);
    expect(b.dataParallelRank).toBe(0);
    expect(b.events.map((e) => e.kind)).toEqual(['stored', 'removed', 'cleared']);
    const s = b.events[0]!;
    if (s.kind !== 'stored') throw new Error('not stored');
    expect(s.blockHashes[0]).toBe(engineHashKey(15760518052499183552n));
    expect(Number.isSafeInteger(s.blockHashes[0])).toBe(true);
    expect(s.tokenIds).toEqual([151644, 872, 198, 9064]);
  });

  it('reads vLLM ≤ 0.23 batches: tagged arrays, bytes hashes, no dp rank', () => {
    const h = new Uint8Array(32).fill(3);
    const payload = encode([
      12.5,
      [
        ['BlockStored', [h], null, [1, 2], 2, null, 'GPU'],
        ['BlockRemoved', [h], 'GPU'],
        ['AllBlocksCleared'],
      ],
    ]);
    const b = decodeKvEventBatch(payload);
    expect(b.dataParallelRank).toBeNull();
    expect(b.events.map((e) => e.kind)).toEqual(['stored', 'removed', 'cleared']);
    const [s, r] = b.events;
    if (s?.kind !== 'stored' || r?.kind !== 'removed') throw new Error('kinds');
    expect(r.blockHashes[0]).toBe(s.blockHashes[0]);
  });

  it('rejects what is not a batch, naming the problem', () => {
    expect(() => decodeKvEventBatch(encode('x'))).toThrow(KvEventDecodeError);
    expect(() => decodeKvEventBatch(encode([1, 'no list']))).toThrow(/events/);
    expect(() =>
      decodeKvEventBatch(
        encode([1, [{ type: 'BlockStored', block_hashes: [1], token_ids: [1], block_size: 2 }]]),
      ),
    ).toThrow(/block_size tokens per block/);
    expect(() => decodeKvEventBatch(new Uint8Array([0xc1]))).toThrow(/msgpack/);
  });

  it('folds hashes: small ints unchanged, wide ints and bytes to distinct safe integers', () => {
    expect(engineHashKey(42)).toBe(42);
    const a = engineHashKey(2n ** 63n + 5n);
    const b = engineHashKey(2n ** 63n + 6n);
    expect(a).not.toBe(b);
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(engineHashKey(new Uint8Array([1, 2]))).not.toBe(engineHashKey(new Uint8Array([2, 1])));
  });
});
