import { describe, expect, it } from 'vitest';
import { countTokens } from '../../sim/tokenizer.js';
import { type SharedPrefixOptions, SharedPrefixWorkload, zipfCdf } from './shared-prefix.js';

const OPTS: SharedPrefixOptions = {
  numGroups: 4,
  promptsPerGroup: 5,
  systemPromptLen: 40,
  questionLen: 12,
  outputLen: 9,
  seed: 3,
};

describe('SharedPrefixWorkload', () => {
  const w = new SharedPrefixWorkload(OPTS);
  const perRound = OPTS.numGroups * OPTS.promptsPerGroup;

  it('sends every (group, member) prompt exactly once per round', () => {
    for (let round = 0; round < 3; round++) {
      const seen = new Set<string>();
      for (let k = 0; k < perRound; k++) {
        const { group, member } = w.slot(round * perRound + k);
        seen.add(`${group}/${member}`);
      }
      expect(seen.size).toBe(perRound);
    }
  });

  it('gives each group one system prompt of system_prompt_len tokens, shared by its members only', () => {
    const byGroup = new Map<string, Set<string>>();
    for (let i = 0; i < perRound; i++) {
      const d = w.draft(i);
      expect(d.messages[0]!.role).toBe('system');
      expect(countTokens(d.messages[0]!.content)).toBe(OPTS.systemPromptLen);
      expect(countTokens(d.messages[1]!.content)).toBe(OPTS.questionLen);
      expect(d.promptTokens).toBe(OPTS.systemPromptLen + OPTS.questionLen);
      expect(d.maxTokens).toBe(OPTS.outputLen);
      const set = byGroup.get(d.group!) ?? new Set<string>();
      set.add(d.messages[0]!.content);
      byGroup.set(d.group!, set);
    }
    expect(byGroup.size).toBe(OPTS.numGroups);
    const prompts = [...byGroup.values()].map((s) => {
      expect(s.size).toBe(1);
      return [...s][0];
    });
    expect(new Set(prompts).size).toBe(OPTS.numGroups);
  });

  it('repeats the same prompts in a new order in the next round, and is seeded', () => {
    const round0 = Array.from({ length: perRound }, (_, k) => w.draft(k).messages[1]!.content).sort();
    const round1 = Array.from(
      { length: perRound },
      (_, k) => w.draft(perRound + k).messages[1]!.content,
    ).sort();
    expect(round1).toEqual(round0);
    const order0 = Array.from({ length: perRound }, (_, k) => JSON.stringify(w.slot(k)));
    const order1 = Array.from({ length: perRound }, (_, k) => JSON.stringify(w.slot(perRound + k)));
    expect(order1).not.toEqual(order0);
    const again = new SharedPrefixWorkload(OPTS);
    for (let i = 0; i < 2 * perRound; i++) expect(again.draft(i)).toEqual(w.draft(i));
  });
});

describe('SharedPrefixWorkload with groupZipf', () => {
  it('draws groups by Zipf popularity: with 20 groups and s = 1.35 the first gets about 40 %', () => {
    const cdf = zipfCdf(20, 1.35);
    expect(cdf[0]).toBeCloseTo(0.405, 2);
    expect(cdf[19]).toBe(1);
    const w = new SharedPrefixWorkload({ ...OPTS, numGroups: 20, groupZipf: 1.35 });
    const counts = new Array<number>(20).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) counts[w.slot(i).group]!++;
    expect(counts[0]! / n).toBeGreaterThan(0.37);
    expect(counts[0]! / n).toBeLessThan(0.44);
    // Popularity falls with rank, and the same index always sends the same prompt.
    expect(counts[0]!).toBeGreaterThan(counts[1]!);
    expect(counts[1]!).toBeGreaterThan(counts[10]!);
    expect(w.slot(123)).toEqual(w.slot(123));
    expect(w.describe()).toMatchObject({ group_zipf: 1.35 });
  });
});
