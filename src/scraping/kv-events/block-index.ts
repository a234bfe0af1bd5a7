/**
 * The pool's exact view of which endpoint caches which token blocks, built from the endpoints' KV
 * events. Blocks are keyed by infergate's own chained hash of their token ids (token-hash.ts) in
 * blocks of `blockSize` tokens, so the engines' hash algorithm and seed do not matter and their
 * block size only needs to be a multiple of ours.
 *
 * Layout: one row per distinct block held by at least one endpoint (own hash → row in a Map), each
 * row a bit mask of the endpoints holding it (32 endpoints per word, words added as endpoints
 * arrive). Per endpoint, its engine's hashes → our hashes (to apply BlockRemoved), in insertion
 * order, capped at `maxBlocksPerEndpoint` (oldest dropped first): memory is bounded by endpoints ×
 * that cap. A row disappears when its last holder drops it.
 */
import type { EngineHashKey, StoredEvent } from './decode.js';
import { hashTokenBlock, rootHash } from './token-hash.js';

export interface KvBlockIndexOptions {
  /** Tokens per block of this index (engines' block sizes must be multiples of it). */
  readonly blockSize: number;
  /** Engine blocks remembered per endpoint; the oldest are forgotten beyond it. */
  readonly maxBlocksPerEndpoint: number;
}

/** What applying a BlockStored did. */
export type StoreOutcome = 'stored' | 'orphan' | 'incompatible' | 'ignored';

class EndpointBlocks {
  /** Engine hash → our hash (or hashes, when an engine block spans several of ours). */
  readonly blocks = new Map<EngineHashKey, number | number[]>();
  /** Engine hashes stored more than once (duplicate physical blocks): extra reference counts. */
  readonly duplicates = new Map<EngineHashKey, number>();
  /** Stored events dropped because their parent block was unknown here. */
  orphans = 0;
  /** Blocks dropped by the per-endpoint cap. */
  capped = 0;
  constructor(readonly slot: number) {}
}

export class KvBlockIndex {
  readonly blockSize: number;
  readonly maxBlocksPerEndpoint: number;
  private readonly rows = new Map<number, number>();
  private words = 1;
  private masks: Uint32Array;
  private rowCapacity: number;
  private freeRows: number[] = [];
  private nextRow = 0;
  private readonly endpoints = new Map<string, EndpointBlocks>();
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
  private readonly loraNames = new Set<string>();
  private scratch = new Uint32Array(1);

  constructor(opts: KvBlockIndexOptions) {
    if (!Number.isInteger(opts.blockSize) || opts.blockSize < 1)
      throw new RangeError('blockSize must be ≥ 1');
    this.blockSize = opts.blockSize;
    this.maxBlocksPerEndpoint = Math.max(1, Math.floor(opts.maxBlocksPerEndpoint));
    this.rowCapacity = 1024;
    this.masks = new Uint32Array(this.rowCapacity * this.words);
  }

  /** Distinct blocks held by at least one endpoint. */
  get size(): number {
    return this.rows.size;
  }

  /** Slots handed out so far (the length `match` writes). */
  get slots(): number {
    return this.slotCount;
  }

  /** The endpoint's slot, or −1 when it holds nothing and was never seen. */
  slotOf(id: string): number {
    return this.endpoints.get(id)?.slot ?? -1;
  }

  /** Engine blocks remembered for the endpoint. */
  blocksOf(id: string): number {
    return this.endpoints.get(id)?.blocks.size ?? 0;
  }

  /** Stored events of the endpoint dropped for an unknown parent, and blocks dropped by the cap. */
  lossesOf(id: string): { orphans: number; capped: number } {
    const e = this.endpoints.get(id);
    return { orphans: e?.orphans ?? 0, capped: e?.capped ?? 0 };
  }

  /** True when some endpoint stored blocks of this adapter (requests for it hash from its root). */
  knowsAdapter(name: string): boolean {
    return this.loraNames.has(name);
  }

  /** Applies a BlockStored of endpoint `id`. */
  stored(id: string, ev: StoredEvent): StoreOutcome {
    if (ev.medium !== null && ev.medium !== 'GPU') return 'ignored';
    const bs = this.blockSize;
    if (ev.blockSize % bs !== 0) return 'incompatible';
    const ep = this.ensure(id);
    let parent: number;
    if (ev.parentBlockHash === null) parent = rootHash(ev.loraName);
    else {
      const p = ep.blocks.get(ev.parentBlockHash);
      if (p === undefined) {
        ep.orphans++;
        return 'orphan';
      }
      parent = typeof p === 'number' ? p : p[p.length - 1]!;
    }
    if (ev.loraName !== null) this.loraNames.add(ev.loraName);
    const per = ev.blockSize / bs;
    const tokens = ev.tokenIds;
    for (let j = 0; j < ev.blockHashes.length; j++) {
      const key = ev.blockHashes[j]!;
      const base = j * ev.blockSize;
      const known = ep.blocks.get(key);
      if (known !== undefined) {
        ep.duplicates.set(key, (ep.duplicates.get(key) ?? 0) + 1);
        parent = typeof known === 'number' ? known : known[known.length - 1]!;
        continue;
      }
      if (per === 1) {
        parent = hashTokenBlock(parent, tokens, base, bs);
        this.setBit(parent, ep.slot);
        ep.blocks.set(key, parent);
      } else {
        const own: number[] = new Array(per);
        for (let m = 0; m < per; m++) {
          parent = hashTokenBlock(parent, tokens, base + m * bs, bs);
          this.setBit(parent, ep.slot);
          own[m] = parent;
        }
        ep.blocks.set(key, own);
      }
      if (ep.blocks.size > this.maxBlocksPerEndpoint) {
        const oldest = ep.blocks.keys().next().value!;
        this.forget(ep, oldest, true);
        ep.capped++;
      }
    }
    return 'stored';
  }

  /** Applies a BlockRemoved of endpoint `id`. Unknown hashes are ignored. */
  removed(id: string, keys: readonly EngineHashKey[]): void {
    const ep = this.endpoints.get(id);
    if (!ep) return;
    for (let i = 0; i < keys.length; i++) this.forget(ep, keys[i]!, false);
  }

  /** AllBlocksCleared, or the engine restarted: the endpoint holds nothing (it keeps its slot). */
  cleared(id: string): void {
    const ep = this.endpoints.get(id);
    if (!ep) return;
    for (const own of ep.blocks.values()) this.clearOwn(own, ep.slot);
    ep.blocks.clear();
    ep.duplicates.clear();
  }

  /** The endpoint left the pool: its blocks and slot are released. */
  removeEndpoint(id: string): void {
    const ep = this.endpoints.get(id);
    if (!ep) return;
    this.cleared(id);
    this.endpoints.delete(id);
    this.freeSlots.push(ep.slot);
  }

  /**
   * Longest run of leading blocks of `hashes[0, n)` each endpoint holds: `out[slot]` for every slot
   * < `slots` (out must be at least that long).
   */
  match(hashes: ArrayLike<number>, n: number, out: Int32Array): void {
    const W = this.words;
    out.fill(0, 0, this.slotCount);
    if (n === 0 || this.rows.size === 0) return;
    const masks = this.masks;
    if (this.scratch.length < W) this.scratch = new Uint32Array(W);
    const alive = this.scratch;
    const r0 = this.rows.get(hashes[0]!);
    if (r0 === undefined) return;
    let any = 0;
    for (let w = 0; w < W; w++) {
      alive[w] = masks[r0 * W + w]!;
      any |= alive[w]!;
    }
    let i = 1;
    for (; i < n && any !== 0; i++) {
      const r = this.rows.get(hashes[i]!);
      any = 0;
      for (let w = 0; w < W; w++) {
        const before = alive[w]!;
        const after = r === undefined ? 0 : before & masks[r * W + w]!;
        let dropped = before & ~after;
        while (dropped !== 0) {
          const bit = 31 - Math.clz32(dropped & -dropped);
          out[w * 32 + bit] = i;
          dropped &= dropped - 1;
        }
        alive[w] = after;
        any |= after;
      }
    }
    if (any !== 0) {
      for (let w = 0; w < W; w++) {
        let a = alive[w]!;
        while (a !== 0) {
          const bit = 31 - Math.clz32(a & -a);
          out[w * 32 + bit] = i;
          a &= a - 1;
        }
      }
    }
  }

  /** Our chain root for requests to `model` (an adapter the engines reported, else the base). */
  rootFor(model: string | undefined): number {
    return rootHash(model !== undefined && this.loraNames.has(model) ? model : null);
  }

  private ensure(id: string): EndpointBlocks {
    let ep = this.endpoints.get(id);
    if (!ep) {
      const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.slotCount++;
      if (slot >= this.words * 32) this.growWords();
      ep = new EndpointBlocks(slot);
      this.endpoints.set(id, ep);
    }
    return ep;
  }

  private forget(ep: EndpointBlocks, key: EngineHashKey, all: boolean): void {
    const dup = ep.duplicates.get(key);
    if (dup !== undefined && !all) {
      if (dup <= 1) ep.duplicates.delete(key);
      else ep.duplicates.set(key, dup - 1);
      return;
    }
    const own = ep.blocks.get(key);
    if (own === undefined) return;
    ep.blocks.delete(key);
    ep.duplicates.delete(key);
    this.clearOwn(own, ep.slot);
  }

  private clearOwn(own: number | number[], slot: number): void {
    if (typeof own === 'number') this.clearBit(own, slot);
    else for (let m = 0; m < own.length; m++) this.clearBit(own[m]!, slot);
  }

  private setBit(hash: number, slot: number): void {
    let row = this.rows.get(hash);
    if (row === undefined) {
      row = this.allocRow();
      this.rows.set(hash, row);
    }
    this.masks[row * this.words + (slot >>> 5)]! |= 1 << (slot & 31);
  }

  private clearBit(hash: number, slot: number): void {
    const row = this.rows.get(hash);
    if (row === undefined) return;
    const W = this.words;
    const at = row * W;
    this.masks[at + (slot >>> 5)]! &= ~(1 << (slot & 31));
    for (let w = 0; w < W; w++) if (this.masks[at + w] !== 0) return;
    this.rows.delete(hash);
    this.freeRows.push(row);
  }

  private allocRow(): number {
    const free = this.freeRows.pop();
    if (free !== undefined) return free;
    if (this.nextRow === this.rowCapacity) {
      this.rowCapacity *= 2;
      const next = new Uint32Array(this.rowCapacity * this.words);
      next.set(this.masks);
      this.masks = next;
    }
    const row = this.nextRow++;
    this.masks.fill(0, row * this.words, (row + 1) * this.words);
    return row;
  }

  private growWords(): void {
    const oldW = this.words;
    const W = oldW * 2;
    const next = new Uint32Array(this.rowCapacity * W);
    for (let r = 0; r < this.nextRow; r++)
      for (let w = 0; w < oldW; w++) next[r * W + w] = this.masks[r * oldW + w]!;
    this.masks = next;
    this.words = W;
  }
}
