import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countTokens, synthText } from '../../sim/tokenizer.js';
import { SeededRng } from '../../util/rng.js';
import { BenchError } from '../errors.js';
import { drawShareGptLengths, SHAREGPT_LENGTHS, ShareGptWorkload } from './sharegpt.js';

const dir = mkdtempSync(join(tmpdir(), 'infergate-sharegpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function words(n: number, seed: number): string {
  const rng = new SeededRng(seed);
  return synthText(() => rng.next(), n).trim();
}

describe('built-in ShareGPT length distribution', () => {
  it('passes vLLM filter and keeps means near the published ones', () => {
    const rng = new SeededRng(9);
    const n = 20_000;
    let inSum = 0;
    let outSum = 0;
    let outside = 0;
    const L = SHAREGPT_LENGTHS;
    for (let i = 0; i < n; i++) {
      const [input, output] = drawShareGptLengths(() => rng.next());
      if (input < L.minLen || input > L.maxPromptLen || output < L.minLen || input + output > L.maxTotalLen)
        outside++;
      inSum += input;
      outSum += output;
    }
    expect(outside).toBe(0);
    // The filter trims the tails, so the means land a little below 161 / 338.
    expect(inSum / n).toBeGreaterThan(130);
    expect(inSum / n).toBeLessThan(170);
    expect(outSum / n).toBeGreaterThan(270);
    expect(outSum / n).toBeLessThan(345);
  });

  it('builds prompts of the drawn length and is seeded', () => {
    const w = new ShareGptWorkload({ seed: 1 });
    const d = w.draft(3);
    expect(countTokens(d.messages[0]!.content)).toBe(d.promptTokens);
    expect(new ShareGptWorkload({ seed: 1 }).draft(3)).toEqual(d);
    expect(new ShareGptWorkload({ seed: 1, outputLen: 77 }).draft(3).maxTokens).toBe(77);
  });
});

describe('ShareGPT file', () => {
  const file = join(dir, 'sharegpt.json');
  writeFileSync(
    file,
    JSON.stringify([
      {
        id: 'ok1',
        conversations: [
          { from: 'human', value: words(20, 1) },
          { from: 'gpt', value: words(30, 2) },
        ],
      },
      {
        id: 'ok2',
        conversations: [
          { from: 'human', value: words(50, 3) },
          { from: 'gpt', value: words(10, 4) },
        ],
      },
      {
        id: 'short-prompt',
        conversations: [
          { from: 'human', value: 'hi' },
          { from: 'gpt', value: words(30, 5) },
        ],
      },
      {
        id: 'short-answer',
        conversations: [
          { from: 'human', value: words(20, 6) },
          { from: 'gpt', value: 'ok' },
        ],
      },
      {
        id: 'long-prompt',
        conversations: [
          { from: 'human', value: words(1100, 7) },
          { from: 'gpt', value: words(10, 8) },
        ],
      },
      { id: 'one-turn', conversations: [{ from: 'human', value: words(20, 9) }] },
      { id: 'no-conversations' },
    ]),
  );

  it('keeps only usable pairs (vLLM filter) and cycles through them in a seeded order', () => {
    const w = new ShareGptWorkload({ file, seed: 0 });
    expect(w.size).toBe(2);
    const drafts = [0, 1, 2, 3].map((i) => w.draft(i));
    expect(drafts[2]).toEqual(drafts[0]);
    expect(new Set(drafts.map((d) => d.promptTokens))).toEqual(new Set([20, 50]));
    const byPrompt = new Map(drafts.map((d) => [d.promptTokens, d.maxTokens]));
    expect(byPrompt.get(20)).toBe(30);
    expect(byPrompt.get(50)).toBe(10);
  });

  it.each([
    { name: 'missing file', content: undefined },
    { name: 'not JSON', content: '{nope' },
    { name: 'not an array', content: '{"conversations":[]}' },
    { name: 'nothing usable', content: '[{"conversations":[{"from":"human","value":"hi"}]}]' },
  ])('rejects a $name with BAD_DATASET naming the file', ({ name, content }) => {
    const f = join(dir, `${name.replace(/ /g, '-')}.json`);
    if (content !== undefined) writeFileSync(f, content);
    let err: unknown;
    try {
      new ShareGptWorkload({ file: f, seed: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('BAD_DATASET');
    expect((err as BenchError).message).toContain(f);
  });
});
