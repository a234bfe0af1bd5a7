/**
 * A faster exact encoder for byte-level BPE tokenizers (GPT-2 style: Qwen, Llama 3, …): tiktoken's
 * Rust core (npm `tiktoken`, WebAssembly, synchronous) run with the tokenizer's own vocabulary as
 * ranks and its own pre-tokenizer pattern. It is ≈ 10× faster than @huggingface/tokenizers' pure
 * JavaScript BPE on text never seen before.
 *
 * tiktoken merges, within each pre-token, the adjacent pair whose concatenation has the lowest rank;
 * Hugging Face's BPE merges the pair with the lowest merge priority. They agree when the merge list
 * is in vocabulary-id order and every multi-byte token is a merge's result — which holds for
 * vocabularies converted from tiktoken ranks. `byteLevelBpeEncoder` checks the tokenizer.json
 * structurally (model, normalizer, pre-tokenizer, merge order) and returns undefined, with the
 * reason, for anything else; the caller then keeps the library's encoder. It covers the text between
 * added tokens only (the caller cuts at them) and never adds special tokens.
 *
 * Short texts skip most of the WebAssembly: each call costs ≈ 2 µs per token there (the pattern's
 * lookahead runs in a backtracking engine), while V8's own regular expressions split the same text
 * in a fraction of that. When the pattern is one JavaScript can run with the same meaning
 * (`jsPattern`) and the text lies in scripts whose Unicode properties have not changed for decades
 * (`STABLE_TEXT`), the text is split here and each pre-token is looked up: a whole-token pre-token in
 * the vocabulary (tiktoken does the same lookup before merging), others in a bounded cache of their
 * tiktoken encodings, made on the pre-token alone only when the pattern splits it alone into itself.
 * The ids are the ones tiktoken gives the whole text: BPE never merges across pre-tokens.
 */
import { createRequire } from 'node:module';
import { TextDecoder } from 'node:util';
import type { Tiktoken } from 'tiktoken/lite';
import { ownCopy } from '../util/strings.js';

/** Token ids of a text with no added tokens in it, exactly as the tokenizer's model would give them. */
export type PieceEncodeFn = (text: string) => number[];

/** How many texts each way went (for tests and benchmarks). */
export interface ByteLevelBpeStats {
  /** Split by the JavaScript pattern and looked up per pre-token. */
  split: number;
  /** Encoded whole by tiktoken's core. */
  whole: number;
}

export type ByteLevelBpeResult =
  | { readonly encode: PieceEncodeFn; readonly stats: ByteLevelBpeStats; readonly reason?: undefined }
  | { readonly encode?: undefined; readonly stats?: undefined; readonly reason: string };

type Json = Record<string, unknown>;

/** GPT-2's pre-tokenizer pattern (ByteLevel with use_regex: true). */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** GPT-2's byte → printable character map, inverted: character → byte. */
function unicodeToByte(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  }
  const map = new Map<string, number>();
  for (let i = 0; i < bytes.length; i++) map.set(String.fromCharCode(chars[i]!), bytes[i]!);
  return map;
}

function tokenBytes(token: string, map: Map<string, number>): Buffer | undefined {
  const out = Buffer.allocUnsafe(token.length);
  let i = 0;
  for (const ch of token) {
    const b = map.get(ch);
    if (b === undefined) return undefined;
    out[i++] = b;
  }
  return out.subarray(0, i);
}

/** The pre-tokenizer's pattern when it is a byte-level split tiktoken can run, else a reason. */
function pattern(pre: unknown): { pattern: string } | { reason: string } {
  const p = pre as Json | null;
  const byteLevel = (b: Json | undefined, useRegex: boolean) =>
    b?.type === 'ByteLevel' && b.add_prefix_space === false && (b.use_regex ?? true) === useRegex;
  if (p?.type === 'ByteLevel' && byteLevel(p, true)) return { pattern: GPT2_PATTERN };
  const seq = p?.type === 'Sequence' && Array.isArray(p.pretokenizers) ? (p.pretokenizers as Json[]) : [];
  const [split, bl] = seq;
  const regex = (split?.pattern as Json | undefined)?.Regex;
  if (
    seq.length === 2 &&
    split?.type === 'Split' &&
    split.behavior === 'Isolated' &&
    split.invert === false &&
    typeof regex === 'string' &&
    byteLevel(bl, false)
  )
    return { pattern: regex };
  return { reason: 'pre-tokenizer is not a byte-level regex split' };
}

function normalizer(n: unknown): { nfc: boolean } | { reason: string } {
  const j = n as Json | null;
  if (j === null || j === undefined) return { nfc: false };
  if (j.type === 'NFC') return { nfc: true };
  return { reason: `normalizer ${String(j.type)} is not NFC` };
}

/**
 * Ranks in tiktoken's text format (`base64(bytes) rank` per line) from the BPE model, or the reason
 * tiktoken would not merge as Hugging Face's BPE does.
 */
function ranks(model: Json): { ranks: string; byText: Map<string, number> } | { reason: string } {
  if (model.type !== 'BPE') return { reason: `model ${String(model.type)} is not BPE` };
  if (model.dropout || model.byte_fallback || model.continuing_subword_prefix || model.end_of_word_suffix)
    return { reason: 'BPE with dropout, byte fallback or subword affixes' };
  const vocab = model.vocab as Record<string, number> | undefined;
  const merges = model.merges as (string | [string, string])[] | undefined;
  if (!vocab || !Array.isArray(merges)) return { reason: 'BPE without vocabulary or merges' };
  const map = unicodeToByte();
  const merged = new Set<string>();
  let lastId = -1;
  for (const m of merges) {
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    const id = vocab[a + b];
    if (id === undefined || id <= lastId) return { reason: 'merges are not in vocabulary-id order' };
    lastId = id;
    merged.add(a + b);
  }
  const lines: string[] = [];
  const byText = new Map<string, number>();
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let singles = 0;
  for (const [token, id] of Object.entries(vocab)) {
    const bytes = tokenBytes(token, map);
    if (!bytes) return { reason: 'vocabulary is not byte-level' };
    if (bytes.length === 1) singles++;
    else if (!merged.has(token)) return { reason: `token ${id} is not a merge's result` };
    lines.push(`${bytes.toString('base64')} ${id}`);
    const text = decoded(utf8, bytes);
    if (text !== undefined && STABLE_TEXT.test(text)) byText.set(text, id);
  }
  if (singles !== 256) return { reason: 'vocabulary lacks some of the 256 bytes' };
  return { ranks: `${lines.join('\n')}\n`, byText };
}

/** The token's bytes as text, when they are whole UTF-8. */
function decoded(utf8: TextDecoder, bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Text split in JavaScript: Basic Latin to Cyrillic (U+0000–U+04FF) and General Punctuation
 * (U+2000–U+206F), blocks whose letters, digits and white space are the same in every Unicode
 * version since 4.1, so V8's tables and the Rust regex crate's agree on them. Anything else (CJK,
 * emoji, newer scripts) goes to tiktoken whole.
 */
const STABLE_TEXT = /^[\u0000-\u04ff\u2000-\u206f]*$/;
const ASCII = /^[\u0000-\u007f]*$/;

/** The case-insensitive contractions of GPT-2-style patterns, as JavaScript without `(?i:…)`. */
const CONTRACTIONS_I = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
// Unicode simple case folding: s also matches ſ (U+017F), as in Rust's regex and Oniguruma
const CONTRACTIONS_JS = "(?:'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/**
 * `pattern` as a JavaScript regular expression (flag u) with the same meaning, or undefined when it
 * uses anything beyond the few constructs translated here: `\s` / `\S` become the Unicode
 * White_Space property (JavaScript's `\s` also takes U+FEFF and its classes differ), `\p{L}` /
 * `\p{N}` stay, the case-insensitive contraction group is spelled out.
 */
export function jsPattern(pattern: string): string | undefined {
  const p = pattern.split(CONTRACTIONS_I).join(CONTRACTIONS_JS);
  // what is left: literal letters, space, apostrophe, \r \n \s \S \p{L} \p{N}, classes, groups,
  // alternation, quantifiers and lookahead
  const rest = p
    .replaceAll(CONTRACTIONS_JS, '')
    .replace(/\\[rnsS]|\\p\{[LN]\}|\(\?[:!=]|\{\d+(,\d*)?\}|[a-zA-Z' [\]^()|?*+]/g, '');
  if (rest !== '') return undefined;
  return p.replaceAll('\\s', '\\p{White_Space}').replaceAll('\\S', '\\P{White_Space}');
}

/** Multi-token pre-tokens' ids kept at most; the cache starts again past it. */
const WORD_CACHE_ENTRIES = 50_000;

/**
 * The split-and-look-up encoder (see the header), or undefined when the pattern does not translate.
 * Returns undefined for a text it does not take; the caller then encodes it whole.
 */
function splitEncoder(
  pattern: string,
  byText: ReadonlyMap<string, number>,
  whole: (text: string) => number[],
): ((text: string) => number[] | undefined) | undefined {
  const js = jsPattern(pattern);
  if (js === undefined) return undefined;
  let all: RegExp;
  let first: RegExp;
  try {
    all = new RegExp(js, 'gu');
    first = new RegExp(js, 'uy');
  } catch {
    return undefined;
  }
  const words = new Map<string, number[]>();
  /** The pattern, run on `word` alone, takes it whole: tiktoken's encoding of it alone is its own. */
  const alone = (word: string): boolean => {
    first.lastIndex = 0;
    const m = first.exec(word);
    return m !== null && m[0].length === word.length;
  };
  return (text) => {
    if (!STABLE_TEXT.test(text)) return undefined;
    const out: number[] = [];
    all.lastIndex = 0;
    let at = 0;
    for (let m = all.exec(text); m !== null; m = all.exec(text)) {
      const word = m[0];
      // a gap (text no alternative takes) or an empty match: leave the text to tiktoken
      if (m.index !== at || word.length === 0) return undefined;
      at += word.length;
      const id = byText.get(word);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      let ids = words.get(word);
      if (ids === undefined) {
        if (!alone(word)) return undefined;
        ids = whole(word);
        if (words.size >= WORD_CACHE_ENTRIES) words.clear();
        words.set(ownCopy(word), ids);
      }
      for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
    }
    return at === text.length ? out : undefined;
  };
}

/** Varied text the adopted encoder must encode exactly as the reference does before it is used. */
const SELF_CHECK = [
  "Hello world! It's 2024-06-01, we'll see: 3.14159 × 10^3 — ok?",
  '  leading spaces\ttabs\n\nnewlines\r\n  trailing   ',
  'ünïcödé café naïve Ångström 中文字符 日本語のテキスト 한국어 🙂👍🏽 emoji',
  'def f(x):\n    return x**2  # comment\n\n\nclass A: pass',
  '""" quotes \'\' ``` code ``` <html><body>&amp;</body></html> {"json": [1, 2, 3]}',
];

/**
 * An exact tiktoken-backed encoder for `tokenizerJson` (a parsed tokenizer.json), or the reason there
 * is none. `reference` (the library's encoding without special tokens) must agree on a varied sample
 * before the fast encoder is returned.
 */
export function byteLevelBpeEncoder(tokenizerJson: Json, reference: PieceEncodeFn): ByteLevelBpeResult {
  const norm = normalizer(tokenizerJson.normalizer);
  if ('reason' in norm) return norm;
  const pat = pattern(tokenizerJson.pre_tokenizer);
  if ('reason' in pat) return pat;
  const r = ranks((tokenizerJson.model ?? {}) as Json);
  if ('reason' in r) return r;
  let core: Tiktoken;
  try {
    // loaded here, not imported: its WebAssembly module compiles only for tokenizers that use it
    const lite = createRequire(import.meta.url)('tiktoken/lite') as { Tiktoken: typeof Tiktoken };
    core = new lite.Tiktoken(r.ranks, {}, pat.pattern);
  } catch (err) {
    return { reason: `tiktoken refused the tokenizer: ${(err as Error).message}` };
  }
  const whole = (text: string) => Array.from(core.encode_ordinary(text));
  const split = splitEncoder(pat.pattern, r.byText, whole);
  const stats: ByteLevelBpeStats = { split: 0, whole: 0 };
  const encode: PieceEncodeFn = (text) => {
    const t = norm.nfc && !ASCII.test(text) ? text.normalize('NFC') : text;
    const ids = split?.(t);
    if (ids !== undefined) {
      stats.split++;
      return ids;
    }
    stats.whole++;
    return whole(t);
  };
  for (const sample of SELF_CHECK) {
    const want = reference(sample);
    const got = encode(sample);
    if (want.length !== got.length || want.some((id, i) => id !== got[i]))
      return { reason: 'tiktoken disagrees with the library on the self-check sample' };
  }
  return { encode, stats };
}
