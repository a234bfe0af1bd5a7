/**
 * Decoding of vLLM KV event batches (vllm/distributed/kv_events.py), written against the published
 * format rather than the simulator: a msgpack KVEventBatch `[ts, events, data_parallel_rank?]`
 * (older vLLM: `[ts, events]`) whose events are tagged unions — maps with a `type` key in current
 * vLLM, arrays `[tag, …fields]` in vLLM ≤ 0.23, fields in declaration order. Fields are read by
 * name or position; unknown fields and unknown event types are ignored (forward compatible).
 * Block hashes are ints (up to 64 bits) or bytes; both become an EngineHashKey.
 */
import { Decoder } from '@msgpack/msgpack';

/**
 * An engine block hash folded to a number < 2^53: ints below 2^53 as they are, wider ints and
 * byte strings folded (distinct hashes of one endpoint collide with probability ~2^-53 per pair).
 */
export type EngineHashKey = number;

export interface StoredEvent {
  readonly kind: 'stored';
  readonly blockHashes: readonly EngineHashKey[];
  readonly parentBlockHash: EngineHashKey | null;
  readonly tokenIds: readonly number[];
  readonly blockSize: number;
  readonly loraName: string | null;
  /** "GPU" unless the engine offloads (CPU tiers are not counted as cached). */
  readonly medium: string | null;
}

export interface RemovedEvent {
  readonly kind: 'removed';
  readonly blockHashes: readonly EngineHashKey[];
  readonly medium: string | null;
}

export interface ClearedEvent {
  readonly kind: 'cleared';
}

export type KvEvent = StoredEvent | RemovedEvent | ClearedEvent;

export interface KvEventBatch {
  /** Unix seconds when the engine published it. */
  readonly ts: number;
  readonly events: readonly KvEvent[];
  readonly dataParallelRank: number | null;
}

export class KvEventDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvEventDecodeError';
  }
}

const TWO_53 = 2 ** 53;
const MASK_53 = (1n << 53n) - 1n;

/** Folds an engine hash (int, bigint or bytes) to a safe-integer key. */
export function engineHashKey(h: unknown): EngineHashKey {
  if (typeof h === 'number') {
    if (Number.isSafeInteger(h) && h >= 0) return h;
    if (Number.isSafeInteger(h)) return TWO_53 + h > 0 ? TWO_53 + h : -h;
    throw new KvEventDecodeError(`block hash ${h} is not an integer`);
  }
  if (typeof h === 'bigint') {
    const u = BigInt.asUintN(64, h);
    return Number((u ^ (u >> 53n)) & MASK_53);
  }
  if (h instanceof Uint8Array) {
    let acc = 0n;
    for (let i = 0; i < h.length; i++) acc = ((acc << 8n) | BigInt(h[i]!)) ^ (acc >> 56n);
    return engineHashKey(BigInt.asUintN(64, acc ^ BigInt(h.length)));
  }
  throw new KvEventDecodeError(`block hash of type ${typeof h}`);
}

const STORED_FIELDS = [
  'block_hashes',
  'parent_block_hash',
  'token_ids',
  'block_size',
  'lora_id',
  'medium',
  'lora_name',
];
const REMOVED_FIELDS = ['block_hashes', 'medium'];

type Fields = Record<string, unknown>;

function fieldsOf(ev: unknown): { tag: string; f: Fields } | undefined {
  if (Array.isArray(ev)) {
    const tag = ev[0];
    if (typeof tag !== 'string') throw new KvEventDecodeError('event array without a string tag');
    const names = tag === 'BlockStored' ? STORED_FIELDS : tag === 'BlockRemoved' ? REMOVED_FIELDS : [];
    const f: Fields = {};
    for (let i = 0; i < names.length; i++) f[names[i]!] = ev[i + 1];
    return { tag, f };
  }
  if (ev !== null && typeof ev === 'object' && !(ev instanceof Uint8Array)) {
    const f = ev as Fields;
    if (typeof f.type !== 'string') throw new KvEventDecodeError('event map without a string "type"');
    return { tag: f.type, f };
  }
  throw new KvEventDecodeError('event is neither a map nor an array');
}

function hashList(v: unknown, what: string): EngineHashKey[] {
  if (!Array.isArray(v)) throw new KvEventDecodeError(`${what}.block_hashes is not a list`);
  return v.map(engineHashKey);
}

function decodeEvent(ev: unknown): KvEvent | undefined {
  const d = fieldsOf(ev);
  if (!d) return undefined;
  const { tag, f } = d;
  switch (tag) {
    case 'BlockStored': {
      const tokenIds = f.token_ids;
      const blockSize = f.block_size;
      if (!Array.isArray(tokenIds)) throw new KvEventDecodeError('BlockStored.token_ids is not a list');
      if (typeof blockSize !== 'number' || !Number.isInteger(blockSize) || blockSize < 1)
        throw new KvEventDecodeError('BlockStored.block_size is not a positive integer');
      const blockHashes = hashList(f.block_hashes, 'BlockStored');
      if (tokenIds.length !== blockHashes.length * blockSize)
        throw new KvEventDecodeError('BlockStored.token_ids is not block_size tokens per block');
      const parent = f.parent_block_hash;
      return {
        kind: 'stored',
        blockHashes,
        parentBlockHash: parent === null || parent === undefined ? null : engineHashKey(parent),
        tokenIds: tokenIds as number[],
        blockSize,
        loraName: typeof f.lora_name === 'string' ? f.lora_name : null,
        medium: typeof f.medium === 'string' ? f.medium : null,
      };
    }
    case 'BlockRemoved':
      return {
        kind: 'removed',
        blockHashes: hashList(f.block_hashes, 'BlockRemoved'),
        medium: typeof f.medium === 'string' ? f.medium : null,
      };
    case 'AllBlocksCleared':
      return { kind: 'cleared' };
    default:
      return undefined;
  }
}

const decoder = new Decoder({ useBigInt64: true });

/** Decodes one payload frame. Throws KvEventDecodeError on anything that is not a KVEventBatch. */
export function decodeKvEventBatch(payload: Uint8Array): KvEventBatch {
  let raw: unknown;
  try {
    raw = decoder.decode(payload);
  } catch (err) {
    throw new KvEventDecodeError(`not msgpack: ${(err as Error).message}`);
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown;
  if (Array.isArray(raw)) [ts, events, rank] = raw;
  else if (raw !== null && typeof raw === 'object') {
    const o = raw as Fields;
    ts = o.ts;
    events = o.events;
    rank = o.data_parallel_rank;
  } else throw new KvEventDecodeError('batch is neither an array nor a map');
  if (typeof ts === 'bigint') ts = Number(ts);
  if (typeof ts !== 'number') throw new KvEventDecodeError('batch ts is not a number');
  if (!Array.isArray(events)) throw new KvEventDecodeError('batch events is not a list');
  const out: KvEvent[] = [];
  for (const ev of events) {
    const e = decodeEvent(ev);
    if (e) out.push(e);
  }
  return { ts, events: out, dataParallelRank: typeof rank === 'number' ? rank : null };
}
