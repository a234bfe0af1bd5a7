import { describe, expect, it } from 'vitest';
import {
  captureLogger,
  context,
  host,
  request,
  type StateOpts,
  state,
  text,
} from '../../../../test/scheduling/helpers.js';
import type { EndpointState } from '../../../datastore/endpoint-state.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { Scorer } from '../../framework/types.js';
import { PLUGIN_FACTORIES } from '../../plugin-catalog.js';
import {
  createPrefixCacheScorer,
  PREFIX_MATCH,
  type PrefixCacheScorer,
  type PrefixMatch,
} from './prefix-cache-scorer.js';
import { createSessionAffinityScorer } from './session-affinity-scorer.js';

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

describe('prefix-cache-scorer: what it tells other plugins, counts and logs', () => {
  const P = text(64 * 6, 61); // 6 blocks of 64 characters
  const setup = (params: Record<string, unknown> = {}, logger = captureLogger().logger) => {
    const lookups: [number, number][] = [];
    const scorer = createPrefixCacheScorer('prefix', params);
    scorer.attach({ ...host(1, logger), telemetry: { prefixLookup: (t, m) => void lookups.push([t, m]) } });
    return { scorer, lookups };
  };
  const scoreOf = (scorer: PrefixCacheScorer, ctx: SchedulingContext, set: EndpointState[]) => {
    const out = new Float64Array(set.length);
    scorer.score(ctx, set, out);
    return [...out];
  };

  it('cachedTokens: the whole prompt when every hashed block matched, else the matched blocks’ tokens', () => {
    const { scorer } = setup({ maxPrefixBlocksToMatch: 4 });
    const set = [state(1), state(2)];
    const first = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, first, set);
    scorer.onDispatch(first, set[0]!);
    const ctx = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, ctx, set);
    const match = ctx.get<PrefixMatch>(PREFIX_MATCH)!;
    expect(match.candidates).toBe(set);
    // 4 hashed blocks all matched: the prompt continues beyond the window and counts as cached
    expect(match.cachedTokens(0, 1000)).toBe(1000);
    expect(match.cachedTokens(1, 1000)).toBe(0);
    expect(match.cachedTokens(5, 1000)).toBe(0); // no such candidate
    // half of a 4-block window: 2 blocks × 16 tokens
    const { scorer: s2 } = setup({ maxPrefixBlocksToMatch: 4 });
    const half = context(request({ model: 'm', prompt: P.slice(0, 128) }));
    scoreOf(s2, half, set);
    s2.onDispatch(half, set[0]!);
    const ctx2 = context(request({ model: 'm', prompt: P }));
    scoreOf(s2, ctx2, set);
    expect(ctx2.get<PrefixMatch>(PREFIX_MATCH)!.cachedTokens(0, 1000)).toBe(32);
    expect(ctx2.get<PrefixMatch>(PREFIX_MATCH)!.cachedTokens(0, 20)).toBe(20);
  });

  it('cache_salt separates prefixes; a salt that is not a string is no salt', () => {
    const { scorer } = setup();
    const set = [state(1)];
    const salted = (salt: unknown) =>
      context(request({ model: 'm', prompt: P, extra: { cache_salt: salt } }));
    const ctx = salted('tenant-a');
    scoreOf(scorer, ctx, set);
    scorer.onDispatch(ctx, set[0]!);
    expect(scoreOf(scorer, salted('tenant-a'), set)).toEqual([1]);
    expect(scoreOf(scorer, salted('tenant-b'), set)).toEqual([0]);
    expect(scoreOf(scorer, context(request({ model: 'm', prompt: P })), set)).toEqual([0]);
    const plain = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, plain, set);
    scorer.onDispatch(plain, set[0]!);
    expect(scoreOf(scorer, salted(5), set)).toEqual([1]);
  });

  it('a request without a JSON body is scored from its raw prompt', () => {
    const { scorer } = setup();
    const set = [state(1)];
    const req = { ...request({ model: 'm', prompt: P }), json: undefined };
    expect(scoreOf(scorer, context(req), set)).toEqual([0]);
  });

  it('each request keeps its own blocks until dispatch, whatever was scored in between', () => {
    const { scorer } = setup();
    const set = [state(1), state(2)];
    const other = text(64 * 6, 62);
    const first = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, first, set);
    scoreOf(scorer, context(request({ model: 'm', prompt: other })), set);
    scorer.onDispatch(first, set[0]!);
    expect(scoreOf(scorer, context(request({ model: 'm', prompt: P })), set)).toEqual([1, 0]);
    expect(scoreOf(scorer, context(request({ model: 'm', prompt: other })), set)).toEqual([0, 0]);
  });

  it('a prompt shorter than a block scores 0 and counts no lookup', () => {
    const { scorer, lookups } = setup();
    const set = [state(1), state(2)];
    const ctx = context(request({ model: 'm', prompt: 'short' }));
    expect(scoreOf(scorer, ctx, set)).toEqual([0, 0]);
    scorer.onDispatch(ctx, set[0]!);
    scorer.onDispatch(context(request({ model: 'm', prompt: P })), set[0]!); // never scored
    expect(lookups).toEqual([]);
  });

  it('counts one lookup per request at its first dispatch: blocks and those the endpoint held', () => {
    const { scorer, lookups } = setup();
    const set = [state(1), state(2)];
    const seed = context(request({ model: 'm', prompt: P.slice(0, 64 * 3) }));
    scoreOf(scorer, seed, set);
    scorer.onDispatch(seed, set[0]!);
    const ctx = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, ctx, set);
    scorer.onDispatch(ctx, set[0]!);
    scorer.onDispatch(ctx, set[1]!); // a retry elsewhere: not counted again
    const stray = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, stray, set);
    scorer.onDispatch(stray, state(9)); // not a candidate
    expect(lookups).toEqual([
      [3, 0],
      [6, 3],
      [6, 0],
    ]);
  });

  it('all holders loaded alike stay unfaded; a loaded holder among holders fades', () => {
    const { scorer } = setup();
    const now = performance.now();
    const set = [state(1, { m: { running: 10 } }, now), state(2, { m: { running: 2 } }, now)];
    for (const ep of set) {
      const ctx = context(request({ model: 'm', prompt: P }));
      scoreOf(scorer, ctx, set);
      scorer.onDispatch(ctx, ep);
    }
    expect(scoreOf(scorer, context(request({ model: 'm', prompt: P })), set)).toEqual([0, 1]);
  });

  it('logs `Do prefix-aware routing!` once per request: at the decisive pick or at a dispatch that follows affinity', () => {
    const log = captureLogger();
    const { scorer } = setup({}, log.logger);
    const set = [state(1), state(2), state(3)];
    const teach = (prompt: string, ep: EndpointState) => {
      const ctx = context(request({ model: 'm', prompt }));
      scoreOf(scorer, ctx, set);
      scorer.onDispatch(ctx, ep);
    };
    teach(P.slice(0, 64 * 3), set[0]!); // endpoint 1 holds half
    teach(P, set[1]!); // endpoint 2 holds all
    teach(P.slice(0, 64), set[2]!); // endpoint 3 a sixth
    const lines = () => log.lines().filter((l) => l.msg === 'Do prefix-aware routing!');
    const before = lines().length;
    const ctx = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, ctx, set);
    scorer.onDecisive(ctx, set[1]!, [...set]); // not the candidates scored
    scorer.onDecisive(context(request({ model: 'm', prompt: P })), set[1]!, set); // never scored
    expect(lines()).toHaveLength(before);
    scorer.onDecisive(ctx, set[1]!, set);
    expect(lines()).toHaveLength(before + 1);
    scorer.onDispatch(ctx, set[1]!); // already logged for this request
    scorer.onDecisive(ctx, set[1]!, set);
    expect(lines().slice(before)).toMatchObject([
      {
        request: ctx.request.id,
        pool: 'default/pool',
        endpoint: set[1]!.id,
        'matching ratio': '1.00 > 0.50',
      },
    ]);
    // a dispatch to the best holder logs when no pick was decisive; to a lesser one it does not
    const viaDispatch = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, viaDispatch, set);
    scorer.onDispatch(viaDispatch, set[1]!);
    const lesser = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, lesser, set);
    scorer.onDispatch(lesser, set[0]!);
    const stray = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, stray, set);
    scorer.onDispatch(stray, state(9));
    expect(lines().slice(before + 1)).toMatchObject([
      { endpoint: set[1]!.id, 'matching ratio': '1.00 > 0.50' },
    ]);
  });

  it('works unattached: its own index, no telemetry, no log', () => {
    const scorer = createPrefixCacheScorer('alone', { lruCapacityPerServer: 9, maxIndexEntries: 99 });
    expect([scorer.index.defaultCapacity, scorer.index.maxEntries]).toEqual([9, 99]);
    const set = [state(1), state(2)];
    const ctx = context(request({ model: 'm', prompt: P }));
    scoreOf(scorer, ctx, set);
    scorer.onDispatch(ctx, set[0]!);
    const again = context(request({ model: 'm', prompt: P }));
    expect(scoreOf(scorer, again, set)).toEqual([1, 0]);
    expect(() => scorer.onDecisive(again, set[0]!, set)).not.toThrow();
  });

  it('shares one index per pool and parameters', () => {
    const h = host();
    const make = (params: Record<string, unknown>) => {
      const s = createPrefixCacheScorer('p', params);
      s.attach(h);
      return s;
    };
    const a = make({});
    expect(make({}).index).toBe(a.index);
    expect([a.index.defaultCapacity, a.index.maxEntries]).toEqual([31_250, 2_000_000]);
    for (const params of [
      { blockSize: 32 },
      { maxPrefixBlocksToMatch: 8 },
      { lruCapacityPerServer: 5 },
      { maxIndexEntries: 50 },
    ]) {
      expect(make(params).index).not.toBe(a.index);
    }
    expect(make({ lruCapacityPerServer: 5, maxIndexEntries: 50 }).index).toMatchObject({
      defaultCapacity: 5,
      maxEntries: 50,
    });
  });

  it('parameters', () => {
    expect(
      createPrefixCacheScorer('p', { imbalanceRequests: 2, imbalanceRatio: 0.25, imbalanceKv: 0.5 }).params,
    ).toMatchObject({ imbalanceRequests: 2, imbalanceRatio: 0.25, imbalanceKv: 0.5 });
    for (const bad of [
      { lruCapacityPerServer: 0 },
      { maxIndexEntries: 0 },
      { imbalanceRequests: -1 },
      { imbalanceRatio: -1 },
      { imbalanceKv: -0.5 },
    ]) {
      expect(() => createPrefixCacheScorer('p', bad), JSON.stringify(bad)).toThrow(Object.keys(bad)[0]);
    }
  });
});

describe('session-affinity-scorer: keys', () => {
  const make = (params: Record<string, unknown> = {}) => {
    const s = createSessionAffinityScorer('s', params);
    const set = [state(1), state(2)];
    const score = (ctx: SchedulingContext) => {
      const out = new Float64Array(2);
      s.score(ctx, set, out);
      return [...out];
    };
    return { s, set, score };
  };

  it('the default header is x-session-id; the body field user is not a key unless userField', () => {
    const { s, set, score } = make();
    s.onDispatch(context(request({ headers: { 'x-session-id': 'k' } })), set[1]!);
    expect(score(context(request({ headers: { 'x-session-id': 'k' } })))).toEqual([0, 1]);
    s.onDispatch(context(request({ extra: { user: 'u' } })), set[0]!);
    expect(score(context(request({ extra: { user: 'u' } })))).toEqual([0, 0]);
    expect(s.size).toBe(1);
  });

  it('requests without a key are not remembered', () => {
    const { s, set } = make({ userField: true });
    s.onDispatch(context(request()), set[0]!);
    s.onDispatch(context({ ...request(), json: undefined }), set[0]!);
    expect(s.size).toBe(0);
  });

  it('userField: only a non-empty string is a key; the header wins', () => {
    const { s, set, score } = make({ userField: true, header: 'X-Conv' });
    for (const user of ['', 5]) {
      s.onDispatch(context(request({ extra: { user } })), set[1]!);
      expect(score(context(request({ extra: { user } }))), String(user)).toEqual([0, 0]);
    }
    expect(s.size).toBe(0);
    s.onDispatch(context(request({ headers: { 'x-conv': 'h' }, extra: { user: 'u' } })), set[0]!);
    expect(score(context(request({ headers: { 'x-conv': 'h' } })))).toEqual([1, 0]);
    expect(score(context(request({ extra: { user: 'u' } })))).toEqual([0, 0]);
  });

  it('maxSessions must be at least 1', () => {
    expect(() => createSessionAffinityScorer('s', { maxSessions: 0 })).toThrow('maxSessions');
  });
});

describe('scorer contracts', () => {
  it.each([
    ['queue-scorer', 'distribution'],
    ['kv-cache-utilization-scorer', 'distribution'],
    ['running-requests-size-scorer', 'distribution'],
    ['inflight-load-scorer', 'distribution'],
    ['prefill-cost-scorer', 'distribution'],
    ['lora-affinity-scorer', 'affinity'],
    ['session-affinity-scorer', 'affinity'],
    ['prefix-cache-scorer', 'affinity'],
  ])('%s is a %s scorer', (type, category) => {
    const s = PLUGIN_FACTORIES.get(type)!(type, {}) as Scorer;
    expect([s.kind, s.type, s.category]).toEqual(['scorer', type, category]);
  });

  it.each([
    ['kv-cache-utilization-scorer', [{ m: { kvUsage: 0.5 } }, { m: { kvUsage: undefined } }]],
    ['lora-affinity-scorer', [{ m: {} }, {}]],
    ['queue-scorer', [{ m: { waiting: 1 } }, { m: { waiting: 3 } }]],
    ['running-requests-size-scorer', [{ m: { running: 1 } }, { m: { running: 3 } }]],
    ['inflight-load-scorer', [{ inflight: 1 }, { inflight: 3 }]],
  ] as const)('%s writes only out[0 … candidates)', (type, specs) => {
    const s = PLUGIN_FACTORIES.get(type)!(type, {}) as Scorer;
    const set = specs.map((spec, i) => state(i + 1, spec));
    const out = Float64Array.from([7, 7, -1, 42]);
    s.score(context(request({ model: 'base' })), set, out);
    expect([...out.slice(2)]).toEqual([-1, 42]);
  });

  it('kv-cache-utilization: a full cache scores 0, not the neutral mean', () => {
    expect(
      scores('kv-cache-utilization-scorer', [{ m: { kvUsage: 1 } }, { m: { kvUsage: 0.5 } }, {}]),
    ).toEqual([0, 0.5, 0.25]);
  });

  it('lora-affinity: a request without a model is neutral; a server without maxLoras among others is 0.5', () => {
    const lora = { m: { activeLoras: ['x'], waitingLoras: [], maxLoras: 1, models: ['base'] } };
    const s = PLUGIN_FACTORIES.get('lora-affinity-scorer')!('l', {}) as Scorer;
    const set = [state(1, lora), state(2, lora)];
    const out = new Float64Array(2);
    s.score(context(request()), set, out);
    expect([...out]).toEqual([1, 1]);
    expect(scores('lora-affinity-scorer', [lora, { m: { models: ['base'] } }], { model: 'sql' })).toEqual([
      0, 0.5,
    ]);
  });

  it.each([
    ['inflight-load-scorer', { requestWeight: -1 }, 'requestWeight'],
    ['inflight-load-scorer', { tokenWeight: -1 }, 'tokenWeight'],
    ['inflight-load-scorer', { tokensPerUnit: 0 }, 'tokensPerUnit'],
  ])('%s rejects %j', (type, params, field) => {
    expect(() => PLUGIN_FACTORIES.get(type)!(type, params)).toThrow(field);
  });
});
