/**
 * Chained block hashes for the prefix cache, as vLLM's V1 KV cache manager defines them:
 *   hash(block i) = H(hash(block i−1), token ids of block i, extra keys)
 * so equal hashes mean equal full prefixes. The extra key carries the LoRA adapter, which keeps
 * prefix caching per model/adapter. Only full blocks have hashes.
 *
 * Values are safe integers in [0, 2^53): two independent 32-bit murmur3-style lanes, so collisions
 * among the ~10^5 blocks of a cache are negligible and hashes are cheap Map keys.
 */

/** Parent of the first block (vLLM's NONE_HASH; a constant here, so runs are reproducible). */
export const ROOT_BLOCK_HASH = 0;

const TWO_32 = 4294967296;
const TWO_21 = 2097152;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixLane1(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixLane2(h: number, k: number): number {
  k = Math.imul(k, 0x85ebca77);
  k = rotl(k, 17);
  k = Math.imul(k, 0xc2b2ae3d);
  h ^= k;
  h = rotl(h, 11);
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

/**
 * Hash of the full block `tokens[start, start + blockSize)` chained to `parent`, with `extraKey`
 * (0 for the base model, a per-adapter key for LoRA requests).
 */
export function hashBlock(
  parent: number,
  tokens: ArrayLike<number>,
  start: number,
  blockSize: number,
  extraKey: number,
): number {
  const parentLo = (parent % TWO_32) | 0;
  const parentHi = Math.floor(parent / TWO_32) | 0;
  let h1 = mixLane1(0x9747b28c, parentLo);
  h1 = mixLane1(h1, parentHi);
  let h2 = mixLane2(0x3c6ef372, parentHi);
  h2 = mixLane2(h2, parentLo);
  const end = start + blockSize;
  for (let i = start; i < end; i++) {
    const t = tokens[i]! | 0;
    h1 = mixLane1(h1, t);
    h2 = mixLane2(h2, t);
  }
  h1 = mixLane1(h1, extraKey | 0);
  h2 = mixLane2(h2, extraKey | 0);
  h1 = fmix(h1 ^ blockSize);
  h2 = fmix(h2 ^ blockSize);
  return h1 * TWO_21 + (h2 >>> 11);
}

/** Hashes of every full block of `tokens[0, count)`, chained from the root. */
export function hashFullBlocks(
  tokens: ArrayLike<number>,
  count: number,
  blockSize: number,
  extraKey: number,
): number[] {
  const n = Math.floor(count / blockSize);
  const out = new Array<number>(n);
  let parent = ROOT_BLOCK_HASH;
  for (let b = 0; b < n; b++) {
    parent = hashBlock(parent, tokens, b * blockSize, blockSize, extraKey);
    out[b] = parent;
  }
  return out;
}
