/**
 * Chained block hashes of a prompt, as the reference prefix scorer defines them: the text is cut
 * into `blockSize`-character blocks (a trailing partial block is ignored), at most `maxBlocks`;
 * hash(block i) = H(block i's characters, seeded by hash(block i − 1)), and the chain starts from
 * H(model name [+ cache salt]) so that different models (and LoRA adapters) never share entries.
 * Equal hash at position i therefore means an equal prompt up to the end of block i.
 *
 * H is MurmurHash3's 32-bit mixing over pairs of UTF-16 code units (two characters per step), then
 * folded to 31 bits so hashes are V8 small integers: Map/Set keys without heap numbers, which keeps
 * the index compact. A 31-bit collision can extend a match by one block now and then: acceptable for
 * an index that is approximate by nature (it guesses the servers' LRU state).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Seed of the chain for a model (and optional cache salt / adapter). */
export function chainSeed(model: string | undefined, salt?: string): number {
  let h = 0x9747b28c;
  if (model) h = mixString(h, model, 0, model.length);
  if (salt) h = mixString(h ^ 0x5bd1e995, salt, 0, salt.length);
  return fold(h);
}

/**
 * Fills `out` with the chained hashes of `text`'s blocks; returns how many (≤ maxBlocks and
 * ≤ out.length, floor(text.length / blockSize)).
 *
 * Even block sizes take the fast path: the leading characters are copied once, natively, as UTF-16
 * into a reused buffer and mixed two characters per 32-bit read (the same words `mixString` builds
 * with charCodeAt, so both paths give equal hashes). Reading a long prompt with charCodeAt costs
 * several times more, worse still on the rope strings that concatenation produces.
 */
export function hashBlocks(
  text: string,
  blockSize: number,
  maxBlocks: number,
  seed: number,
  out: Int32Array,
): number {
  let n = Math.floor(text.length / blockSize);
  if (n > maxBlocks) n = maxBlocks;
  if (n > out.length) n = out.length;
  if (n === 0) return 0;
  if (blockSize % 2 === 0) return hashBlocksFast(text, blockSize, n, seed, out);
  let prev = seed;
  for (let b = 0; b < n; b++) {
    const start = b * blockSize;
    prev = fold(mixString(prev, text, start, start + blockSize));
    out[b] = prev;
  }
  return n;
}

let utf16 = Buffer.from(new ArrayBuffer(64 * 1024));
let words = new Uint32Array(utf16.buffer);

function hashBlocksFast(text: string, blockSize: number, n: number, seed: number, out: Int32Array): number {
  const chars = n * blockSize;
  if (utf16.length < chars * 2) {
    utf16 = Buffer.from(new ArrayBuffer(chars * 4));
    words = new Uint32Array(utf16.buffer);
  }
  utf16.write(text, 0, chars * 2, 'utf16le');
  const w = words;
  const perBlock = blockSize >> 1;
  let prev = seed;
  let i = 0;
  for (let b = 0; b < n; b++) {
    let h = prev;
    const end = i + perBlock;
    for (; i < end; i++) {
      let k = Math.imul(w[i]!, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= blockSize;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    prev = fold(h);
    out[b] = prev;
  }
  return n;
}

/** Murmur3-style mixing of text[start, end) into h; finalised. */
function mixString(h: number, text: string, start: number, end: number): number {
  let i = start;
  const pairs = end - 1;
  while (i < pairs) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    i += 2;
  }
  if (i < end) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= end - start;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** 32 → 31 bits, signed: the V8 small-integer range. */
function fold(h: number): number {
  return h >> 1;
}
