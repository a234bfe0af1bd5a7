/**
 * An approximate index of which endpoint holds which prompt blocks (the servers' prefix caches as
 * this gateway guesses them). Blocks are recorded for an endpoint when a request is dispatched there
 * and evicted least-recently-used per endpoint, like vLLM's block pool: a request's blocks are
 * touched tail first so its leading blocks are evicted last (vLLM frees a request's blocks in
 * reverse order for the same reason).
 *
 * Memory is bounded twice: each endpoint holds at most its capacity (from its KV size when known),
 * and the whole index at most `maxEntries` (block, endpoint) entries — past it, the fullest endpoint
 * gives up its oldest blocks first.
 *
 * Layout (≈ 30 bytes per entry, no per-entry objects): entries live in typed arrays — block hash,
 * endpoint slot, links of the endpoint's LRU list, link to the next entry of the same block (the
 * block's holders) — and an open-addressing table (linear probing, backward-shift deletion) maps a
 * block hash to the first of its holder entries.
 */
import type { EndpointAware } from '../framework/types.js';

export interface PrefixIndexOptions {
  /** Blocks per endpoint when its KV capacity is unknown (reference: 31,250). */
  readonly defaultCapacity: number;
  /** (block, endpoint) entries over all endpoints. */
  readonly maxEntries: number;
}

const NONE = -1;

export class PrefixIndex implements EndpointAware {
  readonly defaultCapacity: number;
  readonly maxEntries: number;
  /** Entries evicted so far (per-endpoint LRU and global bound). */
  evictions = 0;

  // ---- endpoints (slots) ----
  private readonly slotById = new Map<string, number>();
  private readonly lruHead: number[] = []; // oldest entry of the slot
  private readonly lruTail: number[] = []; // newest
  private readonly counts: number[] = [];
  private readonly caps: number[] = [];
  private readonly freeSlots: number[] = [];

  // ---- entries ----
  private keys = new Int32Array(0);
  private slotOfEntry = new Uint16Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0); // LRU successor; free-list link for free entries
  private same = new Int32Array(0); // next holder entry of the same block
  private freeEntry = NONE;
  private used = 0; // entries ever allocated (high-water mark)
  private entries = 0;

  // ---- block → first holder entry (stored + 1; 0 = empty) ----
  private table = new Int32Array(1024);
  private tableBits = 10;
  private blocks = 0;

  private matched = new Int32Array(16);

  constructor(opts: PrefixIndexOptions) {
    this.defaultCapacity = Math.max(1, Math.floor(opts.defaultCapacity));
    this.maxEntries = Math.max(1, Math.floor(opts.maxEntries));
  }

  /** (block, endpoint) entries held. */
  get size(): number {
    return this.entries;
  }

  /** Distinct blocks held by at least one endpoint. */
  get distinctBlocks(): number {
    return this.blocks;
  }

  /** Endpoints with a slot. */
  get endpointCount(): number {
    return this.slotById.size;
  }

  /** Bytes held by the typed arrays (what the bound buys). */
  get bytes(): number {
    return (
      this.keys.byteLength +
      this.slotOfEntry.byteLength +
      this.prev.byteLength +
      this.next.byteLength +
      this.same.byteLength +
      this.table.byteLength
    );
  }

  /** Slot of an endpoint in `match` results, or −1 when it holds nothing. */
  slotOf(id: string): number {
    return this.slotById.get(id) ?? -1;
  }

  /** Blocks held by one endpoint. */
  sizeOf(id: string): number {
    const s = this.slotById.get(id);
    return s === undefined ? 0 : this.counts[s]!;
  }

  /**
   * For every slot, how many leading blocks of `hashes[0 … n)` it holds. The returned array is
   * reused by the next call; read it before matching again.
   */
  match(hashes: Int32Array, n: number): Int32Array {
    const slots = this.counts.length;
    if (this.matched.length < slots) this.matched = new Int32Array(slots * 2);
    const out = this.matched;
    out.fill(0, 0, slots);
    for (let b = 0; b < n; b++) {
      const pos = this.find(hashes[b]!);
      if (pos < 0) break;
      let extended = false;
      for (let e = this.table[pos]! - 1; e !== NONE; e = this.same[e]!) {
        const s = this.slotOfEntry[e]!;
        if (out[s] === b) {
          out[s] = b + 1;
          extended = true;
        }
      }
      if (!extended) break;
    }
    return out;
  }

  /** Records that `id` now caches `hashes[0 … n)`; `capacity` (blocks) defaults to defaultCapacity. */
  insert(id: string, hashes: Int32Array, n: number, capacity = this.defaultCapacity): void {
    if (n <= 0) return;
    const slot = this.slotFor(id);
    this.caps[slot] = Math.max(1, Math.floor(capacity));
    this.reserve(n);
    for (let b = n - 1; b >= 0; b--) {
      const h = hashes[b]!;
      let pos = this.find(h);
      if (pos >= 0) {
        let e = this.table[pos]! - 1;
        while (e !== NONE && this.slotOfEntry[e] !== slot) e = this.same[e]!;
        if (e !== NONE) {
          this.touch(slot, e);
          continue;
        }
      } else {
        pos = this.claim(h);
      }
      const e = this.allocate(h, slot);
      this.same[e] = this.table[pos]! - 1;
      this.table[pos] = e + 1;
      this.appendLru(slot, e);
    }
    const over = this.counts[slot]! - this.caps[slot]!;
    if (over > 0) this.evict(slot, over);
    if (this.entries > this.maxEntries) this.evictGlobal(this.entries - this.maxEntries);
  }

  /** Forgets everything `id` holds (endpoint gone from the pool). */
  removeEndpoint(id: string): void {
    const slot = this.slotById.get(id);
    if (slot === undefined) return;
    while (this.counts[slot]! > 0) this.drop(this.lruHead[slot]!);
    this.slotById.delete(id);
    this.freeSlots.push(slot);
  }

  // ---- slots ----------------------------------------------------------------------------------

  private slotFor(id: string): number {
    let slot = this.slotById.get(id);
    if (slot !== undefined) return slot;
    slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.counts.length;
      if (slot > 0xffff) throw new RangeError('prefix index: more than 65,536 endpoints');
      this.counts.push(0);
      this.lruHead.push(NONE);
      this.lruTail.push(NONE);
      this.caps.push(this.defaultCapacity);
    }
    this.slotById.set(id, slot);
    this.counts[slot] = 0;
    this.lruHead[slot] = NONE;
    this.lruTail[slot] = NONE;
    this.caps[slot] = this.defaultCapacity;
    return slot;
  }

  // ---- LRU lists ------------------------------------------------------------------------------

  private appendLru(slot: number, e: number): void {
    const tail = this.lruTail[slot]!;
    this.prev[e] = tail;
    this.next[e] = NONE;
    if (tail === NONE) this.lruHead[slot] = e;
    else this.next[tail] = e;
    this.lruTail[slot] = e;
    this.counts[slot]!++;
  }

  private unlinkLru(slot: number, e: number): void {
    const p = this.prev[e]!;
    const nx = this.next[e]!;
    if (p === NONE) this.lruHead[slot] = nx;
    else this.next[p] = nx;
    if (nx === NONE) this.lruTail[slot] = p;
    else this.prev[nx] = p;
    this.counts[slot]!--;
  }

  private touch(slot: number, e: number): void {
    if (this.lruTail[slot] === e) return;
    this.unlinkLru(slot, e);
    this.appendLru(slot, e);
  }

  private evict(slot: number, count: number): void {
    for (let i = 0; i < count && this.counts[slot]! > 0; i++) {
      this.drop(this.lruHead[slot]!);
      this.evictions++;
    }
  }

  /** Evicts `excess` entries, always from the endpoint holding the most. */
  private evictGlobal(excess: number): void {
    while (excess > 0) {
      let big = -1;
      let bigSize = 0;
      let second = 0;
      for (const s of this.slotById.values()) {
        const size = this.counts[s]!;
        if (size > bigSize) {
          second = bigSize;
          bigSize = size;
          big = s;
        } else if (size > second) second = size;
      }
      if (big < 0) return;
      const k = Math.min(excess, Math.max(1, bigSize - second));
      this.evict(big, k);
      excess -= k;
    }
  }

  /** Removes entry `e` from its LRU list and its block's holders, and frees it. */
  private drop(e: number): void {
    const slot = this.slotOfEntry[e]!;
    this.unlinkLru(slot, e);
    const pos = this.find(this.keys[e]!);
    const head = this.table[pos]! - 1;
    if (head === e) {
      const rest = this.same[e]!;
      if (rest === NONE) this.release(pos);
      else this.table[pos] = rest + 1;
    } else {
      let p = head;
      while (this.same[p] !== e) p = this.same[p]!;
      this.same[p] = this.same[e]!;
    }
    this.next[e] = this.freeEntry;
    this.freeEntry = e;
    this.entries--;
  }

  // ---- entry storage --------------------------------------------------------------------------

  /** Makes room for `n` more entries without reallocating mid-insert. */
  private reserve(n: number): void {
    const need = this.entries + n;
    if (need <= this.keys.length) return;
    let cap = Math.max(1024, this.keys.length);
    while (cap < need) cap *= 2;
    this.keys = grow(this.keys, new Int32Array(cap));
    this.slotOfEntry = grow(this.slotOfEntry, new Uint16Array(cap));
    this.prev = grow(this.prev, new Int32Array(cap));
    this.next = grow(this.next, new Int32Array(cap));
    this.same = grow(this.same, new Int32Array(cap));
  }

  private allocate(h: number, slot: number): number {
    let e = this.freeEntry;
    if (e !== NONE) this.freeEntry = this.next[e]!;
    else e = this.used++;
    this.keys[e] = h;
    this.slotOfEntry[e] = slot;
    this.entries++;
    return e;
  }

  // ---- block table ----------------------------------------------------------------------------

  private home(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> (32 - this.tableBits);
  }

  /** Table position of block `h`, or −1. */
  private find(h: number): number {
    const mask = this.table.length - 1;
    for (let i = this.home(h); ; i = (i + 1) & mask) {
      const v = this.table[i]!;
      if (v === 0) return -1;
      if (this.keys[v - 1] === h) return i;
    }
  }

  /** An empty position for new block `h` (the caller stores its first holder there). */
  private claim(h: number): number {
    if ((this.blocks + 1) * 2 > this.table.length) this.rehash(this.tableBits + 1);
    const mask = this.table.length - 1;
    let i = this.home(h);
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.blocks++;
    return i;
  }

  /** Empties position `pos` (backward-shift deletion keeps every probe chain unbroken). */
  private release(pos: number): void {
    const t = this.table;
    const mask = t.length - 1;
    let hole = pos;
    let i = (pos + 1) & mask;
    while (t[i] !== 0) {
      const home = this.home(this.keys[t[i]! - 1]!);
      // move t[i] into the hole if its home is not in (hole, i] (cyclically)
      if ((i - home) & mask) {
        const distHole = (hole - home) & mask;
        const distI = (i - home) & mask;
        if (distHole < distI) {
          t[hole] = t[i]!;
          hole = i;
        }
      }
      i = (i + 1) & mask;
    }
    t[hole] = 0;
    this.blocks--;
  }

  private rehash(bits: number): void {
    const old = this.table;
    this.table = new Int32Array(1 << bits);
    this.tableBits = bits;
    const mask = this.table.length - 1;
    for (let j = 0; j < old.length; j++) {
      const v = old[j]!;
      if (v === 0) continue;
      let i = this.home(this.keys[v - 1]!);
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = v;
    }
  }
}

function grow<T extends Int32Array | Uint16Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
