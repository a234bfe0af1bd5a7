import { describe, expect, it } from 'vitest';
import { context, host, request, type StateOpts, state, text } from '../../../../test/scheduling/helpers.js';
import type { Scorer } from '../../framework/types.js';
import { PLUGIN_FACTORIES } from '../../plugin-catalog.js';
import { createPrefixCacheScorer, type PrefixCacheScorer } from './prefix-cache-scorer.js';

function scores(
  type: string,
  specs: StateOpts[],
  opts: { params?: Record<string, unknown>; model?: string } = {},
) {
  const scorer = PLUGIN_FACTORIES.get(type)!(type, opts.params ?? {}) as Scorer;
  scorer.attach?.(host());
  const now = performance.now();
  const set = specs.map((s, i) => state(i + 1, s, now));
  const out = new Float64Array(set.length);
  const req = request({ model: opts.model ?? 'base', prompt: 'hi' });
  scorer.score(context(req), set, out);
  return [...out].map((v) => Math.round(v * 1000) / 1000);
}

describe('queue-scorer', () => {
  it.each([
    [
      'reference formula (max−q)/(max−min)',
      [{ m: { waiting: 0 } }, { m: { waiting: 2 } }, { m: { waiting: 4 } }],
      [1, 0.5, 0],
    ],
    ['all equal → 1', [{ m: { waiting: 3 } }, { m: { waiting: 3 } }], [1, 1]],
    ['never scraped counts as empty', [{}, { m: { waiting: 2 } }], [1, 0]],
    // the gateway's own dispatches since the scrape join a queue that exists, not an idle server
    [
      'dispatches since scrape join an existing queue',
      [{ m: { waiting: 1 }, inflight: 3 }, { m: { waiting: 2 } }],
      [0, 1],
    ],
    [
      'dispatches to a server without a queue do not',
      [{ m: { waiting: 0 }, inflight: 3 }, { m: { waiting: 1 } }],
      [1, 0],
    ],
  ] as const)('%s', (_label, specs, want) => {
    expect(scores('queue-scorer', [...specs])).toEqual(want);
  });
});

describe('kv-cache-utilization-scorer', () => {
  it.each([
    ['1 − usage', [{ m: { kvUsage: 0.2 } }, { m: { kvUsage: 0.9 } }], [0.8, 0.1]],
    [
      'unknown usage gets the mean of the known',
      [{ m: { kvUsage: 0.2 } }, { m: { kvUsage: 0.6 } }, { m: { kvUsage: undefined } }],
      [0.8, 0.4, 0.6],
    ],
    ['none known → 1', [{}, {}], [1, 1]],
    // 2 requests of 400 body-bytes/4 = 100 tokens each on a 1000-token cache: +0.2
    [
      'projected with prompt tokens dispatched since the scrape',
      [{ m: { kvUsage: 0.1, numBlocks: 100, blockSize: 10 }, inflight: 2 }, { m: { kvUsage: 0.1 } }],
      [0.7, 0.9],
    ],
  ] as const)('%s', (_label, specs, want) => {
    expect(scores('kv-cache-utilization-scorer', [...specs])).toEqual(want);
  });
});

describe('running-requests-size-scorer', () => {
  it.each([
    [
      'fewer requests, higher score',
      [{ m: { running: 2, waiting: 0 } }, { m: { running: 4, waiting: 2 } }, { m: { running: 4 } }],
      [1, 0, 0.5],
    ],
    ['never scraped: own in-flight count', [{ inflight: 1 }, { inflight: 3 }], [1, 0]],
  ] as const)('%s', (_label, specs, want) => {
    expect(scores('running-requests-size-scorer', [...specs])).toEqual(want);
  });
});

describe('inflight-load-scorer', () => {
  it.each([
    [
      '(min+1)/(load+1) on in-flight requests',
      { tokenWeight: 0 },
      [{ inflight: 0 }, { inflight: 1 }, { inflight: 3 }],
      [1, 0.5, 0.25],
    ],
    ['relative: 12 vs 13 stays close', { tokenWeight: 0 }, [{ inflight: 12 }, { inflight: 13 }], [1, 0.929]],
    ['all idle → 1', {}, [{}, {}], [1, 1]],
    // each helper dispatch is 100 tokens; tokensPerUnit 100 makes tokens weigh like requests
    [
      'tokens weigh in',
      { tokensPerUnit: 100, requestWeight: 0 },
      [{ inflight: 1 }, { inflight: 0 }],
      [0.5, 1],
    ],
  ] as const)('%s', (_label, params, specs, want) => {
    expect(scores('inflight-load-scorer', [...specs], { params })).toEqual(want);
  });
});

describe('lora-affinity-scorer', () => {
  const lora = (active: string[], waiting: string[], max: number) => ({
    m: { activeLoras: active, waitingLoras: waiting, maxLoras: max, models: ['base'] },
  });
  it.each([
    [
      'active 1, free slot 0.8, waiting 0.6, full 0',
      'sql',
      [lora(['sql'], [], 2), lora(['x'], [], 2), lora(['x'], ['sql'], 2), lora(['x', 'y'], [], 2)],
      [1, 0.8, 0.6, 0],
    ],
    ['base model requests are neutral', 'base', [lora(['sql'], [], 2), lora([], [], 2)], [1, 1]],
    ['no LoRA state anywhere is neutral', 'sql', [{ m: {} }, { m: {} }], [1, 1]],
    ['unknown LoRA state among known is 0.5', 'sql', [lora(['sql'], [], 1), {}], [1, 0.5]],
  ] as const)('%s', (_label, model, specs, want) => {
    expect(scores('lora-affinity-scorer', [...specs], { model })).toEqual(want);
  });
});

describe('session-affinity-scorer', () => {
  it('sends a session back to the endpoint that served it last, and forgets beyond maxSessions', () => {
    const scorer = PLUGIN_FACTORIES.get('session-affinity-scorer')!('s', { maxSessions: 2 }) as Scorer & {
      size: number;
    };
    const set = [state(1), state(2), state(3)];
    const out = new Float64Array(3);
    const withSession = (id: string) => context(request({ headers: { 'x-session-id': id } }));

    scorer.score(withSession('a'), set, out);
    expect([...out]).toEqual([0, 0, 0]);
    scorer.onDispatch!(withSession('a'), set[1]!);
    scorer.score(withSession('a'), set, out);
    expect([...out]).toEqual([0, 1, 0]);

    scorer.onDispatch!(withSession('b'), set[0]!);
    scorer.onDispatch!(withSession('c'), set[2]!); // evicts a (oldest)
    expect(scorer.size).toBe(2);
    scorer.score(withSession('a'), set, out);
    expect([...out]).toEqual([0, 0, 0]);
    scorer.score(context(request()), set, out);
    expect([...out]).toEqual([0, 0, 0]);
  });

  it('can key sessions on the body field `user`', () => {
    const scorer = PLUGIN_FACTORIES.get('session-affinity-scorer')!('s', { userField: true }) as Scorer;
    const set = [state(1), state(2)];
    const ctx = () => context(request({ extra: { user: 'u-7' } }));
    scorer.onDispatch!(ctx(), set[0]!);
    const out = new Float64Array(2);
    scorer.score(ctx(), set, out);
    expect([...out]).toEqual([1, 0]);
  });
});

describe('prefix-cache-scorer', () => {
  const setup = (params: Record<string, unknown> = {}) => {
    const scorer = createPrefixCacheScorer('prefix', params);
    scorer.attach(host());
    return scorer;
  };
  const run = (scorer: PrefixCacheScorer, set: ReturnType<typeof state>[], prompt: string, model = 'm') => {
    const ctx = context(request({ model, prompt }));
    const out = new Float64Array(set.length);
    scorer.score(ctx, set, out);
    return { ctx, out: [...out].map((v) => Math.round(v * 100) / 100) };
  };

  it('scores matched leading blocks / total blocks, learned at dispatch', () => {
    const scorer = setup();
    const set = [state(1, { m: {} }), state(2, { m: {} })];
    const shared = text(64 * 10, 1);
    const first = run(scorer, set, shared + text(64 * 10, 2));
    expect(first.out).toEqual([0, 0]);
    scorer.onDispatch!(first.ctx, set[0]!);
    // same first 10 blocks, different last 10 → 0.5 on the endpoint that holds them
    expect(run(scorer, set, shared + text(64 * 10, 3)).out).toEqual([0.5, 0]);
    // another model never matches
    expect(run(scorer, set, shared + text(64 * 10, 3), 'other').out).toEqual([0, 0]);
  });

  it('prompts shorter than one block score 0 and record nothing', () => {
    const scorer = setup();
    const set = [state(1)];
    const r = run(scorer, set, 'short');
    scorer.onDispatch!(r.ctx, set[0]!);
    expect(scorer.index.size).toBe(0);
  });

  it.each([
    ['holder within the allowance keeps full affinity', { running: 5 }, { running: 2 }, 1],
    ['holder 2 × allowance above the least loaded loses it', { running: 10 }, { running: 2 }, 0],
    ['in between it fades linearly', { running: 8 }, { running: 2 }, 0.5],
    ['KV well above the least loaded fades too', { kvUsage: 0.65 }, { kvUsage: 0.3 }, 0.6],
    ['KV far above the least loaded releases it', { kvUsage: 0.9 }, { kvUsage: 0.3 }, 0],
  ] as const)('hot-spot guard: %s', (_label, holder, other, want) => {
    const scorer = setup(); // imbalanceRequests 4, imbalanceRatio 0.5, imbalanceKv 0.25
    const prompt = text(64 * 8, 9);
    const now = performance.now();
    const set = [
      state(1, { m: { kvUsage: 0, ...holder } }, now),
      state(2, { m: { kvUsage: 0, ...other } }, now),
    ];
    const first = run(scorer, set, prompt);
    scorer.onDispatch!(first.ctx, set[0]!);
    expect(run(scorer, set, prompt).out[0]).toBeCloseTo(want, 1);
  });

  it('the guard can be switched off', () => {
    const scorer = setup({ hotspotGuard: false });
    const now = performance.now();
    const set = [state(1, { m: { running: 50 } }, now), state(2, { m: { running: 0 } }, now)];
    const prompt = text(64 * 4, 4);
    scorer.onDispatch!(run(scorer, set, prompt).ctx, set[0]!);
    expect(run(scorer, set, prompt).out).toEqual([1, 0]);
  });

  it('sizes the per-endpoint capacity from the exported KV cache when autoTune is on', () => {
    const scorer = setup();
    const ep = state(1, { m: { numBlocks: 1000, blockSize: 16 } });
    // 1000 × 16 tokens × 4 chars / 64 chars per block
    expect(scorer.capacityFor(ep)).toBe(1000);
    expect(setup({ autoTune: false, lruCapacityPerServer: 77 }).capacityFor(ep)).toBe(77);
    expect(scorer.capacityFor(state(2))).toBe(31_250);
  });

  it('accepts the reference spelling hashBlockSize', () => {
    expect(createPrefixCacheScorer('p', { hashBlockSize: 32 }).params.blockSize).toBe(32);
  });
});
