/**
 * The default profile end to end on in-memory endpoints: what it picks and why, and the properties
 * the quality benchmark depends on (no herding between scrapes, affinity without hot spots, affinity
 * released when the holder's pending prefill exceeds a cold prefill elsewhere).
 */
import { describe, expect, it } from 'vitest';
import {
  captureLogger,
  context,
  host,
  request,
  type StateOpts,
  state,
  text,
} from '../../../test/scheduling/helpers.js';
import type { EndpointState } from '../../datastore/endpoint-state.js';
import { SeededRng } from '../../util/rng.js';
import {
  DEFAULT_PICKER_CONFIG,
  LEAST_REQUEST_PICKER_CONFIG,
  LOAD_AWARE_PICKER_CONFIG,
  PREFIX_CACHE_PICKER_CONFIG,
} from '../profiles.js';
import { buildScheduler } from './config.js';
import type { Scheduler } from './scheduler.js';

function setup(specs: StateOpts[], config = DEFAULT_PICKER_CONFIG) {
  const cap = captureLogger();
  const scheduler = buildScheduler(config, new SeededRng(5));
  const h = host(5, cap.logger);
  for (const p of scheduler.plugins) p.attach?.(h);
  const now = performance.now();
  const eps = specs.map((s, i) => state(i + 1, s, now));
  return { scheduler, eps, logs: cap.lines };
}

/** route + dispatch, as the router does. */
function send(scheduler: Scheduler, eps: EndpointState[], prompt: string, model = 'm') {
  const req = request({ model, prompt });
  const ctx = context(req, { promptChars: scheduler.promptChars });
  const result = scheduler.schedule(ctx, eps);
  const ep = result.endpoints[0]!;
  ep.acquire(ctx.estPromptTokens());
  scheduler.dispatched(ctx, ep);
  return { result, ep, ctx };
}

describe('default profile', () => {
  it('a burst between scrapes spreads evenly instead of herding (dispatch-time accounting)', () => {
    const { scheduler, eps } = setup([{ m: {} }, { m: {} }, { m: {} }, { m: {} }, { m: {} }]);
    for (let i = 0; i < 20; i++) send(scheduler, eps, text(2000, 100 + i));
    expect(eps.map((e) => e.inflightRequests)).toEqual([4, 4, 4, 4, 4]);
  });

  it('a burst sharing one long prefix still spreads (affinity released under load)', () => {
    const { scheduler, eps } = setup([{ m: {} }, { m: {} }, { m: {} }, { m: {} }, { m: {} }]);
    const shared = text(4000, 1);
    for (let i = 0; i < 60; i++) send(scheduler, eps, shared + text(12000, 200 + i));
    const counts = eps.map((e) => e.inflightRequests);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });

  it('follows prefix affinity when loads are even, and says so in the log', () => {
    const { scheduler, eps, logs } = setup([{ m: {} }, { m: {} }, { m: {} }]);
    const history = text(6000, 3);
    const first = send(scheduler, eps, history);
    scheduler.firstToken(first.ctx, first.ep);
    scheduler.completed(first.ctx, first.ep, { status: 200, ok: true });
    first.ep.release(first.ctx.estPromptTokens(), 0);
    const again = send(scheduler, eps, history + text(300, 4));
    expect(again.ep).toBe(first.ep);
    // Both affinity terms agree (≈ 1,490 tokens less to prefill here: 1.45 points; the prefix match:
    // 0.95); either alone would still pick it, so no single term is named.
    expect(again.result.reason).toBe('score');
    const line = logs().find((l) => l.msg === 'Do prefix-aware routing!');
    expect(line).toBeDefined();
    expect(line!['matching ratio']).toMatch(/^0\.9\d > 0\.00$/);
    expect(line!.request).toBe(again.ctx.request.id);
  });

  it('keeps affinity while the holder’s pending prefill is below a cold prefill elsewhere', () => {
    const { scheduler, eps } = setup([{ m: {} }, { m: {} }, { m: {} }]);
    const history = text(6000, 5); // ≈ 1,500 tokens
    // teach the index that endpoint 0 holds the history; its prefill is done (first token)
    const ctx = context(request({ model: 'm', prompt: history }), { promptChars: scheduler.promptChars });
    scheduler.schedule(ctx, eps);
    scheduler.dispatched(ctx, eps[0]!);
    scheduler.firstToken(ctx, eps[0]!);
    // one short cold prompt is pending there (≈ 250 tokens < the ≈ 1,550 a cold prefill costs)
    const short = context(request({ model: 'm', prompt: text(1000, 7) }), {
      promptChars: scheduler.promptChars,
    });
    scheduler.schedule(short, eps);
    scheduler.dispatched(short, eps[0]!);
    const next = send(scheduler, eps, history + text(200, 6));
    expect(next.ep).toBe(eps[0]);
  });

  it('releases affinity when the holder’s pending prefill exceeds a cold prefill elsewhere', () => {
    const { scheduler, eps } = setup([{ m: {} }, { m: {} }, { m: {} }]);
    const history = text(6000, 5);
    const ctx = context(request({ model: 'm', prompt: history }), { promptChars: scheduler.promptChars });
    scheduler.schedule(ctx, eps);
    scheduler.dispatched(ctx, eps[0]!);
    scheduler.firstToken(ctx, eps[0]!);
    // two long cold prompts (≈ 3,000 tokens each) were just sent there, no first token yet
    for (let k = 0; k < 2; k++) {
      const cold = context(request({ model: 'm', prompt: text(12000, 20 + k) }), {
        promptChars: scheduler.promptChars,
      });
      scheduler.schedule(cold, eps);
      scheduler.dispatched(cold, eps[0]!);
    }
    const next = send(scheduler, eps, history + text(200, 6));
    expect(next.ep).not.toBe(eps[0]);
  });

  it.each([
    ['shorter queue', [{ m: { waiting: 4 } }, { m: { waiting: 0 } }], 1],
    ['more free KV', [{ m: { kvUsage: 0.7 } }, { m: { kvUsage: 0.2 } }], 1],
    ['fewer in flight from this gateway', [{ m: {}, inflight: 3 }, { m: {} }], 1],
    ['unsaturated over saturated', [{ m: { waiting: 5 } }, { m: { waiting: 4, kvUsage: 0.7 } }], 1],
    ['fresh over stale metrics', [{ m: {} }, { m: {}, ageMs: 5000 }], 0],
  ] as const)('prefers %s', (_label, specs, want) => {
    const { scheduler, eps } = setup([...specs]);
    for (let i = 0; i < 5; i++) {
      const r = scheduler.schedule(
        context(request({ model: 'm', prompt: text(500, i) }), { promptChars: scheduler.promptChars }),
        eps,
      );
      expect(r.endpoints[0]).toBe(eps[want]);
    }
  });

  it('routes a LoRA adapter to the endpoint that has it active', () => {
    const lora = (active: string[]) => ({ m: { activeLoras: active, maxLoras: 1, models: ['base'] } });
    const { scheduler, eps } = setup([lora(['x']), lora(['sql']), lora(['y'])]);
    const r = scheduler.schedule(
      context(request({ model: 'sql', prompt: 'q' }), { promptChars: scheduler.promptChars }),
      eps,
    );
    expect(r.endpoints[0]).toBe(eps[1]);
    expect(r.reason).toBe('lora-affinity-scorer');
  });

  it('appends fallbacks after the primary: best remaining first, never duplicated', () => {
    const { scheduler, eps } = setup([
      { m: { waiting: 3 } },
      { m: { waiting: 0 } },
      { m: { waiting: 1 } },
      { m: { waiting: 2 } },
    ]);
    const r = scheduler.schedule(context(request({ model: 'm' })), eps);
    expect(r.endpoints.map((e) => eps.indexOf(e))).toEqual([1, 2, 3]);
  });

  it('one candidate: picked without scoring', () => {
    const { scheduler, eps } = setup([{ m: {} }]);
    const r = scheduler.schedule(context(request()), eps);
    expect(r.endpoints).toEqual([eps[0]]);
    expect(r.reason).toBe('only-candidate');
  });
});

describe('other built-in profiles', () => {
  it('prefix-cache profile weighs prefix 3', () => {
    const s = buildScheduler(PREFIX_CACHE_PICKER_CONFIG, new SeededRng(1));
    expect(s.profiles[0]!.scorers.find((w) => w.scorer.type === 'prefix-cache-scorer')!.weight).toBe(3);
  });

  it('load-aware profile (the default before issue 16) releases affinity on a holder loaded in requests', () => {
    const { scheduler, eps } = setup(
      [{ m: { running: 12, waiting: 3, kvUsage: 0.7 } }, { m: { running: 2 } }, { m: { running: 2 } }],
      LOAD_AWARE_PICKER_CONFIG,
    );
    const history = text(6000, 5);
    const ctx = context(request({ model: 'm', prompt: history }), { promptChars: scheduler.promptChars });
    scheduler.schedule(ctx, eps);
    scheduler.dispatched(ctx, eps[0]!);
    const next = send(scheduler, eps, history + text(200, 6));
    expect(next.ep).not.toBe(eps[0]);
  });

  it('least-request profile: no prompt rendering, picker decides', () => {
    const { scheduler, eps } = setup([{ inflight: 2 }, { inflight: 1 }], LEAST_REQUEST_PICKER_CONFIG);
    expect(scheduler.promptChars).toBe(0);
    const r = scheduler.schedule(context(request()), eps);
    expect(r.endpoints[0]).toBe(eps[1]);
    expect(r.reason).toBe('least-request-picker');
  });
});

describe('runner', () => {
  it('clamps scores to [0,1] and applies weights itself', () => {
    const scheduler = buildScheduler(
      {
        ...DEFAULT_PICKER_CONFIG,
        plugins: [{ type: 'queue-scorer', name: 'q', parameters: {} }],
        schedulingProfiles: [{ name: 'p', plugins: [{ pluginRef: 'q', weight: 7 }] }],
      },
      new SeededRng(1),
    );
    const now = performance.now();
    const r = scheduler.schedule(context(request()), [
      state(1, { m: { waiting: 0 } }, now),
      state(2, { m: { waiting: 9 } }, now),
    ]);
    expect(r.score).toBe(7);
  });

  it('times plugins only when a timer is set', () => {
    const { scheduler, eps } = setup([{ m: {} }, { m: {} }]);
    const seen: string[] = [];
    scheduler.schedule(context(request()), eps);
    expect(seen).toEqual([]);
    scheduler.timer = (p) => seen.push(p.type);
    scheduler.schedule(context(request()), eps);
    expect(seen).toContain('prefix-cache-scorer');
    expect(seen).toContain('max-score-picker');
    expect(seen).toContain('saturation-filter');
  });
});
