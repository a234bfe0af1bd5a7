import { describe, expect, it } from 'vitest';
import { countTokens } from '../../sim/tokenizer.js';
import { type MultiRoundOptions, MultiRoundWorkload, multiRoundPlan } from './multi-round.js';

const OPTS: MultiRoundOptions & { questionLen: number } = {
  numUsers: 8,
  numRounds: 15,
  qps: 0.1,
  systemPromptLen: 100,
  userHistoryLen: 200,
  answerLen: 100,
  questionLen: 12,
  seed: 5,
};

describe('multiRoundPlan (LMCache UserSessionManager arithmetic)', () => {
  it('spaces questions numUsers/qps apart and users (rounds−1)×gap/numUsers apart', () => {
    const p = multiRoundPlan(OPTS);
    expect(p.gapPerUserMs).toBe(80_000);
    expect(p.gapBetweenUsersMs).toBe(140_000);
    expect(p.firstJoinerId).toBe(9);
  });

  it('places the ramp-up users mid-conversation with staggered clocks (hand-computed)', () => {
    // user i+1: offset = (8 − i) × 140 s; passed = ⌊offset / 80 s⌋ + 1; first = passed × 80 s − offset.
    // User 1 (offset 1120 s) has passed all 15 rounds and sends nothing.
    expect(multiRoundPlan(OPTS).initial).toEqual([
      { user: 4, firstAtMs: 20_000, startQuestion: 9 },
      { user: 8, firstAtMs: 20_000, startQuestion: 2 },
      { user: 3, firstAtMs: 40_000, startQuestion: 11 },
      { user: 7, firstAtMs: 40_000, startQuestion: 4 },
      { user: 2, firstAtMs: 60_000, startQuestion: 13 },
      { user: 6, firstAtMs: 60_000, startQuestion: 6 },
      { user: 5, firstAtMs: 80_000, startQuestion: 8 },
    ]);
  });

  it('with one round, users join at the global rate', () => {
    const p = multiRoundPlan({ ...OPTS, numRounds: 1, qps: 4 });
    expect(p.gapBetweenUsersMs).toBe(250);
    expect(p.initial).toEqual([]);
  });
});

describe('Conversation', () => {
  const w = new MultiRoundWorkload(OPTS);

  it('starts with the shared system prompt, then the user history, then a question', () => {
    const a = w.conversation(1).next();
    const b = w.conversation(2).next();
    expect(a.messages).toHaveLength(1);
    expect(a.promptTokens).toBe(OPTS.systemPromptLen + OPTS.userHistoryLen + OPTS.questionLen);
    expect(countTokens(a.messages[0]!.content)).toBe(a.promptTokens);
    expect(a.messages[0]!.content.startsWith(w.systemPrompt)).toBe(true);
    expect(b.messages[0]!.content.startsWith(w.systemPrompt)).toBe(true);
    expect(countTokens(w.systemPrompt)).toBe(OPTS.systemPromptLen);
    // Past the shared prompt, users differ.
    expect(a.messages[0]!.content.slice(w.systemPrompt.length)).not.toBe(
      b.messages[0]!.content.slice(w.systemPrompt.length),
    );
    expect(a.maxTokens).toBe(OPTS.answerLen);
  });

  it('grows by the actual answer and a new question each round, keeping the earlier turns as a prefix', () => {
    const c = w.conversation(3, 12);
    expect(c.remaining).toBe(3);
    const r1 = c.next();
    c.answer(' the answer of round one');
    const r2 = c.next();
    c.answer('');
    const r3 = c.next();
    expect(c.remaining).toBe(0);
    expect(r2.messages.slice(0, 1)).toEqual(r1.messages);
    expect(r2.messages[1]).toEqual({ role: 'assistant', content: ' the answer of round one' });
    expect(r2.messages).toHaveLength(3);
    expect(r3.messages).toHaveLength(5);
    expect(r3.messages.slice(0, 3)).toEqual(r2.messages);
    expect(r2.promptTokens).toBe(
      r1.promptTokens + countTokens(' the answer of round one') + OPTS.questionLen,
    );
    expect(r3.promptTokens).toBe(r2.promptTokens + OPTS.questionLen);
    // Drafts are snapshots: later rounds do not change what was sent.
    expect(r1.messages).toHaveLength(1);
  });

  it('is repeatable: the same user asks the same questions', () => {
    const x = new MultiRoundWorkload(OPTS).conversation(4);
    const y = new MultiRoundWorkload(OPTS).conversation(4);
    expect(x.next()).toEqual(y.next());
  });

  it('draws ShareGPT-like questions and caps answers at answerLen', () => {
    const s = new MultiRoundWorkload({ ...OPTS, questionLen: 'sharegpt', answerLen: 50 });
    const lens = new Set<number>();
    for (let u = 1; u <= 30; u++) {
      const conv = s.conversation(u, 0);
      const d = conv.next();
      expect(d.maxTokens).toBeLessThanOrEqual(50);
      lens.add(d.promptTokens - OPTS.systemPromptLen - OPTS.userHistoryLen);
    }
    expect(lens.size).toBeGreaterThan(10);
  });
});
