/**
 * The registry and pool routers on in-memory endpoints (scraping off; metrics injected the way a
 * scrape would apply them): routing, rewrite, shedding, queueing, reloads, metrics.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QWEN3_TOKENIZER_DIR } from '../../test/helpers/tokenizers.js';
import { address, metrics, plan, pool, request, source, text } from '../../test/scheduling/helpers.js';
import { GatewayError } from '../openai/errors.js';
import type { ModelServerMetrics } from '../scraping/model-server-metrics.js';
import { DecisionRing } from '../telemetry/decision-ring.js';
import { type HfTokenizer, loadTokenizer } from '../tokenizer/index.js';
import { silentLogger } from '../util/log.js';
import { SeededRng } from '../util/rng.js';
import {
  createSchedulerRegistry,
  type SchedulerRegistry,
  type SchedulerRegistryOptions,
} from './scheduler-registry.js';

const registries: SchedulerRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

function setup(
  poolOverrides: Parameters<typeof pool>[0] = { endpoints: [address(1), address(2), address(3)] },
  opts: Partial<SchedulerRegistryOptions> = {},
) {
  const promRegistry = new Registry();
  const reg = createSchedulerRegistry({
    metrics: promRegistry,
    logger: silentLogger(),
    rng: new SeededRng(1),
    scrape: false,
    ...opts,
  });
  registries.push(reg);
  const p = pool(poolOverrides);
  reg.sync(plan(p));
  const router = reg.get(p.key)!;
  /** Applies a "scrape" to endpoint i (1-based) and tells the router, as the scrape loop does. */
  const scrape = (i: number, m: Partial<ModelServerMetrics>) => {
    const s = reg.endpointState(`10.0.0.${i}:8000`)!;
    s.beginScrape();
    s.applyScrape(metrics(m), performance.now());
    router.endpointsChanged();
  };
  return { reg, router, promRegistry, scrape, pool: p };
}

const signal = () => new AbortController().signal;
const code = (e: unknown) => (e instanceof GatewayError ? e.code : String(e));
const saturated = { waiting: 9, kvUsage: 0.9 };

describe('routing', () => {
  it('returns a decision: primary + fallbacks, the original body, and a reason', async () => {
    const { router } = setup();
    const req = request({ model: 'm', prompt: 'hello world' });
    const d = await router.route(req, signal());
    expect(d.endpoints.length).toBe(3);
    expect(new Set(d.endpoints.map((e) => e.id)).size).toBe(3);
    expect(d.endpoints[0]!.id).toMatch(/^10\.0\.0\.\d:8000$/);
    expect(d.body).toBe(req.body);
    expect(d.targetModel).toBe('m');
    expect(d.responseModel).toBeUndefined();
    expect(d.reason).toMatch(/→ 10\.0\.0\.\d:8000 \(score/);
  });

  it('counts dispatch and completion on the endpoint, once per attempt', async () => {
    const { reg, router } = setup();
    const d = await router.route(request({ model: 'm' }), signal());
    const [a, b] = d.endpoints;
    d.onDispatch(a!);
    expect(reg.endpointState(a!.id)!.inflightRequests).toBe(1);
    d.onComplete(a!, { status: 0, ok: false, error: 'connect' });
    d.onDispatch(b!); // retry on the fallback
    d.onComplete(b!, { status: 200, ok: true, promptTokens: 5, completionTokens: 7 });
    d.onComplete(b!, { status: 200, ok: true }); // a second completion is ignored
    expect(reg.endpointState(a!.id)!.inflightRequests).toBe(0);
    expect(reg.endpointState(b!.id)!.inflightRequests).toBe(0);
  });

  it('a decision counts on its endpoint at once: back-to-back decisions spread before any dispatch', async () => {
    const { reg, router } = setup();
    const decisions = await Promise.all(
      Array.from({ length: 9 }, () => router.route(request({ model: 'm' }), signal())),
    );
    const counts = new Map<string, number>();
    for (const d of decisions) counts.set(d.endpoints[0]!.id, (counts.get(d.endpoints[0]!.id) ?? 0) + 1);
    expect([...counts.values()]).toEqual([3, 3, 3]);
    expect(reg.endpointState('10.0.0.1:8000')!.inflightRequests).toBe(3);
  });

  it('dispatching to a fallback moves the count; a decision never dispatched gives it back after the TTL', async () => {
    const { reg, router } = setup(undefined, { reservationTtlMs: 1 });
    const d = await router.route(request({ model: 'm' }), signal());
    const [primary, fallback] = d.endpoints;
    expect(reg.endpointState(primary!.id)!.inflightRequests).toBe(1);
    d.onDispatch(fallback!);
    expect(reg.endpointState(primary!.id)!.inflightRequests).toBe(0);
    expect(reg.endpointState(fallback!.id)!.inflightRequests).toBe(1);

    const single = setup({ endpoints: [address(7)] }, { reservationTtlMs: 1 });
    const abandoned = await single.router.route(request({ model: 'm' }), signal());
    const state = single.reg.endpointState('10.0.0.7:8000')!;
    expect(state.inflightRequests).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    await single.router.route(request({ model: 'm' }), signal()); // sweeps the expired reservation, reserves its own
    expect(state.inflightRequests).toBe(1);
    abandoned.onDispatch(abandoned.endpoints[0]!); // a late dispatch still counts, as a new attempt
    expect(state.inflightRequests).toBe(2);
    abandoned.onComplete(abandoned.endpoints[0]!, { status: 200, ok: true });
    expect(state.inflightRequests).toBe(1);
  });

  it('rewrites the model to the drawn target and asks for the reverse in responses', async () => {
    const { router } = setup({
      endpoints: [address(1)],
      models: [
        {
          name: 'im',
          modelName: 'food-review',
          criticality: 'Standard',
          targetModels: [{ name: 'food-review-lora', weight: 1 }],
          source: source('InferenceModel', 'im'),
        },
      ],
    });
    const req = request({ model: 'food-review', prompt: 'p', extra: { stream: true, max_tokens: 5 } });
    const d = await router.route(req, signal());
    expect(d.targetModel).toBe('food-review-lora');
    expect(d.responseModel).toEqual({ upstream: 'food-review-lora', client: 'food-review' });
    expect(d.body.toString()).toBe('{"model":"food-review-lora","prompt":"p","stream":true,"max_tokens":5}');
    expect(d.criticality).toBe('Standard');
  });

  it("the proxy's subset hint keeps only endpoints at the listed addresses (any port); an empty hint keeps none", async () => {
    const v6 = { ...address(3), address: 'fe80::3' };
    const { router } = setup({ endpoints: [address(1), address(2), v6] });
    /** Every endpoint (primary and fallbacks) of a decision under `hint`, sorted. */
    const under = async (hint: string[]) =>
      (await router.route({ ...request(), endpointSubset: hint }, signal())).endpoints
        .map((e) => e.id)
        .sort();
    expect(await under(['10.0.0.2:8000'])).toEqual(['10.0.0.2:8000']);
    expect(await under(['10.0.0.2:9999'])).toEqual(['10.0.0.2:8000']);
    expect(await under(['10.0.0.1', '10.0.0.2'])).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(await under(['[10.0.0.1]:8000'])).toEqual(['10.0.0.1:8000']);
    expect(await under(['fe80::3'])).toEqual(['[fe80::3]:8000']);
    expect(await under(['[fe80::3]:8000'])).toEqual(['[fe80::3]:8000']);
    for (const none of [[], ['10.0.0.9:8000'], ['[10.0.0.1'], ['10.0.0.1:80:80']]) {
      expect(await router.route({ ...request(), endpointSubset: none }, signal()).catch(code)).toBe(
        'NO_READY_ENDPOINT',
      );
    }
  });

  it('after a plugin prepares the request (tokenizing), load that arrived meanwhile counts in the decision', async () => {
    const { router, scrape } = setup({ endpoints: [address(1), address(2)] });
    scrape(1, { waiting: 0 });
    scrape(2, { waiting: 1 });
    // without preparation, endpoint 1 (the shorter queue) wins
    expect((await router.route(request({ model: 'm' }), signal())).endpoints[0]!.id).toBe('10.0.0.1:8000');
    const fresh = setup({ endpoints: [address(1), address(2)] });
    fresh.scrape(1, { waiting: 0 });
    fresh.scrape(2, { waiting: 1 });
    // an update that arrives while the request is prepared (an I/O callback in a real gateway)
    vi.spyOn(fresh.router.scheduler, 'prepare').mockImplementation(() => {
      setImmediate(() => fresh.scrape(1, { waiting: 6 }));
      return true;
    });
    const d = await fresh.router.route(request({ model: 'm' }), signal());
    expect(d.endpoints[0]!.id).toBe('10.0.0.2:8000');
  });

  it('NO_READY_ENDPOINT when no endpoint is ready', async () => {
    const { router } = setup({ endpoints: [{ ...address(1), ready: false }] });
    expect(await router.route(request(), signal()).catch(code)).toBe('NO_READY_ENDPOINT');
    const empty = setup({ endpoints: [] });
    expect(await empty.router.route(request(), signal()).catch(code)).toBe('NO_READY_ENDPOINT');
  });

  it('a forced strategy (benchmark baseline) overrides the pool config', async () => {
    const { router } = setup(undefined, { strategy: 'round-robin' });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await router.route(request(), signal())).endpoints[0]!.id);
    expect(seen.slice(0, 3).sort()).toEqual(['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000']);
    expect(seen.slice(3)).toEqual(seen.slice(0, 3));
    expect(() => setup(undefined, { strategy: 'nope' })).toThrow(/unknown scheduler strategy "nope"/);
  });
});

describe('admission', () => {
  const withCriticality = (c: 'Critical' | 'Standard' | 'Sheddable', modelName: string) => ({
    name: modelName,
    modelName,
    criticality: c,
    targetModels: [],
    source: source('InferenceModel', modelName),
  });
  const models = [
    withCriticality('Sheddable', 'batch'),
    withCriticality('Critical', 'chat'),
    withCriticality('Standard', 'std'),
  ];

  it('every endpoint saturated: sheddable requests get 429 at once, counted as shed', async () => {
    const { router, scrape, promRegistry } = setup({ endpoints: [address(1), address(2)], models });
    scrape(1, saturated);
    scrape(2, saturated);
    const err = await router.route(request({ model: 'batch' }), signal()).catch((e: unknown) => e);
    expect(code(err)).toBe('POOL_SATURATED');
    expect((err as GatewayError).status).toBe(429);
    expect(await promRegistry.getSingleMetricAsString('infergate_shed_total')).toMatch(
      /infergate_shed_total\{pool="default\/pool",reason="saturated"\} 1/,
    );
    // one unsaturated endpoint is enough to admit it
    scrape(2, {});
    expect((await router.route(request({ model: 'batch' }), signal())).endpoints[0]!.id).toBe(
      '10.0.0.2:8000',
    );
  });

  it('without flow control (the default), non-sheddable requests go to the servers at once', async () => {
    const { router, scrape } = setup({ endpoints: [address(1), address(2)], models });
    scrape(1, saturated);
    scrape(2, saturated);
    for (const model of ['chat', 'std']) {
      const d = await router.route(request({ model }), signal());
      expect(d.endpoints[0]!.id).toMatch(/^10\.0\.0\.[12]:8000$/);
    }
    expect(router.queueSize).toBe(0);
  });

  it('with flow control, others wait in the queue, by priority, until capacity frees', async () => {
    const { router, scrape } = setup({ endpoints: [address(1)], models }, { flowControl: true });
    scrape(1, saturated);
    const order: string[] = [];
    const std = router.route(request({ model: 'std' }), signal()).then(() => order.push('std'));
    const crit = router.route(request({ model: 'chat' }), signal()).then(() => order.push('chat'));
    await vi.waitFor(() => expect(router.queueSize).toBe(2));
    expect(order).toEqual([]);
    scrape(1, {}); // the next scrape shows room
    await Promise.all([std, crit]);
    expect(order).toEqual(['chat', 'std']);
    expect(router.queueSize).toBe(0);
  });

  it('a completion wakes the queue too (the server may have room again)', async () => {
    const { router, scrape, reg } = setup({ endpoints: [address(1)] }, { flowControl: true });
    const first = await router.route(request({ model: 'm' }), signal());
    first.onDispatch(first.endpoints[0]!);
    scrape(1, saturated);
    const waiting = router.route(request({ model: 'm' }), signal());
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    const s = reg.endpointState('10.0.0.1:8000')!;
    s.applyScrape(metrics({}), performance.now()); // metrics change without a wake…
    first.onComplete(first.endpoints[0]!, { status: 200, ok: true }); // …the completion wakes it
    await waiting;
  });

  it('the queue deadline answers 429 QUEUE_TIMEOUT; a full queue answers 429 at once', async () => {
    const { router, scrape, promRegistry } = setup(
      { endpoints: [address(1)] },
      { queueTimeoutMs: 30, queueSize: 1, flowControl: true },
    );
    scrape(1, saturated);
    const first = router.route(request(), signal()).catch(code);
    expect(await router.route(request(), signal()).catch(code)).toBe('POOL_SATURATED');
    expect(await first).toBe('QUEUE_TIMEOUT');
    const text = await promRegistry.getSingleMetricAsString('infergate_shed_total');
    expect(text).toMatch(/reason="queue-timeout"\} 1/);
    expect(text).toMatch(/reason="queue-full"\} 1/);
  });

  it('a client abort leaves the queue', async () => {
    const { router, scrape } = setup({ endpoints: [address(1)] }, { flowControl: true });
    scrape(1, saturated);
    const ac = new AbortController();
    const p = router.route(request(), ac.signal).catch((e: unknown) => e);
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    ac.abort(new Error('gone'));
    expect(((await p) as Error).message).toBe('gone');
    expect(router.queueSize).toBe(0);
  });
});

describe('reloads', () => {
  it('keep endpoint state and the prefix index of surviving endpoints; forget departed ones', async () => {
    const { reg, router, pool: p } = setup();
    const prompt = text(64 * 20, 1);
    const d = await router.route(request({ model: 'm', prompt }), signal());
    const chosen = d.endpoints[0]!;
    d.onDispatch(chosen);
    const index = router.sharedState('prefix-index:64:256:31250:2000000') as {
      size: number;
      sizeOf(id: string): number;
    };
    expect(index.sizeOf(chosen.id)).toBe(20);

    const others = p.endpoints.filter((e) => `${e.address}:8000` !== chosen.id);
    reg.sync(
      plan({
        ...p,
        endpoints: [address(Number(chosen.id.split('.')[3]!.split(':')[0])), others[0]!, address(9)],
      }),
    );
    expect(reg.get(p.key)).toBe(router);
    expect(reg.endpointState(chosen.id)!.inflightRequests).toBe(1);
    expect(index.sizeOf(chosen.id)).toBe(20);
    expect(reg.endpointState('10.0.0.9:8000')).toBeDefined();

    reg.sync(plan({ ...p, endpoints: [others[0]!] }));
    expect(reg.endpointState(chosen.id)).toBeUndefined();
    expect(index.sizeOf(chosen.id)).toBe(0);
    d.onComplete(chosen, { status: 200, ok: true }); // completion after removal is harmless
  });

  it('a removed pool fails its waiters and disappears', async () => {
    const { reg, router, scrape, pool: p } = setup({ endpoints: [address(1)] }, { flowControl: true });
    scrape(1, saturated);
    const waiting = router.route(request(), signal()).catch(code);
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    reg.sync(plan());
    expect(await waiting).toBe('NO_READY_ENDPOINT');
    expect(reg.get(p.key)).toBeUndefined();
  });

  it('saturation thresholds: the registry option, unless the pool config sets them', () => {
    const {
      reg,
      router,
      pool: p,
    } = setup(undefined, { saturation: { queueDepthThreshold: 2, metricsStalenessThresholdMs: 1000 } });
    expect(router.saturation).toEqual({
      queueDepthThreshold: 2,
      kvCacheUtilThreshold: 0.8,
      metricsStalenessThresholdMs: 1000,
    });
    reg.sync(
      plan({
        ...p,
        pickerConfig: {
          name: 'own',
          plugins: [
            { type: 'saturation-filter', name: 'sat', parameters: { queueDepthThreshold: 9 } },
            { type: 'queue-scorer', name: 'q', parameters: {} },
          ],
          schedulingProfiles: [],
          source: source('EndpointPickerConfig', 'own'),
        },
      }),
    );
    expect(router.saturation).toEqual({
      queueDepthThreshold: 9,
      kvCacheUtilThreshold: 0.8,
      metricsStalenessThresholdMs: 1000,
    });
  });

  it("a profile without a saturation filter takes the picker config's saturationDetector for admission", async () => {
    const {
      reg,
      router,
      pool: p,
    } = setup(undefined, {
      saturation: { queueDepthThreshold: 2, metricsStalenessThresholdMs: 1000 },
    });
    reg.sync(
      plan({
        ...p,
        pickerConfig: {
          name: 'detector-only',
          plugins: [{ type: 'queue-scorer', name: 'q', parameters: {} }],
          schedulingProfiles: [],
          saturationDetector: { queueDepthThreshold: 7, kvCacheUtilThreshold: 0.95 },
          source: source('EndpointPickerConfig', 'detector-only'),
        },
      }),
    );
    expect(router.scheduler.plugins.some((x) => x.type === 'saturation-filter')).toBe(false);
    expect(router.saturation).toEqual({
      queueDepthThreshold: 7,
      kvCacheUtilThreshold: 0.95,
      metricsStalenessThresholdMs: 1000,
    });
  });

  it('a changed picker config takes effect on reload', async () => {
    const { reg, router, pool: p } = setup();
    reg.sync(
      plan({
        ...p,
        pickerConfig: {
          name: 'rr',
          plugins: [{ type: 'round-robin-picker', name: 'rr', parameters: {} }],
          schedulingProfiles: [],
          source: source('EndpointPickerConfig', 'rr'),
        },
      }),
    );
    expect(router.scheduler.profiles[0]!.picker.type).toBe('round-robin-picker');
  });
});

describe('metrics', () => {
  it('exposes decisions, picks by reason, prefix lookups, queue and endpoint gauges', async () => {
    const { router, promRegistry, scrape } = setup();
    scrape(1, {});
    const prompt = text(64 * 10, 2);
    for (let i = 0; i < 3; i++) {
      const d = await router.route(request({ model: 'm', prompt }), signal());
      d.onDispatch(d.endpoints[0]!);
      d.onComplete(d.endpoints[0]!, { status: 200, ok: true });
    }
    const text_ = await promRegistry.metrics();
    expect(text_).toMatch(/infergate_scheduler_duration_seconds_count\{pool="default\/pool"\} 3/);
    expect(text_).toMatch(
      /infergate_scheduler_picks_total\{pool="default\/pool",endpoint="10\.0\.0\.\d:8000",reason="[a-z-]+"\} \d/,
    );
    expect(text_).toMatch(/infergate_prefix_index_lookups_total\{pool="default\/pool"\} 3/);
    expect(text_).toMatch(/infergate_prefix_index_hits_total\{pool="default\/pool"\} 2/);
    expect(text_).toMatch(/infergate_prefix_index_blocks\{pool="default\/pool"\} \d+/);
    expect(text_).toMatch(/infergate_admission_queue_size\{pool="default\/pool"\} 0/);
    expect(text_).toMatch(
      /infergate_pool_endpoint_healthy\{pool="default\/pool",endpoint="10\.0\.0\.1:8000"\} 1/,
    );
    expect(text_).toMatch(
      /infergate_pool_endpoint_metrics_age_seconds\{pool="default\/pool",endpoint="10\.0\.0\.1:8000"\}/,
    );
    expect(text_).toMatch(
      /infergate_pool_endpoint_inflight_requests\{pool="default\/pool",endpoint="10\.0\.0\.2:8000"\} 0/,
    );
  });
});

describe('decisions: what the router accounts per attempt', () => {
  it('tells the scheduler of each first token once per attempt, and of every completion', async () => {
    const { reg, router } = setup();
    const d = await router.route(request({ model: 'm', prompt: 'hello' }), signal());
    const firstToken = vi.spyOn(router.scheduler, 'firstToken');
    const completed = vi.spyOn(router.scheduler, 'completed');
    const [a, b] = d.endpoints;
    d.onFirstToken!(a!); // not dispatched: ignored
    expect(firstToken).not.toHaveBeenCalled();
    d.onDispatch(a!);
    d.onDispatch(b!);
    d.onFirstToken!(b!);
    d.onFirstToken!(b!); // a second first token of the same attempt: ignored
    expect(firstToken.mock.calls.map((c) => c[1].id)).toEqual([b!.id]);
    // Completing b leaves a's attempt alone.
    d.onComplete(b!, { status: 200, ok: true });
    expect(reg.endpointState(a!.id)!.inflightRequests).toBe(1);
    expect(reg.endpointState(b!.id)!.inflightRequests).toBe(0);
    expect(completed.mock.calls.map((c) => [c[1].id, c[2].status])).toEqual([[b!.id, 200]]);
    // A new attempt on b hears its own first token again.
    d.onDispatch(b!);
    d.onFirstToken!(b!);
    d.onFirstToken!(a!);
    expect(firstToken.mock.calls.map((c) => c[1].id)).toEqual([b!.id, b!.id, a!.id]);
  });

  it('frees the tokens the server reports, else the estimate', async () => {
    const { reg, router } = setup({ endpoints: [address(1)] });
    const state = reg.endpointState('10.0.0.1:8000')!;
    const release = vi.spyOn(state, 'release');
    const d = await router.route(request({ model: 'm', prompt: text(400, 3) }), signal());
    const ep = d.endpoints[0]!;
    const estimate = state.inflightPromptTokens;
    expect(estimate).toBeGreaterThan(0);
    d.onDispatch(ep);
    d.onComplete(ep, { status: 200, ok: true, promptTokens: 11, completionTokens: 7 });
    d.onDispatch(ep);
    d.onComplete(ep, { status: 200, ok: true, completionTokens: 5 });
    d.onDispatch(ep);
    d.onComplete(ep, { status: 200, ok: true, promptTokens: 4 });
    expect(release.mock.calls).toEqual([
      [estimate, 18],
      [estimate, estimate + 5],
      [estimate, 4],
    ]);
  });

  it('a dispatch outside the decision counts on that pool endpoint; an unknown one only frees the reservation', async () => {
    const { reg, router } = setup(undefined, { fallbacks: 0 });
    const d = await router.route(request({ model: 'm' }), signal());
    expect(d.endpoints).toHaveLength(1);
    const primary = d.endpoints[0]!;
    const other = router.endpoints.find((e) => e.id !== primary.id)!;
    d.onDispatch(other.endpoint);
    expect(reg.endpointState(primary.id)!.inflightRequests).toBe(0);
    expect(other.inflightRequests).toBe(1);
    d.onComplete(other.endpoint, { status: 200, ok: true });
    expect(other.inflightRequests).toBe(0);

    const e = await router.route(request({ model: 'm' }), signal());
    const reservedOn = reg.endpointState(e.endpoints[0]!.id)!;
    expect(reservedOn.inflightRequests).toBe(1);
    const stranger = { id: '10.9.9.9:8000', address: '10.9.9.9', port: 8000, labels: {} };
    expect(() => e.onDispatch(stranger)).not.toThrow();
    expect(reservedOn.inflightRequests).toBe(0);
    e.onComplete(stranger, { status: 200, ok: true });
    expect(router.endpoints.map((s) => s.inflightRequests)).toEqual([0, 0, 0]);
  });

  it('carries criticality and objective when the request has them', async () => {
    const { router } = setup({
      endpoints: [address(1)],
      objectives: [{ name: 'fast', priority: 5, source: source('InferenceObjective', 'fast') }],
    });
    const plain = await router.route(request({ model: 'm' }), signal());
    expect([plain.criticality, plain.objective, plain.record]).toEqual([undefined, undefined, undefined]);
    const withObjective = await router.route(
      request({ model: 'm', headers: { 'x-gateway-inference-objective': 'fast' } }),
      signal(),
    );
    expect(withObjective.objective).toBe('fast');
    expect(withObjective.criticality).toBe('Critical');
  });

  it('records sampled decisions in the ring: candidates, pick, fallbacks, reason', async () => {
    const ring = new DecisionRing({ always: true });
    const { router } = setup(undefined, { decisions: ring });
    const req = request({ model: 'm', id: 'rec-1' });
    const t0 = performance.now();
    const d = await router.route(req, signal());
    const elapsedUs = (performance.now() - t0) * 1000;
    const [record] = ring.recent(1);
    expect(d.record).toBe(record);
    expect(record).toMatchObject({
      requestId: 'rec-1',
      pool: 'default/pool',
      model: 'm',
      targetModel: 'm',
      objective: undefined,
      criticality: undefined,
      candidates: ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'],
      pick: d.endpoints[0]!.id,
      fallbacks: d.endpoints.slice(1).map((e) => e.id),
    });
    expect(record!.scored.length).toBeGreaterThan(0);
    expect(record!.scored).toContain(d.endpoints[0]!.id);
    expect(d.reason.startsWith(`${record!.reason} → ${record!.pick}`)).toBe(true);
    expect(record!.durationUs).toBeGreaterThanOrEqual(0);
    expect(record!.durationUs).toBeLessThanOrEqual(Math.ceil(elapsedUs));

    // A single candidate is not scored: the record names it as the only one scored.
    const single = setup({ endpoints: [address(4)] }, { decisions: ring });
    await single.router.route(request({ model: 'm' }), signal());
    expect(ring.recent(1)[0]).toMatchObject({
      scored: ['10.0.0.4:8000'],
      pick: '10.0.0.4:8000',
      fallbacks: [],
    });
  });

  it('observes the decision time in seconds, within the time the call took', async () => {
    const { router, promRegistry } = setup();
    const t0 = performance.now();
    await router.route(request({ model: 'm' }), signal());
    const elapsed = (performance.now() - t0) / 1000;
    const metric = await promRegistry.getSingleMetric('infergate_scheduler_duration_seconds')!.get();
    const sum = metric.values.find(
      (v) => (v as { metricName?: string }).metricName === 'infergate_scheduler_duration_seconds_sum',
    )!;
    expect(sum.labels).toEqual({ pool: 'default/pool' });
    expect(sum.value).toBeGreaterThanOrEqual(0);
    expect(sum.value).toBeLessThanOrEqual(elapsed);
  });

  it('keeps the list of reservations bounded when decisions are never dispatched', async () => {
    const { router } = setup({ endpoints: [address(1)] }, { reservationTtlMs: 0 });
    for (let i = 0; i < 3000; i++) await router.route(request({ model: 'm' }), signal());
    // Every earlier reservation has expired (TTL 0) and been swept; the list is compacted as it goes.
    // biome-ignore lint/complexity/useLiteralKeys: a private field, read to check its bound
    expect(router['pending'].length).toBeLessThanOrEqual(2 * 1025);
    expect(router.endpoints[0]!.inflightRequests).toBe(1);
  });
});

describe('router lifecycle', () => {
  it('a closed router refuses at once; messages name the pool', async () => {
    const { router } = setup();
    expect(
      await router.route({ ...request(), endpointSubset: ['10.0.0.9'] }, signal()).catch((e) => e.message),
    ).toBe('No ready endpoint in InferencePool default/pool.');
    router.close();
    const err = await router.route(request(), signal()).catch((e: unknown) => e);
    expect(code(err)).toBe('NO_READY_ENDPOINT');
    expect((err as GatewayError).message).toBe('InferencePool default/pool is gone.');
  });

  it('a subset hint with an unclosed bracket is matched as written', async () => {
    const { router } = setup({ endpoints: [address(1), address(12)] });
    expect(await router.route({ ...request(), endpointSubset: ['[10.0.0.12'] }, signal()).catch(code)).toBe(
      'NO_READY_ENDPOINT',
    );
  });

  it('an endpoint that stops being routable leaves the candidates once the router is told', async () => {
    const { reg, router } = setup({ endpoints: [address(1), address(2)] }, { fallbacks: 5 });
    expect((await router.route(request(), signal())).endpoints).toHaveLength(2);
    const s = reg.endpointState('10.0.0.2:8000')!;
    s.ready = false;
    router.endpointsChanged();
    expect((await router.route(request(), signal())).endpoints.map((e) => e.id)).toEqual(['10.0.0.1:8000']);
  });

  it('keeps its scheduler and the pool-shared plugin state across reloads; rebuilds on a config change', async () => {
    const { reg, router, pool: p } = setup();
    const d = await router.route(request({ model: 'm', prompt: text(64 * 4, 5) }), signal());
    d.onDispatch(d.endpoints[0]!);
    const key = 'prefix-index:64:256:31250:2000000';
    const index = router.sharedState(key) as { size: number };
    expect(index.size).toBeGreaterThan(0);
    expect(router.prefixIndexEntries()).toBe(index.size);
    const scheduler = router.scheduler;
    reg.sync(plan({ ...p }));
    expect(router.scheduler).toBe(scheduler);
    reg.sync(
      plan({
        ...p,
        pickerConfig: {
          name: 'prefix-only',
          plugins: [
            { type: 'prefix-cache-scorer', name: 'p', parameters: {} },
            { type: 'max-score-picker', name: 'm', parameters: {} },
          ],
          schedulingProfiles: [],
          source: source('EndpointPickerConfig', 'prefix-only'),
        },
      }),
    );
    expect(router.scheduler).not.toBe(scheduler);
    expect(router.sharedState(key)).toBe(index);
    expect(router.prefixIndexEntries()).toBe(index.size);
  });

  it('plugin timings are observed only when asked for', async () => {
    for (const pluginTimings of [false, true]) {
      const { router, promRegistry } = setup(undefined, { pluginTimings });
      await router.route(request({ model: 'm' }), signal());
      const text_ = await promRegistry.getSingleMetricAsString('infergate_scheduler_plugin_duration_seconds');
      expect(/_count\{plugin_type="[a-z-]+"\} [1-9]/.test(text_), String(pluginTimings)).toBe(pluginTimings);
    }
  });
});

describe('flow control: the queue', () => {
  it('a request that need not wait is not queued (no queue wait observed)', async () => {
    const { router, promRegistry } = setup({ endpoints: [address(1)] }, { flowControl: true });
    await router.route(request(), signal());
    expect(await promRegistry.getSingleMetricAsString('infergate_admission_queue_wait_seconds')).not.toMatch(
      /_count\{pool="default\/pool"\} [1-9]/,
    );
  });

  it('observes the queue wait in seconds, within the time the request waited', async () => {
    const { router, scrape, promRegistry } = setup({ endpoints: [address(1)] }, { flowControl: true });
    scrape(1, saturated);
    const t0 = performance.now();
    const waiting = router.route(request(), signal());
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    scrape(1, {});
    await waiting;
    const elapsed = (performance.now() - t0) / 1000;
    const metric = await promRegistry.getSingleMetric('infergate_admission_queue_wait_seconds')!.get();
    const sum = metric.values.find(
      (v) => (v as { metricName?: string }).metricName === 'infergate_admission_queue_wait_seconds_sum',
    )!;
    expect(sum.labels).toEqual({ pool: 'default/pool' });
    expect(sum.value).toBeGreaterThan(0);
    expect(sum.value).toBeLessThanOrEqual(elapsed);
  });

  it('a newcomer waits behind the queue even when the endpoints have room again', async () => {
    const { reg, router, scrape } = setup({ endpoints: [address(1)] }, { flowControl: true });
    scrape(1, saturated);
    const order: string[] = [];
    const first = router.route(request(), signal()).then(() => order.push('first'));
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    // Room again, but the router has not been told yet: the queue is not empty.
    reg.endpointState('10.0.0.1:8000')!.applyScrape(metrics({}), performance.now());
    const second = router.route(request(), signal()).then(() => order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
  });

  it('a waiter whose subset hint no longer matches after release gets NO_READY_ENDPOINT', async () => {
    const {
      reg,
      router,
      scrape,
      pool: p,
    } = setup({ endpoints: [address(1), address(2)] }, { flowControl: true });
    scrape(1, saturated);
    scrape(2, saturated);
    const waiting = router
      .route({ ...request(), endpointSubset: ['10.0.0.1'] }, signal())
      .catch((e: unknown) => e);
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    reg.sync(plan({ ...p, endpoints: [address(2)] }));
    scrape(2, {});
    const err = await waiting;
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).message).toBe('No ready endpoint in InferencePool default/pool.');
  });

  it('waiters fail with NO_READY_ENDPOINT when the last endpoint leaves, counted as no shed', async () => {
    const {
      reg,
      router,
      scrape,
      promRegistry,
      pool: p,
    } = setup({ endpoints: [address(1)] }, { flowControl: true });
    scrape(1, saturated);
    const waiting = router.route(request(), signal()).catch(code);
    await vi.waitFor(() => expect(router.queueSize).toBe(1));
    reg.sync(plan({ ...p, endpoints: [] }));
    expect(await waiting).toBe('NO_READY_ENDPOINT');
    expect(await promRegistry.getSingleMetricAsString('infergate_shed_total')).not.toMatch(/reason=/);
  });

  it('a saturated pool sheds with an explanation', async () => {
    const { router, scrape } = setup({
      endpoints: [address(1)],
      objectives: [{ name: 'batch', priority: -1, source: source('InferenceObjective', 'batch') }],
    });
    scrape(1, saturated);
    const err = await router
      .route(request({ headers: { 'x-gateway-inference-objective': 'batch' } }), signal())
      .catch((e: unknown) => e);
    expect((err as GatewayError).message).toBe(
      'Every endpoint of the pool is saturated; sheddable request dropped.',
    );
  });
});

describe('metrics: values', () => {
  const value = (text_: string, series: string) => {
    const line = text_.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it("the reference picker's pool gauges read routable endpoints with fresh metrics", async () => {
    const { reg, router, scrape, promRegistry } = setup({
      key: 'team-a/pool',
      endpoints: [address(1), address(2), address(3), { ...address(4), ready: false }],
    });
    scrape(1, { waiting: 4, kvUsage: 0.2 });
    scrape(2, { waiting: 2, kvUsage: 0.6 });
    scrape(4, { waiting: 100, kvUsage: 1 });
    expect(router.endpoints).toHaveLength(4);
    const t = await promRegistry.metrics();
    expect(value(t, 'inference_pool_ready_pods{name="pool"}')).toBe(3);
    expect(value(t, 'inference_pool_average_queue_size{name="pool"}')).toBe(3);
    expect(value(t, 'inference_pool_average_kv_cache_utilization{name="pool"}')).toBeCloseTo(0.4, 9);
    expect(reg.endpointState('10.0.0.3:8000')!.metrics).toBeUndefined();
  });

  it('chat-template renders of the loaded tokenizers, by path, and whether the compiled form is in use', async () => {
    const { promRegistry } = setup();
    const tok = loadTokenizer(QWEN3_TOKENIZER_DIR) as HfTokenizer;
    const before = { ...tok.chatTemplateStats! };
    const series = (path: string) =>
      `infergate_chat_template_renders_total{tokenizer="${tok.name}",path="${path}"}`;
    const first = await promRegistry.metrics();
    const base = {
      compiled: value(first, series('compiled')) ?? 0,
      library: value(first, series('library')) ?? 0,
    };
    tok.renderChat([{ role: 'user', content: 'hi' }]);
    tok.renderChat([{ role: 'user', content: 'hi again' }], { tools: null });
    // a request the compiled form does not cover (a float added to a string) goes to the library
    tok.renderChat([
      { role: 'system', content: 0.5 as unknown as string },
      { role: 'user', content: 'x' },
    ]);
    const t = await promRegistry.metrics();
    expect(value(t, series('compiled'))! - base.compiled).toBe(
      tok.chatTemplateStats!.compiled - before.compiled,
    );
    expect(tok.chatTemplateStats!.compiled - before.compiled).toBe(2);
    expect(value(t, series('library'))! - base.library).toBe(1);
    expect(value(t, `infergate_chat_template_compiled{tokenizer="${tok.name}"}`)).toBe(1);
  });

  it('metrics age in seconds, only for endpoints with metrics', async () => {
    const { scrape, promRegistry } = setup({ endpoints: [address(1), address(2)] });
    const t0 = performance.now();
    scrape(1, {});
    const t = await promRegistry.getSingleMetricAsString('infergate_pool_endpoint_metrics_age_seconds');
    const elapsed = (performance.now() - t0) / 1000;
    const age = value(
      t,
      'infergate_pool_endpoint_metrics_age_seconds{pool="default/pool",endpoint="10.0.0.1:8000"}',
    );
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(elapsed);
    expect(t).not.toMatch(/endpoint="10\.0\.0\.2:8000"/);
  });

  it('prefix blocks requested and matched; pick series dropped when their endpoint leaves', async () => {
    const {
      reg,
      router,
      promRegistry,
      pool: p,
    } = setup({ endpoints: [address(1), address(2)] }, { pluginTimings: true });
    const prompt = text(64 * 10, 2);
    for (let i = 0; i < 3; i++) {
      const d = await router.route(request({ model: 'm', prompt }), signal());
      d.onDispatch(d.endpoints[0]!);
      d.onComplete(d.endpoints[0]!, { status: 200, ok: true });
    }
    const t = await promRegistry.metrics();
    const requested = value(t, 'infergate_prefix_index_requested_blocks_total{pool="default/pool"}')!;
    const matched = value(t, 'infergate_prefix_index_matched_blocks_total{pool="default/pool"}')!;
    expect(requested).toBeGreaterThanOrEqual(30);
    expect(matched).toBe((2 * requested) / 3);
    // Prefix affinity: the three picks went to one endpoint.
    const picks =
      /infergate_scheduler_picks_total\{pool="default\/pool",endpoint="([0-9.:]+)",reason="[a-z-]+"\} (\d+)/g;
    const picked = [...t.matchAll(picks)];
    expect(picked.map((m) => Number(m[2])).reduce((x, y) => x + y, 0)).toBe(3);
    expect(new Set(picked.map((m) => m[1])).size).toBe(1);
    expect(t).toMatch(
      /infergate_scheduler_plugin_duration_seconds_bucket\{le="0\.001",plugin_type="[a-z-]+"\}/,
    );

    reg.sync(plan({ ...p, endpoints: [address(3)] }));
    const after = await promRegistry.getSingleMetricAsString('infergate_scheduler_picks_total');
    expect(after).not.toContain(picked[0]![1]!);
  });

  it('no prefix match: nothing matched is counted', async () => {
    const { router, promRegistry } = setup({ endpoints: [address(1), address(2)] });
    const d = await router.route(request({ model: 'm', prompt: text(64 * 10, 9) }), signal());
    d.onDispatch(d.endpoints[0]!);
    const t = await promRegistry.metrics();
    expect(value(t, 'infergate_prefix_index_lookups_total{pool="default/pool"}')).toBe(1);
    expect(value(t, 'infergate_prefix_index_requested_blocks_total{pool="default/pool"}')).toBeGreaterThan(0);
    expect(value(t, 'infergate_prefix_index_matched_blocks_total{pool="default/pool"}') ?? 0).toBe(0);
    expect(value(t, 'infergate_prefix_index_hits_total{pool="default/pool"}') ?? 0).toBe(0);
  });
});

describe('registry', () => {
  it('updateEndpoints: a new endpoint set without rebuilding the scheduler', async () => {
    const { reg, router, pool: p } = setup({ endpoints: [address(1)] });
    const scheduler = router.scheduler;
    reg.updateEndpoints!(plan({ ...p, endpoints: [address(1), address(2)] }));
    expect(router.scheduler).toBe(scheduler);
    expect(router.endpoints.map((e) => e.id)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(reg.endpointState('10.0.0.2:8000')).toBeDefined();
  });

  it('an endpoint listed twice is one state; podName only when the plan names one', async () => {
    const { reg, router } = setup({
      endpoints: [address(1), address(1), { ...address(2), podName: undefined }],
    });
    expect(router.endpoints.map((e) => e.id)).toEqual(['10.0.0.1:8000', '10.0.0.2:8000']);
    expect(reg.endpointState('10.0.0.1:8000')!.endpoint.podName).toBe('pod-1');
    expect('podName' in reg.endpointState('10.0.0.2:8000')!.endpoint).toBe(false);
  });

  it('an endpoint shared by two pools wakes both and is kept while either selects it', async () => {
    const { reg, pool: p } = setup({ endpoints: [address(1)] });
    const other = pool({ key: 'default/other', name: 'other', endpoints: [address(1), address(2)] });
    reg.sync(plan(p, other));
    const shared = reg.endpointState('10.0.0.1:8000')!;
    expect(reg.get(other.key)!.endpoints[0]).toBe(shared);
    reg.sync(plan(other));
    expect(reg.endpointState('10.0.0.1:8000')).toBe(shared);
    reg.sync(plan(pool({ ...other, endpoints: [address(2)] })));
    expect(reg.endpointState('10.0.0.1:8000')).toBeUndefined();
  });

  it('defaults: two fallbacks, unknown models passed through, plugin timings off; a strategy error names the known ones', async () => {
    const { router, promRegistry } = setup({ endpoints: [address(1), address(2), address(3), address(4)] });
    const d = await router.route(request({ model: 'no-such-model' }), signal());
    expect(d.endpoints).toHaveLength(3);
    expect(d.targetModel).toBe('no-such-model');
    expect(
      await promRegistry.getSingleMetricAsString('infergate_scheduler_plugin_duration_seconds'),
    ).not.toMatch(/_count/);
    expect(() => setup(undefined, { strategy: 'nope' })).toThrow(/\(known: [a-z-]+(, [a-z-]+)+\)$/);
  });

  it('closing stops every router', async () => {
    const { reg, router } = setup();
    await reg.close();
    expect(await router.route(request(), signal()).catch(code)).toBe('NO_READY_ENDPOINT');
  });
});

describe('settling long prefills with peer gateways', () => {
  const LOAD = {
    inflightRequests: 1,
    inflightPromptTokens: 3000,
    pendingPrefillTokens: 0,
    pendingPrefillRequests: 0,
    longClaims: 1,
  };
  /** Endpoints 2 and 3 busy with prefill, so a request's first pick is endpoint 1. */
  function settling(minTokens = 100) {
    const rig = setup(undefined, {
      peerLoad: { listen: 'tcp://127.0.0.1:9', peers: [], settleWindowMs: 40, settleMinTokens: minTokens },
    });
    for (const i of [2, 3]) rig.reg.endpointState(`10.0.0.${i}:8000`)!.startPrefill(20_000);
    return { ...rig, one: rig.reg.endpointState('10.0.0.1:8000')! };
  }
  const long = () => request({ model: 'm', prompt: 'x'.repeat(4000) }); // ≈ 1,000 tokens

  it('moves off an endpoint a lower-id peer claimed during the window, counting the move', async () => {
    const { router, one, promRegistry } = settling();
    const routed = router.route(long(), signal());
    await new Promise((r) => setTimeout(r, 5));
    expect(one.ownLongClaims).toBe(1); // its own claim, published while it waits
    one.setPeerLoad('0', LOAD); // '0' sorts before any id
    const d = await routed;
    expect(d.endpoints[0]!.id).not.toBe('10.0.0.1:8000');
    expect(one.ownLongClaims).toBe(0);
    expect(one.ownInflightRequests).toBe(0); // the first reservation was given back
    expect(await promRegistry.getSingleMetricAsString('infergate_peer_settle_moves_total')).toMatch(
      /infergate_peer_settle_moves_total\{pool="default\/pool"\} 1/,
    );
  });

  it('keeps its endpoint when the peer that claimed it has the higher id', async () => {
    const { router, one } = settling();
    const routed = router.route(long(), signal());
    await new Promise((r) => setTimeout(r, 5));
    one.setPeerLoad('~', LOAD); // '~' sorts after any id
    const d = await routed;
    expect(d.endpoints[0]!.id).toBe('10.0.0.1:8000');
    d.onDispatch(d.endpoints[0]!);
    d.onFirstToken?.(d.endpoints[0]!);
    expect(one.ownLongClaims).toBe(0); // answered: the claim ends
  });

  it('moves when the lower peer claimed just before the decision; never holds a short prompt', async () => {
    const { router, one } = settling();
    one.setPeerLoad('0', LOAD);
    expect((await router.route(long(), signal())).endpoints[0]!.id).not.toBe('10.0.0.1:8000');
    const short = await router.route(request({ model: 'm', prompt: 'hi' }), signal());
    expect(short.endpoints[0]!.id).toBe('10.0.0.1:8000');
    expect(one.ownLongClaims).toBe(0);
  });
});
