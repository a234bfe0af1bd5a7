import { describe, expect, it } from 'vitest';
import { applyChatTemplate } from '../sim/server/generate-request.js';
import { tokenize } from '../sim/tokenizer.js';
import { IdealPrefixReplay, idealPrefixCache, promptTokensOf, type SentRequest } from './ideal-prefix.js';

/** Tokens a, a+1, …, b−1. */
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('IdealPrefixReplay (block size 4)', () => {
  // Each step: the prompt and output replayed, and the hit (tokens) the replay must count.
  const steps: { why: string; prompt: number[]; output?: number[]; hit: number }[] = [
    { why: 'the first request finds nothing', prompt: range(1, 11), output: range(11, 17), hit: 0 },
    { why: 'the same prompt: full blocks only, at most prompt − 1 tokens', prompt: range(1, 11), hit: 8 },
    { why: 'a prompt of exactly 2 blocks: its last block is never a hit', prompt: range(1, 9), hit: 4 },
    {
      why: 'the earlier prompt + its output (next round of a chat): output blocks are cached too',
      prompt: [...range(1, 17), 90, 91],
      hit: 16,
    },
    { why: 'diverging inside the third block: two blocks', prompt: [...range(1, 11), 99, 98, 97], hit: 8 },
    { why: 'diverging in the first block: nothing', prompt: [1, 2, 50, 4, 5, 6, 7, 8, 9], hit: 0 },
    { why: 'a prompt shorter than a block: nothing', prompt: [1, 2, 3], hit: 0 },
    {
      why: 'the partial last block of an earlier request is not cached',
      // Request 1 held 1..16 (4 full blocks); 17, 18 never filled a block, so 5 blocks cannot match.
      prompt: [...range(1, 19), 200, 201, 202],
      hit: 16,
    },
  ];

  it('counts hits as vLLM does, in order', () => {
    const replay = new IdealPrefixReplay(4);
    for (const s of steps) expect(replay.add(s.prompt, s.output), s.why).toBe(s.hit);
    const r = replay.result();
    const prompts = steps.reduce((n, s) => n + s.prompt.length, 0);
    const hits = steps.reduce((n, s) => n + s.hit, 0);
    expect(r).toEqual({
      blockSize: 4,
      requests: steps.length,
      queryTokens: prompts,
      hitTokens: hits,
      hitRate: hits / prompts,
    });
  });

  it('has no rate for an empty stream and rejects a bad block size', () => {
    expect(new IdealPrefixReplay(16).result().hitRate).toBeNull();
    expect(() => new IdealPrefixReplay(0)).toThrow(RangeError);
  });
});

describe('idealPrefixCache (request bodies, the simulator tokenizer and chat template)', () => {
  const system = ' the of and to in is was he for it with as his on be at by had are but from or';
  const chat = (sentAt: number, index: number, question: string, output = ''): SentRequest => ({
    sentAt,
    index,
    body: JSON.stringify({
      model: 'm',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: question },
      ],
    }),
    output,
  });

  it('tokenizes chat bodies with the chat template the simulator applies', () => {
    const body = chat(0, 0, ' what is it').body;
    expect(Array.from(promptTokensOf('/v1/chat/completions', body))).toEqual(
      tokenize(
        applyChatTemplate([
          { role: 'system', content: system },
          { role: 'user', content: ' what is it' },
        ]),
      ),
    );
    expect(Array.from(promptTokensOf('/v1/completions', JSON.stringify({ prompt: ' a b c' })))).toEqual(
      tokenize(' a b c'),
    );
  });

  it('replays in send order, whatever order the requests were collected in', () => {
    const first = chat(10, 0, ' first question here');
    const second = chat(20, 1, ' another one entirely');
    const shared = (() => {
      const a = promptTokensOf('/v1/chat/completions', first.body);
      const b = promptTokensOf('/v1/chat/completions', second.body);
      let n = 0;
      while (n < a.length && a[n] === b[n]) n++;
      return n;
    })();
    const expectedHit = Math.floor(shared / 16) * 16;
    expect(expectedHit).toBeGreaterThan(0);
    const r = idealPrefixCache('/v1/chat/completions', [second, first], 16);
    expect(r.requests).toBe(2);
    expect(r.hitTokens).toBe(expectedHit);
    // Per request, by the index it was sent with: the first sent reuses nothing.
    expect(r.hitsByIndex?.get(0)).toBe(0);
    expect(r.hitsByIndex?.get(1)).toBe(expectedHit);
  });

  it('the same chat prompt again hits every full block but the one holding its last token', () => {
    const once = chat(0, 0, ' play a game with me', ' the of and to in is was he for it with as his on be');
    const r = idealPrefixCache('/v1/chat/completions', [once, { ...once, sentAt: 1, index: 1 }], 16);
    const n = promptTokensOf('/v1/chat/completions', once.body).length;
    expect(r.hitTokens).toBe(Math.floor((n - 1) / 16) * 16);
    expect(r.queryTokens).toBe(2 * n);
  });
});
