import { describe, expect, it } from 'vitest';
import { context, host, request, state, text } from '../../../../test/scheduling/helpers.js';
import { createPrefillCostScorer } from './prefill-cost-scorer.js';
import { createPrefixCacheScorer } from './prefix-cache-scorer.js';

/** A prefix scorer and a cost scorer sharing one request, as the default profile runs them. */
function setup(params: Record<string, unknown> = {}) {
  const prefix = createPrefixCacheScorer('prefix', { hotspotGuard: false });
  prefix.attach(host());
  const cost = createPrefillCostScorer('cost', { costSpanTokens: 1000, ...params });
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
  it('prefers the endpoint holding the prompt while nothing is pending there', () => {
    const { prefix, cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 1); // ≈ 640 tokens
    const first = run(set, history);
    expect(first.out).toEqual([1, 1]);
    prefix.onDispatch!(first.ctx, set[0]!);
    cost.onDispatch!(first.ctx, set[0]!);
    expect(set[0]!.pendingPrefillTokens).toBe(first.ctx.estPromptTokens());
    cost.onFirstToken!(first.ctx, set[0]!);
    expect(set[0]!.pendingPrefillTokens).toBe(0);
    const again = run(set, history + text(64, 2));
    // Endpoint 2 would prefill ≈ 660 tokens more: 1 − 660/1000.
    expect(again.out[0]).toBe(1);
    expect(again.out[1]!).toBeGreaterThan(0.2);
    expect(again.out[1]!).toBeLessThan(0.5);
  });

  it('releases affinity when the holder’s pending prefill exceeds a cold prefill elsewhere', () => {
    const { prefix, cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 1); // ≈ 640 tokens
    const first = run(set, history);
    prefix.onDispatch!(first.ctx, set[0]!);
    // Three long cold prompts (≈ 2,000 tokens each) were just sent to endpoint 1, no first token yet.
    const cold = [0, 1, 2].map((k) => run(set, text(64 * 125, 10 + k)));
    for (const r of cold) cost.onDispatch!(r.ctx, set[0]!);
    const again = run(set, history + text(64, 2));
    // Endpoint 2 must prefill the whole prompt (≈ 660 tokens), endpoint 1 has ≈ 6,000 pending.
    expect(again.out[1]).toBe(1);
    expect(again.out[0]).toBe(0);
    // Their first tokens arrive: affinity holds again. A completion without one releases too.
    cost.onFirstToken!(cold[0]!.ctx, set[0]!);
    cost.onFirstToken!(cold[1]!.ctx, set[0]!);
    cost.onComplete!(cold[2]!.ctx, set[0]!, { status: 0, ok: false, error: 'reset' });
    expect(set[0]!.pendingPrefillTokens).toBe(0);
    expect(set[0]!.pendingPrefillRequests).toBe(0);
    expect(run(set, history + text(64, 2)).out[0]).toBe(1);
  });

  it('releases a request once, and moves it with a retry to another endpoint', () => {
    const { cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const r = run(set, text(64 * 50, 3));
    const tokens = r.ctx.estPromptTokens();
    cost.onDispatch!(r.ctx, set[0]!);
    cost.onComplete!(r.ctx, set[0]!, { status: 0, ok: false, error: 'connect' });
    cost.onDispatch!(r.ctx, set[1]!);
    expect(set[0]!.pendingPrefillTokens).toBe(0);
    expect(set[1]!.pendingPrefillTokens).toBe(tokens);
    cost.onFirstToken!(r.ctx, set[1]!);
    cost.onComplete!(r.ctx, set[1]!, { status: 200, ok: true, ttftMs: 5 });
    expect(set[1]!.pendingPrefillTokens).toBe(0);
    expect(set[1]!.pendingPrefillRequests).toBe(0);
  });

  it('weighs a cold prefill by the requests decoding where it would run', () => {
    for (const [decodeStallWeight, want] of [
      [0.25, 1],
      [0, 0],
    ] as const) {
      const { prefix, run } = setup({ costSpanTokens: 8192, decodeStallWeight });
      const set = [state(1, { m: {} }), state(2, { m: {} })];
      const system = text(64 * 60, 1); // ≈ 960 tokens, cached on endpoint 1 only
      prefix.onDispatch!(run(set, system).ctx, set[0]!);
      for (let k = 0; k < 3; k++) set[0]!.acquire(2000); // three requests decoding there
      // a new user: the system prompt + ≈ 4,000 tokens of private history
      const r = run(set, system + text(64 * 250, 2));
      expect(r.out[want]).toBe(1);
      expect(r.out[1 - want]!).toBeLessThan(1);
    }
  });

  it('without a prefix-cache-scorer it balances pending prefill alone', () => {
    const cost = createPrefillCostScorer('cost', { costSpanTokens: 100 });
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const ctx = context(request({ model: 'm', prompt: text(64 * 20, 4) }));
    const out = new Float64Array(2);
    cost.score(ctx, set, out);
    expect([...out]).toEqual([1, 1]);
    cost.onDispatch!(ctx, set[0]!);
    const ctx2 = context(request({ model: 'm', prompt: text(64 * 20, 5) }));
    cost.score(ctx2, set, out);
    expect(out[1]).toBe(1);
    expect(out[0]).toBe(0);
  });

  it('reads the prefix match only when it scored the same candidates', () => {
    const { prefix, cost } = setup({ costSpanTokens: 1000 });
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 1);
    const seed = context(request({ model: 'm', prompt: history }));
    prefix.score(seed, set, new Float64Array(2));
    prefix.onDispatch!(seed, set[0]!);
    const ctx = context(request({ model: 'm', prompt: history }));
    prefix.score(ctx, set, new Float64Array(2));
    const out = new Float64Array(2);
    cost.score(ctx, set, out);
    expect(out[0]).toBe(1);
    expect(out[1]!).toBeLessThan(1);
    // a later stage scored a different list: the match's indices would not line up
    cost.score(ctx, [set[0]!, set[1]!], out);
    expect([...out]).toEqual([1, 1]);
  });

  it('the requests decoding are those in flight past their prefill', () => {
    const cost = createPrefillCostScorer('cost', { costSpanTokens: 1_000_000, decodeStallWeight: 1 });
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    // endpoint 1: four in flight, two of them still prefilling (0 tokens each) → two decoding
    for (let k = 0; k < 4; k++) set[0]!.acquire(1);
    set[0]!.startPrefill(0);
    set[0]!.startPrefill(0);
    const ctx = context(request({ model: 'm', prompt: text(400, 7) }));
    const out = new Float64Array(2);
    cost.score(ctx, set, out);
    const prompt = ctx.estPromptTokens();
    // cost 1: prompt × (1 + 2), cost 2: prompt → 1 − 2 × prompt / span
    expect(out[0]).toBeCloseTo(1 - (2 * prompt) / 1_000_000, 12);
    expect(out[1]).toBe(1);
  });

  it('writes only out[0 … candidates)', () => {
    const cost = createPrefillCostScorer('cost', {});
    const out = Float64Array.from([5, 5, -3]);
    cost.score(context(request({ model: 'm', prompt: 'hi' })), [state(1), state(2)], out);
    expect([...out]).toEqual([1, 1, -3]);
  });

  it('counts pending prefill where the request went: its uncached tokens there, the whole prompt elsewhere', () => {
    const { prefix, cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const history = text(64 * 40, 8);
    prefix.onDispatch!(run(set, history).ctx, set[0]!);
    const r = run(set, history);
    cost.onDispatch!(r.ctx, set[0]!); // everything cached on endpoint 1
    expect(set[0]!.pendingPrefillTokens).toBe(0);
    expect(set[0]!.pendingPrefillRequests).toBe(1);
    const outside = state(3, { m: {} });
    const r2 = run(set, history);
    cost.onDispatch!(r2.ctx, outside); // not a candidate (e.g. a fallback pick)
    expect(outside.pendingPrefillTokens).toBe(r2.ctx.estPromptTokens());
    // a request never scored changes nothing
    cost.onDispatch!(context(request({ model: 'm', prompt: history })), set[1]!);
    expect(set[1]!.pendingPrefillRequests).toBe(0);
  });

  it('a first token or completion from another endpoint does not release it', () => {
    const { cost, run } = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const r = run(set, text(64 * 10, 9));
    cost.onDispatch!(r.ctx, set[0]!);
    cost.onFirstToken!(r.ctx, set[1]!);
    cost.onComplete!(r.ctx, set[1]!, { status: 200, ok: true, ttftMs: 5 });
    expect(set[0]!.pendingPrefillTokens).toBe(r.ctx.estPromptTokens());
    // and a request never scored releases nothing
    const never = context(request({ model: 'm', prompt: 'x' }));
    cost.onFirstToken!(never, set[0]!);
    cost.onComplete!(never, set[0]!, { status: 200, ok: true, ttftMs: 5 });
    expect(set[0]!.pendingPrefillRequests).toBe(1);
  });

  it('rejects unknown and out-of-range parameters', () => {
    expect(() => createPrefillCostScorer('c', { slackTokens: 1 })).toThrow(/slackTokens/);
    expect(() => createPrefillCostScorer('c', { costSpanTokens: 0 })).toThrow(/costSpanTokens/);
    expect(() => createPrefillCostScorer('c', { decodeStallWeight: -1 })).toThrow(/decodeStallWeight/);
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

describe('the default profile (cost-aware)', () => {
  it('runs the prefix scorer before the cost scorer, which reads its match, behind the saturation filter', async () => {
    const { buildScheduler } = await import('../../framework/config.js');
    const { DEFAULT_PICKER_CONFIG, PREFIX_CACHE_PICKER_CONFIG } = await import('../../profiles.js');
    const { SeededRng } = await import('../../../util/rng.js');
    for (const cfg of [DEFAULT_PICKER_CONFIG, PREFIX_CACHE_PICKER_CONFIG]) {
      const s = buildScheduler(cfg, new SeededRng(1));
      const types = s.profiles[0]!.scorers.map((w) => w.scorer.type);
      expect(types.indexOf('prefix-cache-scorer')).toBeLessThan(types.indexOf('prefill-cost-scorer'));
      expect(s.profiles[0]!.filters.map((f) => f.type)).toEqual(['saturation-filter']);
    }
  });
});
