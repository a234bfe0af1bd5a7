import { describe, expect, it } from 'vitest';
import { BlockPool } from '../kv/block-pool.js';
import { KvCacheManager } from '../kv/kv-cache-manager.js';
import { type LoraAdapter, LoraManager } from './lora.js';
import { EngineRequest, type TokenSink } from './request.js';
import { Batch, Scheduler, type SchedulerConfig } from './scheduler.js';

const BS = 16;
const nullSink: TokenSink = { onToken: () => false, flush: () => 0 };

let nextId = 0;
function req(promptLen: number, opts: { lora?: LoraAdapter; tokenBase?: number; queuedMs?: number } = {}) {
  const base = opts.tokenBase ?? 100_000 * ++nextId;
  return new EngineRequest({
    id: `r${nextId}`,
    promptTokens: Array.from({ length: promptLen }, (_, i) => base + i),
    maxTokens: 1000,
    eos: null,
    stop: [],
    lora: opts.lora ?? null,
    arrivalMs: 0,
    queuedMs: opts.queuedMs ?? 0,
    seed: 1,
    sink: nullSink,
    maxTokensParam: null,
    blockSize: BS,
  });
}

function setup(cfg: Partial<SchedulerConfig> & { blocks?: number; prefixCaching?: boolean } = {}) {
  const kv = new KvCacheManager(new BlockPool(cfg.blocks ?? 1000), BS, cfg.prefixCaching ?? true);
  const events = { preempted: [] as EngineRequest[], lookups: [] as [number, number][] };
  const s = new Scheduler(
    {
      maxNumSeqs: cfg.maxNumSeqs ?? 256,
      maxNumBatchedTokens: cfg.maxNumBatchedTokens ?? 2048,
      chunkedPrefill: cfg.chunkedPrefill ?? true,
      maxLoras: cfg.maxLoras ?? 0,
    },
    kv,
    {
      onPreempt: (r) => events.preempted.push(r),
      onPrefixLookup: (q, h) => events.lookups.push([q, h]),
    },
  );
  return { s, kv, events, batch: new Batch() };
}

/** Applies a step's results the way the engine does (computed tokens, one sampled token). */
function complete(s: Scheduler, kv: KvCacheManager, b: Batch): void {
  for (let i = 0; i < b.size; i++) {
    const r = b.reqs[i]!;
    r.numComputedTokens += b.tokens[i]!;
    kv.cacheComputed(r);
    if (r.numComputedTokens === r.numTokens) r.sampleNext();
  }
  s.compactRunning();
}

describe('Scheduler (vLLM V1 semantics)', () => {
  it('runs at most max_num_seqs requests; the rest wait in FCFS order', () => {
    const { s, batch } = setup({ maxNumSeqs: 2 });
    const rs = [req(10), req(10), req(10), req(10)];
    for (const r of rs) s.add(r);
    s.schedule(0, batch);
    expect(batch.reqs).toEqual([rs[0], rs[1]]);
    expect(s.running).toHaveLength(2);
    expect(s.waiting.toArray()).toEqual([rs[2], rs[3]]);
  });

  it('shares one token budget per step and chunks long prompts (chunked prefill)', () => {
    const { s, kv, batch } = setup({ maxNumBatchedTokens: 100 });
    const long = req(250);
    const short = req(30);
    s.add(long);
    s.add(short);
    s.schedule(0, batch);
    expect(batch.tokens).toEqual([100]); // the long prompt takes the whole budget
    complete(s, kv, batch);
    s.schedule(1, batch);
    expect(batch.tokens).toEqual([100]);
    complete(s, kv, batch);
    s.schedule(2, batch);
    expect(batch.reqs).toEqual([long, short]);
    expect(batch.tokens).toEqual([50, 30]);
    complete(s, kv, batch);
    // Both now decode one token each.
    s.schedule(3, batch);
    expect(batch.tokens).toEqual([1, 1]);
    expect(batch.cost.decodeSeqs).toBe(2);
    expect(batch.cost.prefillTokens).toBe(0);
  });

  it('skips a prompt larger than the budget when chunked prefill is off', () => {
    const { s, batch } = setup({ maxNumBatchedTokens: 100, chunkedPrefill: false });
    const big = req(150);
    const small = req(20);
    s.add(big);
    s.add(small);
    s.schedule(0, batch);
    expect(batch.reqs).toEqual([small]);
    expect(s.waiting.toArray()).toEqual([big]);
  });

  it('does not schedule requests still in the API server (queued in the future)', () => {
    const { s, batch } = setup();
    const later = req(10, { queuedMs: 50 });
    s.add(later);
    s.schedule(10, batch);
    expect(batch.size).toBe(0);
    s.schedule(50, batch);
    expect(batch.reqs).toEqual([later]);
  });

  it('looks up the prefix cache and computes only the uncached tail', () => {
    const { s, kv, batch, events } = setup();
    const a = req(64, { tokenBase: 7 });
    s.add(a);
    s.schedule(0, batch);
    complete(s, kv, batch);
    const b = req(64, { tokenBase: 7 });
    s.add(b);
    s.schedule(1, batch);
    const i = batch.reqs.indexOf(b);
    // 64 tokens: 3 full blocks hit (the 4th would cover the last token, which must be recomputed).
    expect(batch.tokens[i]).toBe(16);
    expect(b.numCachedPromptTokens).toBe(48);
    expect(events.lookups).toEqual([
      [64, 0],
      [64, 48],
    ]);
  });

  it('preempts the newest running request when the KV cache runs out, and schedules no waiting work that step', () => {
    // 6 blocks of 16 tokens; two prompts of 40 tokens (3 blocks each) fill the cache.
    const { s, kv, batch, events } = setup({ blocks: 6, prefixCaching: false });
    const a = req(40);
    const b = req(40);
    const c = req(10);
    s.add(a);
    s.add(b);
    s.schedule(0, batch);
    expect(batch.reqs).toEqual([a, b]);
    complete(s, kv, batch); // both have 41 tokens now; 48 fit in 3 blocks
    for (let t = 1; t <= 8; t++) {
      s.schedule(t, batch);
      complete(s, kv, batch);
    }
    expect(a.numComputedTokens).toBe(48); // 3 blocks full
    s.add(c);
    // a needs a 4th block: none free, so b (newest) is preempted and goes back to the front.
    s.schedule(9, batch);
    expect(events.preempted).toEqual([b]);
    expect(b.status).toBe('preempted');
    expect(b.numComputedTokens).toBe(0);
    expect(b.blocks).toHaveLength(0);
    expect(batch.reqs).toEqual([a]);
    expect(s.waiting.toArray()).toEqual([b, c]);
  });

  it('preempts the request itself when nothing else can be freed', () => {
    const { s, kv, batch, events } = setup({ blocks: 2, prefixCaching: false });
    const a = req(32);
    s.add(a);
    s.schedule(0, batch);
    complete(s, kv, batch); // 32 computed tokens fill both blocks; the sampled 33rd needs a third
    s.schedule(1, batch);
    expect(events.preempted).toEqual([a]);
    expect(batch.size).toBe(0);
    expect(s.running).toHaveLength(0);
  });

  it('skips waiting requests whose adapter would exceed max_loras; they keep their place', () => {
    const lm = new LoraManager({ maxLoras: 1, maxCpuLoras: 2, loadMs: 10, activateMs: 1 });
    const la = lm.add('a', '/a');
    const lb = lm.add('b', '/b');
    const { s, batch } = setup({ maxLoras: 1 });
    const ra = req(10, { lora: la });
    const rb = req(10, { lora: lb });
    const ra2 = req(10, { lora: la });
    const base = req(10);
    for (const r of [ra, rb, ra2, base]) s.add(r);
    s.schedule(0, batch);
    expect(batch.reqs).toEqual([ra, ra2, base]);
    expect([...batch.loras].map((l) => l.name)).toEqual(['a']);
    expect(s.waiting.toArray()).toEqual([rb]);
  });
});
