import { describe, expect, it } from 'vitest';
import { BlockPool } from '../kv/block-pool.js';
import { KvCacheManager } from '../kv/kv-cache-manager.js';
import { EngineRequest, type TokenSink } from './request.js';
import { Batch } from './scheduler.js';
import { V0Scheduler, type V0SchedulerConfig } from './scheduler-v0.js';

const BS = 16;
const nullSink: TokenSink = { onToken: () => false, flush: () => 0 };

let nextId = 0;
function req(name: string, promptLen: number, queuedMs = 0): EngineRequest {
  const base = 100_000 * ++nextId;
  return new EngineRequest({
    id: name,
    promptTokens: Array.from({ length: promptLen }, (_, i) => base + i),
    maxTokens: 1000,
    eos: null,
    stop: [],
    lora: null,
    arrivalMs: 0,
    queuedMs,
    seed: 1,
    sink: nullSink,
    maxTokensParam: null,
    blockSize: BS,
  });
}

function setup(cfg: Partial<V0SchedulerConfig> & { blocks?: number; prefixCaching?: boolean } = {}) {
  const kv = new KvCacheManager(new BlockPool(cfg.blocks ?? 1000), BS, cfg.prefixCaching ?? false);
  const preempted: string[] = [];
  const s = new V0Scheduler(
    {
      maxNumSeqs: cfg.maxNumSeqs ?? 256,
      maxNumBatchedTokens: cfg.maxNumBatchedTokens ?? 8192,
      maxLoras: 0,
      watermark: cfg.watermark ?? 0.01,
      preemptionMode: cfg.preemptionMode ?? 'recompute',
      numCpuBlocks: cfg.numCpuBlocks ?? 4096,
      swapMsPerBlock: cfg.swapMsPerBlock ?? 0.5,
    },
    kv,
    { onPreempt: (r) => preempted.push(r.id), onPrefixLookup: () => {} },
  );
  return { s, kv, preempted, batch: new Batch() };
}

/** Applies a step's results as the engine does: computed tokens, then one sampled token. */
function complete(s: V0Scheduler, kv: KvCacheManager, b: Batch): void {
  for (let i = 0; i < b.size; i++) {
    const r = b.reqs[i]!;
    r.numComputedTokens += b.tokens[i]!;
    kv.cacheComputed(r);
    if (r.numComputedTokens === r.numTokens) r.sampleNext();
  }
  s.compactRunning();
}

/** One step: schedule at `now`, return "name:tokens" per scheduled request, complete it. */
function step(t: ReturnType<typeof setup>, now = 0): string[] {
  t.s.schedule(now, t.batch);
  const out = t.batch.reqs.map((r, i) => `${r.id}:${t.batch.tokens[i]}`);
  complete(t.s, t.kv, t.batch);
  return out;
}

const ids = (rs: Iterable<EngineRequest>): string[] => [...rs].map((r) => r.id);

describe('V0Scheduler (vLLM 0.7 _schedule_default)', () => {
  it('runs waiting prefills in a step of their own, holding every decode back', () => {
    const t = setup();
    t.s.add(req('A', 100));
    expect(step(t)).toEqual(['A:100']); // prefill
    expect(step(t)).toEqual(['A:1']); // decode
    t.s.add(req('B', 50));
    t.s.add(req('C', 30));
    expect(step(t)).toEqual(['B:50', 'C:30']); // prefill-only step: A gets no token
    expect(step(t)).toEqual(['A:1', 'B:1', 'C:1']); // decodes, oldest first
    expect(t.s.prefillSteps).toBe(2);
  });

  it('bounds a prefill step by max_num_batched_tokens, FCFS without skipping ahead', () => {
    const t = setup({ maxNumBatchedTokens: 100 });
    for (const [n, len] of [
      ['A', 60],
      ['B', 50],
      ['C', 30],
    ] as const)
      t.s.add(req(n, len));
    expect(step(t)).toEqual(['A:60']); // 60 + 50 > 100: B waits, and C behind it too
    expect(step(t)).toEqual(['B:50', 'C:30']);
    expect(step(t)).toEqual(['A:1', 'B:1', 'C:1']);
  });

  it('bounds running + new requests by max_num_seqs', () => {
    const t = setup({ maxNumSeqs: 2 });
    t.s.add(req('A', 10));
    step(t);
    t.s.add(req('B', 10));
    t.s.add(req('C', 10));
    expect(step(t)).toEqual(['B:10']); // A running + B = 2
    expect(step(t)).toEqual(['A:1', 'B:1']);
    expect(ids(t.s.waiting.toArray())).toEqual(['C']);
  });

  it('keeps the watermark free when admitting a prefill', () => {
    // 100 blocks, watermark int(0.01 × 100) = 1 block.
    const t = setup({ blocks: 100 });
    t.s.add(req('A', 79 * BS)); // 79 blocks
    t.s.add(req('B', 20 * BS)); // 20 blocks: 21 free − 20 = 1 ≥ 1
    expect(step(t)).toEqual([`A:${79 * BS}`, `B:${20 * BS}`]);
    const u = setup({ blocks: 100 });
    u.s.add(req('A', 80 * BS));
    u.s.add(req('B', 20 * BS)); // 20 free − 20 = 0 < 1: LATER
    expect(step(u)).toEqual([`A:${80 * BS}`]);
    expect(step(u)).toEqual(['A:1']); // B keeps waiting; A decodes
    expect(ids(u.s.waiting.toArray())).toEqual(['B']);
  });

  it('does not schedule a request before it reaches the scheduler', () => {
    const t = setup();
    t.s.add(req('A', 10, 15));
    expect(step(t, 10)).toEqual([]);
    expect(step(t, 15)).toEqual(['A:10']);
  });

  it('preempts the newest running request by recompute once no block is free', () => {
    // 10 blocks, watermark int(0.1) = 0. A and B: 64-token prompts (4 blocks each).
    const t = setup({ blocks: 10 });
    t.s.add(req('A', 64));
    t.s.add(req('B', 64));
    expect(step(t)).toEqual(['A:64', 'B:64']); // 8 blocks held, 2 free
    expect(step(t)).toEqual(['A:1', 'B:1']); // token 65 of each opens a 5th block: 0 free
    expect(t.kv.pool.numFreeBlocks()).toBe(0);
    // can_append_slots counts one touched block per decode, so A (which needs no new block for
    // token 66) still finds 0 free: the newest, B, is preempted; its 5 blocks come back.
    expect(step(t)).toEqual(['A:1']);
    expect(t.preempted).toEqual(['B']);
    const b = t.s.waiting.peekFront()!;
    expect(b.id).toBe('B');
    expect(b.status).toBe('preempted');
    expect(b.numComputedTokens).toBe(0);
    expect(b.numPreemptions).toBe(1);
    expect(ids(t.s.running)).toEqual(['A']);
    // Next step: B's whole sequence (64 prompt + 2 generated) is prefilled again, alone.
    expect(step(t)).toEqual(['B:66']);
    // And with no free block left, A preempts B again (a watermark of 0 lets this ping-pong).
    expect(step(t)).toEqual(['A:1']);
    expect(t.preempted).toEqual(['B', 'B']);
  });

  it('a lone request that cannot append preempts itself', () => {
    const t = setup({ blocks: 5 });
    t.s.add(req('A', 5 * BS - 1)); // 5 blocks, the last with one free slot
    expect(step(t)).toEqual([`A:${5 * BS - 1}`]);
    expect(t.kv.pool.numFreeBlocks()).toBe(0);
    expect(step(t)).toEqual([]); // free 0: A is both the appender and the newest
    expect(t.preempted).toEqual(['A']);
    expect(ids(t.s.waiting.toArray())).toEqual(['A']);
    expect(t.kv.pool.numFreeBlocks()).toBe(5);
  });

  it('puts several recompute victims back oldest first, ahead of new requests', () => {
    const t = setup({ blocks: 12 });
    for (const n of ['A', 'B', 'C']) t.s.add(req(n, 64)); // 4 blocks each: 12 of 12
    expect(step(t)).toEqual(['A:64', 'B:64', 'C:64']);
    t.s.add(req('D', 16));
    // Decode: A finds 0 free → preempts C (4 free), appends (5th block) → B finds 3 free, appends.
    expect(step(t)).toEqual(['A:1', 'B:1']);
    expect(t.preempted).toEqual(['C']);
    expect(ids(t.s.waiting.toArray())).toEqual(['C', 'D']);
  });

  it('swaps victims out with --preemption-mode swap and holds prefills until they are back', () => {
    const t = setup({ blocks: 10, preemptionMode: 'swap', swapMsPerBlock: 0.5 });
    t.s.add(req('A', 64));
    t.s.add(req('B', 64));
    step(t);
    step(t); // 0 free
    t.s.add(req('C', 16));
    t.s.schedule(0, t.batch);
    expect(t.batch.reqs.map((r) => r.id)).toEqual(['A']);
    expect(t.batch.cost.swapMs).toBe(5 * 0.5); // B's 5 blocks copied out
    complete(t.s, t.kv, t.batch);
    expect(ids(t.s.swapped.toArray())).toEqual(['B']);
    expect(t.s.numSwapped).toBe(1);
    expect(t.s.cpuUsage()).toBeCloseTo(5 / 4096);
    const b = t.s.swapped.peekFront()!;
    expect(b.status).toBe('swapped');
    expect(b.numComputedTokens).toBe(65); // its KV is kept, not recomputed
    // 5 free, B needs 5 + 1 > 5: stays swapped; C waits behind it although it would fit.
    expect(step(t)).toEqual(['A:1']);
    expect(ids(t.s.waiting.toArray())).toEqual(['C']);
    // A finishes: its blocks return, B is swapped back in and decodes; C still waits this step.
    t.s.remove(t.s.running[0]!);
    t.s.schedule(0, t.batch);
    expect(t.batch.reqs.map((r) => `${r.id}:${t.batch.tokens[0]}`)).toEqual(['B:1']);
    expect(t.batch.cost.swapMs).toBe(5 * 0.5);
    complete(t.s, t.kv, t.batch);
    expect(t.s.numSwapped).toBe(0);
    expect(t.s.cpuUsage()).toBe(0);
    expect(step(t)).toEqual(['C:16']); // nothing swapped: prefills again
  });

  it('falls back to recompute when the swap space is full', () => {
    const t = setup({ blocks: 10, preemptionMode: 'swap', numCpuBlocks: 4 });
    t.s.add(req('A', 64));
    t.s.add(req('B', 64));
    step(t);
    step(t);
    expect(step(t)).toEqual(['A:1']);
    expect(t.s.numSwapped).toBe(0);
    expect(ids(t.s.waiting.toArray())).toEqual(['B']);
  });

  it('removes an aborted request from whichever queue holds it', () => {
    const t = setup({ blocks: 10, preemptionMode: 'swap' });
    const a = req('A', 64);
    const b = req('B', 64);
    t.s.add(a);
    t.s.add(b);
    step(t);
    step(t);
    step(t); // B swapped out
    t.s.remove(b);
    expect(t.s.numSwapped).toBe(0);
    expect(t.s.cpuUsage()).toBe(0);
    t.s.remove(a);
    expect(t.s.hasWork()).toBe(false);
    expect(t.kv.pool.numFreeBlocks()).toBe(10);
  });

  it('with prefix caching, prefills only the uncached tokens', () => {
    const t = setup({ prefixCaching: true });
    const a = req('A', 64);
    t.s.add(a);
    step(t);
    const twin = new EngineRequest({
      id: 'A2',
      promptTokens: Array.from({ length: 64 }, (_, i) => 100_000 * nextId + i),
      maxTokens: 10,
      eos: null,
      stop: [],
      lora: null,
      arrivalMs: 0,
      queuedMs: 0,
      seed: 1,
      sink: nullSink,
      maxTokensParam: null,
      blockSize: BS,
    });
    t.s.add(twin);
    expect(step(t)).toEqual(['A2:16']); // 3 cached blocks; the last block is computed
  });
});
