import { describe, expect, it } from 'vitest';
import { context, host, request, state, text } from '../../../../test/scheduling/helpers.js';
import { createPrefillCostScorer } from './prefill-cost-scorer.js';
import { createPrefixCacheScorer } from './prefix-cache-scorer.js';

/** A prefix scorer and a cost scorer sharing one request, as the default profile runs them. */
function setup(params: Record<string, unknown> = {}) {
  const prefix = createPrefixCacheScorer('prefix', { hotspotGuard: false });
  prefix.attach(host());
  const cost = createPrefillCostScorer('cost', { prefillTokensPerSecond: 1000, slackTokens: 100, ...params });
  const run = (set: ReturnType<typeof state>[], prompt: string) => {
    const ctx = context(request({ model: 'm', prompt }));
    const tmp = new Float64Array(set.length);
    prefix.score(ctx, set, tmp);
    const out = new Float64Array(set.length);
    cost.score(ctx, set, out);
    return { ctx, out: [...out].map((v) => Math.round(v * 100) / 100) };
  };
  return { prefix, cost, run };
}

describe('prefill-cost-scorer', () => {
  it('prefers the endpoint holding the prompt while nothing is queued there', () => {
    const { prefix, cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 1);
    const first = run(set, history);
    expect(first.out).toEqual([1, 1]);
    prefix.onDispatch!(first.ctx, set[0]!);
    // The backlog the first request left drains before the next one (1000 tok/s assumed, 2 s pass).
    const later = performance.now() + 2000;
    const ctx = context(request({ model: 'm', prompt: history + text(64, 2) }));
    ctx.now = later;
    const tmp = new Float64Array(2);
    prefix.score(ctx, set, tmp);
    const out = new Float64Array(2);
    cost.score(ctx, set, out);
    expect(out[0]).toBe(1);
    expect(out[1]!).toBeLessThan(0.2);
  });

  it('releases affinity when the holder’s prefill backlog exceeds a cold prefill elsewhere', () => {
    const { prefix, cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 1); // ≈ 640 tokens
    const first = run(set, history);
    prefix.onDispatch!(first.ctx, set[0]!);
    // Three long cold prompts (≈ 2,000 tokens each) just went to endpoint 1: its backlog ≈ 6,000 tokens.
    for (let k = 0; k < 3; k++) {
      const r = run(set, text(64 * 125, 10 + k));
      cost.onDispatch!(r.ctx, set[0]!);
    }
    const again = run(set, history + text(64, 2));
    // Endpoint 2 must prefill the whole prompt (≈ 700 tokens), endpoint 1 has ≈ 6,000 ahead.
    expect(again.out[1]).toBe(1);
    expect(again.out[0]!).toBeLessThan(0.2);
  });

  it('learns the prefill rate from TTFTs and drains the backlog at it', () => {
    const { cost, run } = setup({ minSampleTokens: 100 });
    const set = [state(1, { m: {} })];
    const r = run(set, text(64 * 100, 3)); // ≈ 1,600 tokens, all uncached
    cost.onDispatch!(r.ctx, set[0]!);
    expect(set[0]!.prefillTokensPerMs).toBeUndefined();
    cost.onComplete!(r.ctx, set[0]!, { status: 200, ok: true, ttftMs: 160 });
    // 1,600 tokens (nothing ahead) in 160 ms → 10 tokens per ms.
    expect(set[0]!.prefillTokensPerMs).toBeCloseTo(r.ctx.estPromptTokens() / 160, 5);
    // A TTFT for a tiny prompt with nothing ahead says little about the rate: ignored.
    const idle = [state(2, { m: {} })];
    const small = run(idle, 'hi');
    cost.onDispatch!(small.ctx, idle[0]!);
    cost.onComplete!(small.ctx, idle[0]!, { status: 200, ok: true, ttftMs: 1 });
    expect(idle[0]!.prefillTokensPerMs).toBeUndefined();
  });

  it('without a prefix-cache-scorer it balances the backlog alone', () => {
    const cost = createPrefillCostScorer('cost', { prefillTokensPerSecond: 1, slackTokens: 100 });
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const ctx = context(request({ model: 'm', prompt: text(64 * 20, 4) }));
    const out = new Float64Array(2);
    cost.score(ctx, set, out);
    cost.onDispatch!(ctx, set[0]!);
    const ctx2 = context(request({ model: 'm', prompt: text(64 * 20, 5) }));
    cost.score(ctx2, set, out);
    expect(out[1]).toBe(1);
    expect(out[0]!).toBeLessThan(1);
  });

  it('rejects unknown and out-of-range parameters', () => {
    expect(() => createPrefillCostScorer('c', { slack: 1 })).toThrow(/slack/);
    expect(() => createPrefillCostScorer('c', { prefillTokensPerSecond: 0 })).toThrow(
      /prefillTokensPerSecond/,
    );
  });
});

describe('EndpointState dispatch visibility', () => {
  it('keeps a request dispatched just before a scrape in the estimate after that scrape', () => {
    const ep = state(1, { m: { waiting: 1 } });
    const t = performance.now();
    ep.acquire(100, t);
    ep.beginScrape(t + 1); // sent 1 ms after the dispatch: the server may not have it yet
    ep.applyScrape({ ...ep.metrics!, waiting: 1 }, t + 1);
    expect(ep.dispatchedSinceScrape).toBe(1);
    ep.beginScrape(t + 50); // a later scrape sees it
    ep.applyScrape({ ...ep.metrics!, waiting: 2 }, t + 50);
    expect(ep.dispatchedSinceScrape).toBe(0);
    expect(ep.estWaiting()).toBe(2);
  });
});

describe('prefill-cost profile', () => {
  it('runs the prefix scorer before the cost scorer, which reads its match', async () => {
    const { buildScheduler } = await import('../../framework/config.js');
    const { PREFILL_COST_PICKER_CONFIG } = await import('../../profiles.js');
    const { SeededRng } = await import('../../../util/rng.js');
    const s = buildScheduler(PREFILL_COST_PICKER_CONFIG, new SeededRng(1));
    const types = s.profiles[0]!.scorers.map((w) => w.scorer.type);
    expect(types.indexOf('prefix-cache-scorer')).toBeLessThan(types.indexOf('prefill-cost-scorer'));
    expect(s.profiles[0]!.filters).toEqual([]);
  });
});
