/**
 * infergate's tokenization of requests — the chat template rendered by @huggingface/jinja, encoded by
 * @huggingface/tokenizers with the per-segment cache, and the precise scorer's per-piece block-hash
 * cache — gives the engine's token ids. The engine's ids come from test/tokenizer/python/chat_ids.py:
 * jinja2 with transformers' settings and Hugging Face's Rust `tokenizers`, as vLLM computes them
 * (the venv of scripts/deps/50-python-kv.sh). Growing multi-round conversations are tokenized
 * round after round, so later rounds come from the caches.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  promptBlockHashes,
  requestPrompt,
} from '../../src/scheduling/plugins/scorers/precise-prefix-cache-scorer.js';
import { PromptBlockCache } from '../../src/scheduling/prefix/prompt-blocks.js';
import { hashTokenBlocks, rootHash } from '../../src/scraping/kv-events/token-hash.js';
import { synthText } from '../../src/sim/tokenizer.js';
import { type ChatMessage, chatTemplateRequest, HfTokenizer } from '../../src/tokenizer/index.js';
import { SeededRng } from '../../src/util/rng.js';
import { hasTool, toolPath } from '../helpers/deps.js';
import { QWEN3_TOKENIZER_DIR, STABLE_POOLS, variedTexts } from '../helpers/tokenizers.js';

const SCRIPT = fileURLToPath(new URL('./python/chat_ids.py', import.meta.url));
const BS = 16;

type Item = { messages: ChatMessage[] } | { prompt: string };

function engineIds(items: readonly Item[]): number[][] {
  const r = spawnSync(toolPath('python-kv')!, [SCRIPT, QWEN3_TOKENIZER_DIR], {
    input: JSON.stringify(items),
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`chat_ids.py exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[][];
}

/** Multi-round conversations (shared system prompt, growing private histories) and completions prompts. */
function workload(): Item[] {
  const rng = new SeededRng(140);
  const text = (n: number) => synthText(() => rng.next(), n);
  const system = `You are a careful assistant.\n\n${text(400)}`;
  const items: Item[] = [];
  const users: ChatMessage[][] = Array.from({ length: 3 }, (_, u) => [
    { role: 'system', content: system },
    { role: 'user', content: `history of user ${u}:${text(600)}` },
  ]);
  for (let round = 0; round < 4; round++) {
    for (const msgs of users) {
      items.push({ messages: msgs.map((m) => ({ ...m })) });
      msgs.push({ role: 'assistant', content: `${text(50)}\n\n- a list item\n- another  one` });
      msgs.push({
        role: 'user',
        content: `  leading spaces, ünïcödé 中文 🙂, tabs\tand\n\nnewlines ${round}${text(30)}  `,
      });
    }
  }
  items.push({ prompt: `${text(300)}<|im_end|>\n<|im_start|>user\nraw special tokens${text(20)}` });
  items.push({ prompt: text(500) });
  return items;
}

describe.skipIf(!hasTool('python-kv'))(
  'request tokenization equals the engine’s (Python tokenizers + jinja2, as vLLM)',
  () => {
    it('token ids and the scorer’s block hashes match for every round of every conversation', () => {
      const items = workload();
      const expected = engineIds(items);
      expect(expected).toHaveLength(items.length);
      const tok = new HfTokenizer(QWEN3_TOKENIZER_DIR);
      const cache = new PromptBlockCache(BS);
      const root = rootHash(null);
      const out = new Float64Array(4096);
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        const ids =
          'messages' in item
            ? tok.encode(tok.renderChat(item.messages), false)
            : tok.encode(item.prompt, true);
        expect(ids, `item ${i}`).toEqual(expected[i]);
        const n = promptBlockHashes(requestPrompt(item, tok)!, tok, cache, root, out);
        const ref = new Float64Array(4096);
        const m = hashTokenBlocks(expected[i]!, expected[i]!.length, BS, root, ref);
        expect(n, `item ${i} blocks`).toBe(m);
        expect(Array.from(out.subarray(0, n)), `item ${i} hashes`).toEqual(Array.from(ref.subarray(0, m)));
      }
      // later rounds walked the earlier rounds' pieces: the trie holds them once
      expect(cache.size).toBeGreaterThan(0);
    });

    it('agent requests (tools, tool calls and results, reasoning, enable_thinking, text parts) render and encode as the engine’s', () => {
      const rng = new SeededRng(141);
      const text = (n: number) => synthText(() => rng.next(), n);
      const tools = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
        { type: 'function', function: { name: 'now', strict: true } },
      ];
      const bodies: Record<string, unknown>[] = [];
      for (let k = 0; k < 6; k++) {
        const messages: unknown[] = [
          { role: 'system', content: `You are an agent.\n${text(80)}` },
          {
            role: 'user',
            content: [
              { type: 'text', text: text(40) },
              { type: 'text', text: `city ${k}` },
            ],
          },
          {
            role: 'assistant',
            content: k % 2 ? null : text(10),
            reasoning: k % 3 ? undefined : `plan: ${text(15)}`,
            tool_calls: [
              {
                id: `c${k}`,
                type: 'function',
                function: { name: 'get_weather', arguments: `{"city": "P${k}", "days": 2.5}` },
              },
              {
                id: `d${k}`,
                type: 'function',
                function: { name: 'now', arguments: k === 4 ? 'not json' : '{}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: `c${k}`, content: `{"temp": ${k}}` },
          { role: 'tool', tool_call_id: `d${k}`, content: [{ type: 'text', text: '12:00' }] },
          { role: 'assistant', content: `<think>\n${text(12)}\n</think>\n\n${text(20)}` },
          { role: 'user', content: text(25), name: 'ann' },
        ];
        bodies.push({
          messages,
          tools: k === 5 ? undefined : tools,
          ...(k % 2 ? { chat_template_kwargs: { enable_thinking: false } } : {}),
          ...(k === 3 ? { add_generation_prompt: false } : {}),
        });
      }
      const inputs = bodies.map((b) => chatTemplateRequest(b)!);
      const expected = engineIds(inputs.map((c) => ({ messages: c.messages, vars: c.vars })));
      const tok = new HfTokenizer(QWEN3_TOKENIZER_DIR);
      for (let i = 0; i < bodies.length; i++) {
        const prompt = requestPrompt(bodies[i], tok)!;
        expect('text' in prompt && tok.encode(prompt.text, false), `request ${i}`).toEqual(expected[i]);
      }
      // the compiled template rendered them all (tool calls and tools included)
      expect(tok.chatTemplateStats).toMatchObject({ kind: 'compiled', fallbacks: 0 });
      expect(tok.chatTemplateStats!.compiled).toBeGreaterThanOrEqual(bodies.length);
    });

    it('the tiktoken-core encoder gives the engine’s ids on 3,000 varied texts', () => {
      const tok = new HfTokenizer(QWEN3_TOKENIZER_DIR, { cacheEntries: 0 });
      expect(tok.encoder.kind).toBe('tiktoken');
      // half from the blocks it splits in JavaScript (byte-level-bpe.ts), half mixed with other scripts
      // and contractions under Unicode case folding ('ſ is 's to the engine's Oniguruma)
      const folds = ["and'ſt", "x'ſ y", "WE'LL", "it'S'ſ'Re"];
      const texts = [...folds, ...variedTexts(1500, 21), ...variedTexts(1500, 22, STABLE_POOLS)];
      const expected = engineIds(texts.map((prompt) => ({ prompt })));
      const mismatched = texts.filter(
        (t, i) => JSON.stringify(tok.encode(t, true)) !== JSON.stringify(expected[i]),
      );
      expect(mismatched).toEqual([]);
      expect(tok.encoder.stats!.split).toBeGreaterThan(1400);
      expect(tok.encoder.stats!.whole).toBeGreaterThan(1000);
    });
  },
);
