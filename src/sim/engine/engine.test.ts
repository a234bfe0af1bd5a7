import { describe, expect, it } from 'vitest';
import { PROFILES, type TimingProfile } from '../profiles.js';
import { FidelityStats } from '../vllm-page/fidelity.js';
import { VllmMetrics } from '../vllm-page/vllm-metrics.js';
import { Engine, type EngineConfig } from './engine.js';
import { LoraManager } from './lora.js';
import { EngineRequest, type FinishReason, type TokenSink } from './request.js';

const DEFAULT = PROFILES['sim-default']!;
const NO_JITTER: TimingProfile = { ...DEFAULT, jitter: 0 };

class RecordingSink implements TokenSink {
  readonly texts: string[] = [];
  /** Engine ms of each token (the engine stamps lastTokenMs before calling the sink). */
  readonly times: number[] = [];
  finish: FinishReason | null = null;
  flushes = 0;
  onToken(req: EngineRequest, text: string, finish: FinishReason | null): boolean {
    this.texts.push(text);
    this.times.push(req.lastTokenMs);
    if (finish) this.finish = finish;
    return finish !== null;
  }
  flush(): number {
    this.flushes++;
    return 1;
  }
}

function makeEngine(over: Partial<EngineConfig> = {}) {
  const metrics = new VllmMetrics({
    version: 'v1',
    modelName: 'm',
    maxModelLen: 8192,
    maxLoras: over.lora ? over.lora.maxLoras : null,
    cacheConfig: {
      blockSize: 16,
      numGpuBlocks: 1000,
      numGpuBlocksOverride: null,
      gpuMemoryUtilization: 0.9,
      enablePrefixCaching: true,
    },
  });
  const engine = new Engine(
    {
      profile: NO_JITTER,
      blockSize: 16,
      numGpuBlocks: 1000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 2048,
      chunkedPrefill: true,
      prefixCaching: true,
      lora: null,
      seed: 1,
      ...over,
    },
    metrics,
    new FidelityStats(),
  );
  return { engine, metrics };
}

function makeReq(
  tokens: number[],
  maxTokens: number,
  atMs: number,
  extra: { lora?: EngineRequest['lora']; seed?: number } = {},
) {
  const sink = new RecordingSink();
  const r = new EngineRequest({
    id: 'x',
    promptTokens: tokens,
    maxTokens,
    eos: null,
    stop: [],
    lora: extra.lora ?? null,
    arrivalMs: atMs,
    queuedMs: atMs + NO_JITTER.frontendMs,
    seed: extra.seed ?? 7,
    sink,
    maxTokensParam: maxTokens,
    blockSize: 16,
  });
  return { r, sink };
}

const prompt = (n: number, base = 1) => Array.from({ length: n }, (_, i) => base * 1000 + i);

describe('Engine (discrete-event, engine time)', () => {
  it('serves a lone request: TTFT = frontend + overhead + weights + prompt × per-token prefill', () => {
    const { engine, metrics } = makeEngine();
    const { r, sink } = makeReq(prompt(400), 5, 0);
    engine.submit(r);
    // Catch up from far behind in one call: every step completes, in order.
    expect(engine.advance(1e9)).toBe(Number.POSITIVE_INFINITY);
    expect(sink.texts).toHaveLength(5);
    expect(sink.finish).toBe('length');
    const expectedTtftMs = 18 + 2 + 10 + 400 * 0.25;
    expect(metrics.ttft.sum * 1000).toBeCloseTo(expectedTtftMs, 6);
    expect(metrics.success.length).toBe(1);
    expect(metrics.promptTokens).toBe(400);
    expect(metrics.generationTokens).toBe(5);
    expect(engine.kvUsage()).toBe(0);
  });

  it('returns the next event time and only completes steps that are due', () => {
    const { engine } = makeEngine();
    const { r, sink } = makeReq(prompt(40), 3, 0);
    engine.submit(r);
    const queued = NO_JITTER.frontendMs;
    expect(engine.advance(0)).toBe(queued); // still in the API server
    const firstEnd = engine.advance(queued);
    expect(firstEnd).toBeCloseTo(queued + 2 + 10 + 40 * 0.25, 9);
    expect(sink.texts).toHaveLength(0);
    engine.advance(firstEnd);
    expect(sink.texts).toHaveLength(1);
  });

  it('a repeated long prefix lowers TTFT and counts prefix-cache hits', () => {
    const { engine, metrics } = makeEngine();
    const a = makeReq(prompt(2000, 3), 2, 0);
    engine.submit(a.r);
    engine.advance(1e6);
    const firstTtft = metrics.ttft.sum;
    const b = makeReq([...prompt(1984, 3), ...prompt(16, 9)], 2, 2e6);
    engine.submit(b.r);
    engine.advance(3e6);
    const secondTtft = metrics.ttft.sum - firstTtft;
    expect(metrics.prefixHits).toBe(1984);
    expect(secondTtft).toBeLessThan(firstTtft / 5);
    expect(b.r.numCachedPromptTokens).toBe(1984);
  });

  it('decode steps get longer as the batch grows', () => {
    const itl = (n: number) => {
      const { engine, metrics } = makeEngine();
      for (let i = 0; i < n; i++) engine.submit(makeReq(prompt(32, 10 + i), 20, 0).r);
      engine.advance(1e9);
      return metrics.itl.sum / metrics.itl.count;
    };
    expect(itl(32)).toBeGreaterThan(itl(1));
  });

  it('an abort frees the request’s blocks and batch slot at once', () => {
    const { engine } = makeEngine({ maxNumSeqs: 1 });
    const a = makeReq(prompt(100, 4), 1000, 0);
    const b = makeReq(prompt(100, 5), 3, 0);
    engine.submit(a.r);
    engine.submit(b.r);
    engine.advance(200);
    expect(engine.numRunning).toBe(1);
    expect(engine.numWaiting).toBe(1);
    expect(engine.kvUsage()).toBeGreaterThan(0);
    expect(engine.abort(a.r)).toBe(true);
    expect(engine.numRunning).toBe(0);
    engine.advance(1e9);
    expect(b.sink.finish).toBe('length');
    expect(engine.kvUsage()).toBe(0);
    expect(engine.fidelity.aborted).toBe(1);
    expect(engine.abort(a.r)).toBe(false);
  });

  it('charges LoRA adapter loading to the step that first runs the adapter', () => {
    const lora = new LoraManager({ maxLoras: 1, maxCpuLoras: 1, loadMs: 40, activateMs: 2 });
    const ad = lora.add('sql', '/a');
    const { engine, metrics } = makeEngine({ lora });
    engine.submit(makeReq(prompt(40), 2, 0, { lora: ad }).r);
    engine.advance(1e9);
    const base = 18 + 2 + 10 + 40 * 0.25;
    // In the CPU cache since registration: activation, not a disk load; LoRA step overhead applies.
    expect(metrics.ttft.sum * 1000).toBeCloseTo(18 + (base - 18) * (1 + NO_JITTER.loraStepOverhead) + 2, 6);
    expect(lora.isActive(ad)).toBe(true);
  });

  it('is deterministic for a seed: same tokens, same timings (with jitter)', () => {
    const run = () => {
      const { engine, metrics } = makeEngine({ profile: DEFAULT, seed: 42 });
      const reqs = [0, 1, 2].map((i) => makeReq(prompt(50 + i, 20 + i), 30, i * 5));
      for (const x of reqs) engine.submit(x.r);
      engine.advance(1e9);
      return { texts: reqs.map((x) => x.sink.texts.join('')), itl: metrics.itl.sum, ttft: metrics.ttft.sum };
    };
    expect(run()).toEqual(run());
  });

  it('stops at the simulated EOS, unless it is off', () => {
    const { engine } = makeEngine();
    const sink = new RecordingSink();
    const r = new EngineRequest({
      id: 'e',
      promptTokens: prompt(10),
      maxTokens: 1000,
      eos: { mean: 20, range: 0.5 },
      stop: [],
      lora: null,
      arrivalMs: 0,
      queuedMs: 0,
      seed: 3,
      sink,
      maxTokensParam: null,
      blockSize: 16,
    });
    engine.submit(r);
    engine.advance(1e9);
    expect(sink.finish).toBe('stop');
    expect(sink.texts.length).toBeGreaterThanOrEqual(10);
    expect(sink.texts.length).toBeLessThanOrEqual(30);
  });
});

describe('Engine stats (the gauges /metrics reports, as vLLM takes them)', () => {
  it('are taken when a step ends: a request arriving mid-step shows only after the next step', () => {
    const { engine } = makeEngine({ maxNumSeqs: 1 });
    const a = makeReq(prompt(400, 1), 3, 0);
    engine.submit(a.r);
    const queued = NO_JITTER.frontendMs;
    const firstEnd = engine.advance(queued); // A's prefill step is in flight
    expect(engine.numRunning).toBe(1);
    expect(engine.stats).toMatchObject({ running: 0, waiting: 0 });
    // B arrives while A's prefill runs; with one sequence slot it will wait
    const b = makeReq(prompt(40, 2), 3, queued + 1);
    engine.submit(b.r);
    const before = engine.statsVersion;
    engine.advance(firstEnd);
    expect(engine.statsVersion).toBeGreaterThan(before);
    expect(engine.stats.running).toBe(1);
    expect(engine.stats.waiting).toBe(0); // B was still in the input queue when that step was scheduled
    expect(engine.stats.kvUsage).toBeGreaterThan(0);
    expect(engine.numWaiting).toBe(1); // the live queue has it
    const secondEnd = engine.advance(firstEnd);
    engine.advance(secondEnd);
    expect(engine.stats).toMatchObject({ running: 1, waiting: 1 });
    engine.advance(1e9);
    expect(engine.stats).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
  });

  it('an abort between steps refreshes them, so an idle replica shows no request that is gone', () => {
    const { engine } = makeEngine();
    const a = makeReq(prompt(40), 100, 0);
    engine.submit(a.r);
    const end = engine.advance(NO_JITTER.frontendMs);
    engine.advance(end); // first token out; the next decode step is in flight
    expect(engine.stats.running).toBe(1);
    engine.abort(a.r);
    expect(engine.stats.running).toBe(1); // mid-step: the next step's stats say it
    engine.advance(1e9);
    expect(engine.stats.running).toBe(0);
    const b = makeReq(prompt(40, 5), 100, 2e9);
    engine.submit(b.r);
    engine.abort(b.r); // still queued, engine idle
    expect(engine.stats).toMatchObject({ running: 0, waiting: 0 });
  });
});

describe('Engine stretch (the process woke later than the driver’s lag bound)', () => {
  // A 40-token prompt: prefill step = overhead 2 + weights 10 + 40 × 0.25 = 22 ms, after 18 ms of frontend.
  const queued = NO_JITTER.frontendMs;
  const prefillEnd = queued + 22;

  it('a step due before the floor ends at the floor: the stall is counted and TTFT includes it', () => {
    const { engine, metrics } = makeEngine();
    const { r, sink } = makeReq(prompt(40), 3, 0);
    engine.submit(r);
    expect(engine.advance(queued)).toBeCloseTo(prefillEnd, 9);
    const now = prefillEnd + 1000;
    const floor = now - 5;
    const next = engine.advance(now, floor);
    expect(sink.texts).toHaveLength(1);
    expect(engine.fidelity.stallMsTotal).toBeCloseTo(floor - prefillEnd, 9);
    expect(metrics.ttft.sum * 1000).toBeCloseTo(floor, 9); // arrival at 0
    expect(r.unflushedDueMs[0]).toBeCloseTo(floor, 9);
    // The next step starts at the floor, not back at the planned end.
    expect(next).toBeGreaterThan(now);
    expect(next - floor).toBeLessThan(20);
    engine.advance(1e9);
    expect(sink.texts).toHaveLength(3);
    expect(engine.fidelity.stallMsTotal).toBeCloseTo(floor - prefillEnd, 9); // no floor: no more stall
    expect(metrics.e2e.sum * 1000).toBeGreaterThan(floor);
  });

  it('an idle engine with due work starts it no earlier than the floor', () => {
    const { engine } = makeEngine();
    const { r } = makeReq(prompt(40), 2, 0);
    engine.submit(r);
    expect(engine.advance(1000, 995)).toBeCloseTo(995 + 22, 9);
    expect(engine.fidelity.stallMsTotal).toBeCloseTo(995 - queued, 9);
  });

  it('catching up without a floor never stalls', () => {
    const { engine } = makeEngine();
    const { r, sink } = makeReq(prompt(40), 20, 0);
    engine.submit(r);
    engine.advance(1e9);
    expect(sink.texts).toHaveLength(20);
    expect(engine.fidelity.stallMsTotal).toBe(0);
    expect(engine.fidelity.plannedMsTotal).toBeGreaterThan(0);
  });

  it('flags steps that emit a first or a last token, and keeps unwritten tokens’ due times', () => {
    const { engine } = makeEngine();
    const { r } = makeReq(prompt(40), 4, 0);
    engine.submit(r);
    const urgent: boolean[] = [];
    const ends: number[] = [];
    for (let t = engine.advance(queued); t !== Number.POSITIVE_INFINITY; t = engine.advance(t)) {
      urgent.push(engine.inFlightEmitsUrgent());
      ends.push(t);
    }
    expect(urgent).toEqual([true, false, false, true]);
    expect(r.unflushedCount).toBe(4);
    expect(Array.from(r.unflushedDueMs.subarray(0, 4))).toEqual(ends);
    expect(engine.touched).toEqual([r]); // once, however many tokens
    expect(r.flushUrgent).toBe(true); // RecordingSink asks for a write on the last token
  });
});

describe('Engine with vLLM 0.7’s V0 scheduler (engine v0)', () => {
  const V0 = {
    engine: 'v0' as const,
    chunkedPrefill: false,
    prefixCaching: false,
    maxNumBatchedTokens: 8192,
    v0: { watermark: 0.01, preemptionMode: 'recompute' as const, numCpuBlocks: 64, swapMsPerBlock: 0 },
  };

  it.each([
    ['v0', true],
    ['v1', false],
  ] as const)('%s: a new prompt’s prefill step holds the running request back: %s', (version, held) => {
    const { engine } = makeEngine(version === 'v0' ? V0 : {});
    const a = makeReq(prompt(100, 1), 50, 0);
    const aTimes = a.sink.times;
    engine.submit(a.r);
    engine.advance(200); // A prefilled and decoding
    const b = makeReq(prompt(2000, 2), 2, 200);
    engine.submit(b.r);
    engine.advance(1e9);
    expect(aTimes).toHaveLength(50);
    // V0: B's 2000-token prompt runs in a step of its own (≥ 2000 × 0.25 ms on sim-default), and
    // A's next token comes after it. V1 (chunked prefill, budget 2048) decodes A in the same step.
    const bFirst = b.r.firstTokenMs;
    expect(aTimes.includes(bFirst)).toBe(!held);
    const gapOverB = aTimes.find((t) => t >= bFirst)! - aTimes.filter((t) => t < bFirst).pop()!;
    if (held) expect(gapOverB).toBeGreaterThan(2000 * 0.25);
  });

  it('reports swapped requests and CPU cache use while a victim is swapped out', () => {
    const { engine } = makeEngine({
      ...V0,
      numGpuBlocks: 10,
      v0: { ...V0.v0, preemptionMode: 'swap' as const, numCpuBlocks: 8 },
    });
    const a = makeReq(prompt(64, 1), 40, 0);
    const b = makeReq(prompt(64, 2), 40, 0);
    engine.submit(a.r);
    engine.submit(b.r);
    let swappedSeen = 0;
    let cpuSeen = 0;
    for (let t = 0; t < 1e5; t += 5) {
      engine.advance(t);
      swappedSeen = Math.max(swappedSeen, engine.numSwapped);
      cpuSeen = Math.max(cpuSeen, engine.cpuUsage());
    }
    expect(swappedSeen).toBe(1);
    expect(cpuSeen).toBeGreaterThan(0);
    expect(a.sink.finish).toBe('length');
    expect(b.sink.finish).toBe('length');
    expect(engine.numSwapped).toBe(0);
    expect(engine.kvUsage()).toBe(0);
  });
});
