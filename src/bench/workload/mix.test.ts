import { describe, expect, it } from 'vitest';
import { BenchError } from '../errors.js';
import { parseSplit, SplitPicker } from './mix.js';

describe('parseSplit', () => {
  it('reads name:weight lists, "base" as the base model, bare names as weight 1', () => {
    expect(parseSplit('a:0.5, b:0.3,base:0.2', '--lora', 'llama')).toEqual([
      { name: 'a', weight: 0.5 },
      { name: 'b', weight: 0.3 },
      { name: 'llama', weight: 0.2 },
    ]);
    expect(parseSplit('x,y', '--objective-mix')).toEqual([
      { name: 'x', weight: 1 },
      { name: 'y', weight: 1 },
    ]);
    // Model names may contain colons; the weight is after the last one.
    expect(parseSplit('org/model:v2:3', '--model-mix')).toEqual([{ name: 'org/model:v2', weight: 3 }]);
  });

  it.each([
    { text: '', why: 'needs at least one' },
    { text: 'a:x', why: 'weight of "a"' },
    { text: 'a:-1', why: 'weight of "a"' },
    { text: ':0.5', why: 'without a name' },
    { text: 'a:0,b:0', why: 'positive weight' },
  ])('rejects "$text" naming the flag', ({ text, why }) => {
    let err: unknown;
    try {
      parseSplit(text, '--lora');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).option).toBe('--lora');
    expect((err as BenchError).message).toContain(why);
  });
});

describe('SplitPicker', () => {
  it('follows the split within statistical bounds and is seeded', () => {
    const entries = parseSplit('a:0.5,b:0.3,c:0.2', '--lora');
    const p = new SplitPicker(entries, 11, 'model-mix');
    const n = 20_000;
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < n; i++) counts[p.pick(i)]!++;
    // Binomial sd ≤ 0.0036 at n = 20,000: ±0.02 is more than 5 sd.
    expect(counts.a! / n).toBeGreaterThan(0.48);
    expect(counts.a! / n).toBeLessThan(0.52);
    expect(counts.b! / n).toBeGreaterThan(0.28);
    expect(counts.b! / n).toBeLessThan(0.32);
    expect(counts.c! / n).toBeGreaterThan(0.18);
    expect(counts.c! / n).toBeLessThan(0.22);
    const q = new SplitPicker(entries, 11, 'model-mix');
    for (let i = 0; i < 100; i++) expect(q.pick(i)).toBe(p.pick(i));
    const other = new SplitPicker(entries, 12, 'model-mix');
    expect(Array.from({ length: 50 }, (_, i) => other.pick(i))).not.toEqual(
      Array.from({ length: 50 }, (_, i) => p.pick(i)),
    );
  });
});
