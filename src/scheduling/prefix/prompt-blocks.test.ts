import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { retainedBytes } from '../../../test/helpers/heap.js';
import { QWEN3_TOKENIZER_DIR } from '../../../test/helpers/tokenizers.js';
import { hashTokenBlocks, rootHash } from '../../scraping/kv-events/token-hash.js';
import { synthText } from '../../sim/tokenizer.js';
import { type ChatMessage, HfTokenizer, StandInTokenizer } from '../../tokenizer/index.js';
import { SeededRng } from '../../util/rng.js';
import { promptBlockHashes, requestPrompt } from '../plugins/scorers/precise-prefix-cache-scorer.js';
import { PromptBlockCache } from './prompt-blocks.js';

const BS = 16;

/** The engine's way, with nothing cached: the model's template rendered, the whole text encoded. */
class Reference {
  private readonly tok: Tokenizer;
  private readonly template: Template;
  private readonly bos: string;
  private readonly eos: string;
  constructor(dir: string) {
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    this.tok = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), config);
    this.template = new Template(config.chat_template);
    this.bos = config.bos_token ?? '';
    this.eos = typeof config.eos_token === 'string' ? config.eos_token : (config.eos_token?.content ?? '');
  }
  chatIds(messages: readonly ChatMessage[]): number[] {
    const text = this.template.render({
      messages,
      bos_token: this.bos,
      eos_token: this.eos,
      add_generation_prompt: true,
    });
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }
  ids(text: string, addSpecialTokens: boolean): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }
}

function referenceHashes(ids: readonly number[], root: number, cap: number): number[] {
  const out = new Float64Array(cap);
  const n = hashTokenBlocks(ids, ids.length, BS, root, out);
  return Array.from(out.subarray(0, n));
}

describe('PromptBlockCache: block hashes per prompt piece (Qwen3 tokenizer and chat template)', () => {
  let tok: HfTokenizer;
  let ref: Reference;

  beforeAll(() => {
    // a fresh instance: its segment cache starts empty, independent of other tests
    tok = new HfTokenizer(QWEN3_TOKENIZER_DIR);
    ref = new Reference(QWEN3_TOKENIZER_DIR);
  });

  const cached = (cache: PromptBlockCache, json: Record<string, unknown>, root: number, cap = 4096) => {
    const out = new Float64Array(cap);
    const n = promptBlockHashes(requestPrompt(json, tok)!, tok, cache, root, out);
    return Array.from(out.subarray(0, n));
  };

  it('growing conversations: every round’s hashes equal those of the engine’s ids, cached or not', () => {
    const rng = new SeededRng(14);
    const text = (n: number) => synthText(() => rng.next(), n);
    const cache = new PromptBlockCache(BS);
    const root = rootHash(null);
    const system = `You are terse.${text(300)}`;
    const users = Array.from({ length: 4 }, () => [{ role: 'system', content: system }] as ChatMessage[]);
    let checked = 0;
    for (let round = 0; round < 5; round++) {
      for (const msgs of users) {
        // contents with whitespace runs, unicode, and text that looks like markup
        msgs.push({ role: 'user', content: `${text(40 + round * 7)}\n\n  ünï 中文 🙂 <b>x</b>\t${round}` });
        const json = { messages: msgs };
        const expected = referenceHashes(ref.chatIds(msgs), root, 4096);
        expect(expected.length).toBeGreaterThan(10);
        expect(cached(cache, json, root)).toEqual(expected);
        expect(cached(cache, json, root)).toEqual(expected); // the same prompt again, all from the trie
        checked++;
        msgs.push({ role: 'assistant', content: text(30 + round) });
      }
    }
    expect(checked).toBe(20);
  });

  it('another root (a LoRA adapter) chains differently and still matches the engine’s ids', () => {
    const cache = new PromptBlockCache(BS);
    const msgs = [
      { role: 'system', content: synthText(() => 0.3, 200) },
      { role: 'user', content: 'and the question' },
    ];
    const base = cached(cache, { messages: msgs }, rootHash(null));
    const lora = cached(cache, { messages: msgs }, rootHash('travel-helper'));
    expect(lora).toEqual(referenceHashes(ref.chatIds(msgs), rootHash('travel-helper'), 4096));
    expect(lora[0]).not.toBe(base[0]);
  });

  it('completions prompts: text is encoded as the engine encodes it, token-id prompts are hashed as given', () => {
    const cache = new PromptBlockCache(BS);
    const root = rootHash(null);
    const prompt = `${synthText(() => 0.7, 100)}<|im_end|> then more text<|endoftext|>${synthText(() => 0.1, 50)}`;
    expect(cached(cache, { prompt }, root)).toEqual(referenceHashes(ref.ids(prompt, true), root, 4096));
    const ids = ref.ids(prompt, true);
    expect(cached(cache, { prompt: ids }, root)).toEqual(referenceHashes(ids, root, 4096));
  });

  it('writes at most out.length hashes, and the first ones are the engine’s', () => {
    const cache = new PromptBlockCache(BS);
    const root = rootHash(null);
    const msgs = [{ role: 'user', content: synthText(() => 0.5, 2000) }];
    const all = referenceHashes(ref.chatIds(msgs), root, 4096);
    expect(all.length).toBeGreaterThan(100);
    expect(cached(cache, { messages: msgs }, root, 7)).toEqual(all.slice(0, 7));
    expect(cached(cache, { messages: msgs }, root)).toEqual(all);
  });

  it('is bounded: past maxNodes the trie starts again, and results stay exact', () => {
    const cache = new PromptBlockCache(BS, { maxNodes: 20 });
    const root = rootHash(null);
    const rng = new SeededRng(3);
    let max = 0;
    for (let i = 0; i < 12; i++) {
      const msgs = [
        { role: 'system', content: 'shared' },
        { role: 'user', content: synthText(() => rng.next(), 60) },
      ];
      expect(cached(cache, { messages: msgs }, root)).toEqual(referenceHashes(ref.chatIds(msgs), root, 4096));
      max = Math.max(max, cache.size);
    }
    expect(max).toBeLessThanOrEqual(20 + 8); // one prompt's pieces past the bound at most
    expect(cache.size).toBeLessThan(max);
  });

  it('is bounded in stored hashes too: one long unique prompt after another does not accumulate', () => {
    const cache = new PromptBlockCache(BS, { maxBlocks: 100 });
    const root = rootHash(null);
    let max = 0;
    for (let i = 0; i < 6; i++) {
      const msgs = [{ role: 'user', content: `${i}${synthText(() => (i * 0.13 + 0.05) % 1, 600)}` }];
      expect(cached(cache, { messages: msgs }, root)).toEqual(referenceHashes(ref.chatIds(msgs), root, 4096));
      max = Math.max(max, cache.size);
    }
    // each prompt stores ~38 hashes: the trie was dropped at least once along the way
    expect(max).toBeLessThan(6 * 5);
  });

  it('pieces that agree in length and in the sampled characters are still told apart', () => {
    const cache = new PromptBlockCache(BS);
    const root = rootHash(null);
    // 320 characters: the key samples every 20th; these differ only between the samples
    const base = 'abcdefghijklmnopqrst'.repeat(16);
    const variants = [
      base,
      `${base.slice(0, 7)}X${base.slice(8)}`,
      `${base.slice(0, 301)}Y${base.slice(302)}`,
    ];
    for (let round = 0; round < 2; round++) {
      for (const v of variants) {
        const msgs = [{ role: 'user', content: v }];
        expect(cached(cache, { messages: msgs }, root)).toEqual(
          referenceHashes(ref.chatIds(msgs), root, 4096),
        );
      }
    }
  });

  it('a tokenizer without exact pieces (the stand-in) is encoded whole', () => {
    const stand = new StandInTokenizer();
    const cache = new PromptBlockCache(BS);
    const msgs = [{ role: 'user', content: synthText(() => 0.2, 100) }];
    const out = new Float64Array(64);
    const n = promptBlockHashes(requestPrompt({ messages: msgs }, stand)!, stand, cache, 7, out);
    const ids = stand.encode(stand.renderChat(msgs), false);
    expect(Array.from(out.subarray(0, n))).toEqual(referenceHashes(ids, 7, 64));
    expect(cache.size).toBe(0);
  });

  it('keeps its pieces, not the prompts they were cut from', () => {
    // each prompt is a fresh 1 MiB text; the trie keeps two new 100-character pieces of it
    const cache = new PromptBlockCache(BS);
    const out = new Float64Array(64);
    const charCodes = (p: string) => Array.from(p, (c) => c.charCodeAt(0));
    const retained = retainedBytes(40, (text) =>
      cache.hash([text.slice(0, 100), text.slice(100, 200)], charCodes, rootHash(null), out),
    );
    expect(cache.size).toBe(80);
    expect(retained).toBeLessThan(4 * 2 ** 20); // the 40 texts are 40 MiB
  });
});
