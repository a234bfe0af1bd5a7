import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { QWEN3_TOKENIZER_DIR, STABLE_POOLS, variedTexts } from '../../test/helpers/tokenizers.js';
import { SeededRng } from '../util/rng.js';
import { byteLevelBpeEncoder, jsPattern } from './byte-level-bpe.js';
import { HfTokenizer } from './hf-tokenizer.js';

type Json = Record<string, unknown>;

const FIXED = [
  '',
  ' ',
  '\n\n\n',
  '    indented code\n\tand tabs   \n',
  "It's THE dog's bone; they'LL see, we'd go, I'm here, you've been, they're there",
  '1234567890 3.14159 1,000,000 0x1F 1e-9',
  'Ünïcödé NFC vs NFD: é é, Å Å, ñ ñ',
  '```ts\nconst x: number = 42; // answer\n```\n',
  '<div class="a">&lt;tag&gt;</div>',
  'a'.repeat(3000),
  ' '.repeat(500),
  '🙂'.repeat(300),
  'word '.repeat(1000),
];

describe('byteLevelBpeEncoder (tiktoken core with the tokenizer’s own ranks)', () => {
  let json: Json;
  let fast: HfTokenizer;
  let library: HfTokenizer;

  beforeAll(() => {
    json = JSON.parse(readFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer.json'), 'utf8')) as Json;
    fast = new HfTokenizer(QWEN3_TOKENIZER_DIR, { cacheEntries: 0 });
    library = new HfTokenizer(QWEN3_TOKENIZER_DIR, { cacheEntries: 0, fastEncoder: false });
  });

  it('is adopted for Qwen3 and gives @huggingface/tokenizers’ ids on 6,000 varied texts', () => {
    expect(fast.encoder.kind).toBe('tiktoken');
    expect(library.encoder).toEqual({ kind: 'huggingface', reason: 'disabled' });
    const texts = [...FIXED, ...variedTexts(6000, 14)];
    let tokens = 0;
    const mismatches: string[] = [];
    for (const t of texts) {
      const want = library.encodePiece(t);
      const got = fast.encodePiece(t);
      tokens += want.length;
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(t);
    }
    expect(mismatches).toEqual([]);
    expect(tokens).toBeGreaterThan(100_000);
  });

  it('texts it splits in JavaScript (Latin to Cyrillic, punctuation) get the library’s ids too', () => {
    const own = byteLevelBpeEncoder(json, (t) => library.encodePiece(t) as number[]);
    const texts = [...FIXED, ...variedTexts(4000, 15, STABLE_POOLS)];
    const mismatches: string[] = [];
    for (const t of texts) {
      if (JSON.stringify(own.encode!(t)) !== JSON.stringify(library.encodePiece(t))) mismatches.push(t);
    }
    expect(mismatches).toEqual([]);
    // most went the JavaScript way; the self-check's CJK and emoji, '🙂' and texts whose NFC
    // composition leaves the blocks (e.g. ş̧) went to tiktoken whole
    expect(own.stats!.split).toBeGreaterThan(0.8 * texts.length);
    expect(own.stats!.whole).toBeGreaterThan(0);
    // the same texts again: multi-token words now come from its cache, with the same ids
    for (const t of texts.slice(0, 500)) expect(own.encode!(t)).toEqual(library.encodePiece(t));
  });

  it('translates only patterns it can give the same meaning in JavaScript', () => {
    const qwen = ((json.pre_tokenizer as Json).pretokenizers as Json[])[0]!.pattern as Json;
    const js = jsPattern(qwen.Regex as string)!;
    expect(js).toContain("'[sSſ]");
    expect(js).toContain('\\p{White_Space}');
    expect(js).not.toMatch(/\\s|\(\?i/);
    const split = (text: string) => text.match(new RegExp(js, 'gu'));
    // U+FEFF is not white space to Rust's regex or Oniguruma (it is to JavaScript's \s)
    expect(split(' a\ufeff  b')).toEqual([' a', '\ufeff', ' ', ' b']);
    expect(split("it'S and'ſ 'll")).toEqual(['it', "'S", ' and', "'ſ", " '", 'll']);
    expect(jsPattern("'s|'t| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")).toBeDefined();
    expect(jsPattern('\\p{N}{1,3}|\\s+')).toBe('\\p{N}{1,3}|\\p{White_Space}+');
    for (const other of ['\\w+', '\\d+', '.', '(?i:abc)', '\\p{Lu}', '\\bx', '[\\u0000-\\uffff]'])
      expect(jsPattern(other), other).toBeUndefined();
  });

  it('whole chat prompts encode identically, added tokens included', () => {
    const rng = new SeededRng(3);
    const texts = variedTexts(200, 5);
    for (let i = 0; i < 50; i++) {
      const msgs = Array.from({ length: 4 }, (_, k) => ({
        role: k % 2 ? 'assistant' : 'user',
        content: texts[Math.floor(rng.next() * texts.length)]!,
      }));
      const text = fast.renderChat(msgs);
      expect(fast.encode(text, false)).toEqual(library.encode(text, false));
    }
  });

  it('declines tokenizers it cannot reproduce, saying why', () => {
    const reference = (t: string) => library.encodePiece(t) as number[];
    const variant = (patch: (j: Json) => void) => {
      const j = structuredClone(json);
      patch(j);
      return byteLevelBpeEncoder(j, reference);
    };
    expect(variant((j) => (j.normalizer = { type: 'NFKC' })).reason).toMatch(/NFKC/);
    expect(variant((j) => (j.pre_tokenizer = { type: 'Whitespace' })).reason).toMatch(/pre-tokenizer/);
    expect(variant((j) => ((j.model as Json).type = 'WordPiece')).reason).toMatch(/not BPE/);
    expect(
      variant((j) => {
        const merges = (j.model as Json).merges as unknown[];
        [merges[10], merges[11]] = [merges[11], merges[10]];
      }).reason,
    ).toMatch(/order/);
    expect(
      variant((j) => {
        ((j.model as Json).vocab as Record<string, number>).ĠzzzzqqqqXYZ = 999_999;
      }).reason,
    ).toMatch(/merge's result/);
    // a pattern tiktoken accepts but that cuts differently from the library's: the self-check catches it
    expect(
      variant((j) => {
        const seq = (j.pre_tokenizer as Json).pretokenizers as Json[];
        seq[0] = { ...seq[0], pattern: { Regex: '\\s+|\\S+' } };
      }).reason,
    ).toMatch(/self-check/);
    expect(byteLevelBpeEncoder(json, reference).encode).toBeTypeOf('function');
  });
});
