/**
 * infergate's own chained hash of token blocks: hash(block i) = H(hash(block i−1), its token ids),
 * seeded per adapter. Engines hash blocks their own way (vLLM: sha256 or a per-process random seed
 * unless PYTHONHASHSEED is fixed); re-hashing the events' token ids keeps the index independent of
 * that, and lets gateway replicas agree without sharing anything.
 * Values are safe integers in [0, 2^53): two 32-bit murmur3-style lanes.
 */

const TWO_21 = 2097152;

function mix1(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mix2(h: number, k: number): number {
  k = Math.imul(k, 0x85ebca77);
  k = (k << 17) | (k >>> 15);
  k = Math.imul(k, 0xc2b2ae3d);
  h ^= k;
  h = (h << 11) | (h >>> 21);
  return (Math.imul(h, 9) + 0x27d4eb2f) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The chain's root for a model or adapter name (null: the base model). */
export function rootHash(loraName: string | null): number {
  if (loraName === null) return 0x1f2e3d;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < loraName.length; i++) {
    const c = loraName.charCodeAt(i);
    h1 = mix1(h1, c);
    h2 = mix2(h2, c);
  }
  return fmix(h1) * TWO_21 + (fmix(h2) >>> 11);
}

/** Hash of tokens[start, start + blockSize) chained to `parent`. */
export function hashTokenBlock(
  parent: number,
  tokens: ArrayLike<number>,
  start: number,
  blockSize: number,
): number {
  const lo = (parent % 4294967296) | 0;
  const hi = Math.floor(parent / 4294967296) | 0;
  let h1 = mix1(mix1(0x9747b28c, lo), hi);
  let h2 = mix2(mix2(0x3c6ef372, hi), lo);
  const end = start + blockSize;
  for (let i = start; i < end; i++) {
    const t = tokens[i]! | 0;
    h1 = mix1(h1, t);
    h2 = mix2(h2, t);
  }
  h1 = fmix(h1 ^ blockSize);
  h2 = fmix(h2 ^ blockSize);
  return h1 * TWO_21 + (h2 >>> 11);
}

/**
 * Chained hashes of the full blocks of tokens[0, count) into `out` (at most out.length of them),
 * from `root`. Returns how many were written.
 */
export function hashTokenBlocks(
  tokens: ArrayLike<number>,
  count: number,
  blockSize: number,
  root: number,
  out: Float64Array,
): number {
  const n = Math.min(Math.floor(count / blockSize), out.length);
  let parent = root;
  for (let b = 0; b < n; b++) {
    parent = hashTokenBlock(parent, tokens, b * blockSize, blockSize);
    out[b] = parent;
  }
  return n;
}
