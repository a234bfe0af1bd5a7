import { describe, expect, it } from 'vitest';
import { countTokens } from '../../sim/tokenizer.js';
import { lengthRange, type RandomOptions, RandomWorkload } from './random.js';

const BASE: RandomOptions = {
  inputLen: 200,
  outputLen: 50,
  rangeRatio: 0.2,
  rangeMode: 'centered',
  prefixLen: 30,
  seed: 1,
};

describe('lengthRange', () => {
  it.each([
    { len: 4000, r: 0.2, mode: 'centered' as const, want: [3200, 4800] },
    { len: 4000, r: 0.2, mode: 'legacy' as const, want: [800, 4000] },
    { len: 3000, r: 0.2, mode: 'legacy' as const, want: [600, 3000] },
    { len: 1024, r: 0, mode: 'centered' as const, want: [1024, 1024] },
    { len: 10, r: 0.55, mode: 'centered' as const, want: [4, 15] },
  ])('$mode range of $len with ratio $r is $want', ({ len, r, mode, want }) => {
    expect(lengthRange(len, r, mode)).toEqual(want);
  });
});

describe('RandomWorkload', () => {
  it.each(['centered', 'legacy'] as const)(
    '%s: lengths stay within their ranges and token counts are exact',
    (mode) => {
      const w = new RandomWorkload({ ...BASE, rangeMode: mode });
      const [inLo, inHi] = lengthRange(BASE.inputLen, BASE.rangeRatio, mode);
      const [outLo, outHi] = lengthRange(BASE.outputLen, BASE.rangeRatio, mode);
      const inputs = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const d = w.draft(i);
        const input = d.promptTokens - BASE.prefixLen;
        expect(input).toBeGreaterThanOrEqual(inLo);
        expect(input).toBeLessThanOrEqual(inHi);
        expect(d.maxTokens).toBeGreaterThanOrEqual(outLo);
        expect(d.maxTokens).toBeLessThanOrEqual(outHi);
        expect(countTokens(d.messages[0]!.content)).toBe(d.promptTokens);
        inputs.add(input);
      }
      // The range is actually used, not a single value.
      expect(inputs.size).toBeGreaterThan(20);
    },
  );

  it('puts the same prefix, of the right token length, in front of every request', () => {
    const w = new RandomWorkload(BASE);
    const first = w.draft(0).messages[0]!.content;
    // Every synthetic token is one word with its leading space: the prefix is the first 30 words.
    const prefix = first
      .split(' ')
      .slice(0, BASE.prefixLen + 1)
      .join(' ');
    expect(countTokens(prefix)).toBe(BASE.prefixLen);
    for (let i = 1; i < 50; i++) expect(w.draft(i).messages[0]!.content.startsWith(prefix)).toBe(true);
    // … and only the prefix: the random parts differ.
    expect(w.draft(1).messages[0]!.content.slice(prefix.length)).not.toBe(
      w.draft(2).messages[0]!.content.slice(prefix.length),
    );
  });

  it('is repeatable for a seed, independent of build order, and different for another seed', () => {
    const a = new RandomWorkload(BASE);
    const b = new RandomWorkload(BASE);
    const later = b.draft(7); // built before 0..6 this time
    expect(a.draft(7)).toEqual(later);
    for (let i = 0; i < 10; i++) expect(a.draft(i)).toEqual(b.draft(i));
    const c = new RandomWorkload({ ...BASE, seed: 2 });
    expect(c.draft(0).messages[0]!.content).not.toBe(a.draft(0).messages[0]!.content);
  });

  it('asks for at least one output token', () => {
    const w = new RandomWorkload({ ...BASE, outputLen: 1, rangeRatio: 0.9 });
    for (let i = 0; i < 50; i++) expect(w.draft(i).maxTokens).toBeGreaterThanOrEqual(1);
  });
});
