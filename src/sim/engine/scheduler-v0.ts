/**
 * Continuous batching with vLLM 0.7's V0 scheduler semantics (vllm/core/scheduler.py,
 * `Scheduler._schedule_default`, the policy without chunked prefill), over the simulator's paged KV
 * cache with V0's block-manager checks (vllm/core/block_manager.py, `SelfAttnBlockSpaceManager`):
 *
 * - queues: waiting (new and recompute-preempted requests, FCFS), running (in the order they
 *   started), swapped (swap-preempted requests, FIFO);
 * - a step is either **prefills only** or **decodes (+ swap-ins)**: when nothing is swapped, waiting
 *   requests are taken in order while their whole sequence fits the token budget
 *   (max_num_batched_tokens, counted over the step's prefills) and running + new ≤ max_num_seqs and
 *   the cache can hold them above the watermark (`can_allocate`: free − required ≥ watermark × blocks,
 *   required = ⌈tokens / block size⌉, counted as if nothing were cached); the first that does not fit
 *   stops the pass. If any prefill was scheduled, running requests get no token this step
 *   (`_schedule_default`: "Don't schedule decodes if prefills are scheduled");
 * - otherwise every running request decodes one token, oldest first; one that cannot append
 *   (`can_append_slots`: a decode touches one block, so it needs one free block) preempts the newest
 *   running request, and itself when it is the newest left; a preempted request is recomputed from
 *   the front of the waiting queue (RECOMPUTE, vLLM's mode for single-sequence requests) or, with
 *   `preemptionMode: 'swap'`, its blocks move to CPU memory and it joins the swapped queue;
 * - swapped requests come back (oldest first, above the watermark, within the budgets) only in a
 *   step that preempted nothing, and while any is swapped no prefill is scheduled;
 * - LoRA: a request whose adapter would exceed max_loras distinct adapters is skipped and keeps its
 *   place, as in V0 (`leftover_waiting_sequences`).
 * Prefix caching (off by default in V0) shortens a prefill to its uncached tokens; the cache check
 * still counts the whole sequence, as V0's `can_allocate` does.
 */
import type { KvCacheManager, PrefixHit } from '../kv/kv-cache-manager.js';
import { Deque } from './deque.js';
import type { EngineRequest } from './request.js';
import type { Batch, SchedulerEvents, StepScheduler } from './scheduler.js';

/** vLLM 0.7's SelfAttnBlockSpaceManager default (`watermark: float = 0.01`). */
export const V0_WATERMARK = 0.01;

export type PreemptionMode = 'recompute' | 'swap';

export interface V0SchedulerConfig {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Distinct adapters per batch; 0 when LoRA is disabled. */
  maxLoras: number;
  /** Fraction of GPU blocks kept free when admitting prefills and swap-ins (V0: 0.01). */
  watermark: number;
  /** vLLM's --preemption-mode; unset in vLLM means recompute for single-sequence requests. */
  preemptionMode: PreemptionMode;
  /** CPU swap blocks (vLLM: --swap-space GiB per GPU ÷ bytes of one block per GPU). */
  numCpuBlocks: number;
  /** Engine ms to copy one block between GPU and CPU (added to the step that moves it). */
  swapMsPerBlock: number;
}

export class V0Scheduler implements StepScheduler {
  readonly waiting = new Deque<EngineRequest>(64);
  readonly running: EngineRequest[] = [];
  readonly swapped = new Deque<EngineRequest>(16);
  /** Blocks each swapped request holds in CPU memory. */
  private readonly cpuBlocksOf = new Map<EngineRequest, number>();
  private cpuBlocksUsed = 0;
  /** Steps that ran prefills only (and so held every running request back), since start. */
  prefillSteps = 0;
  private readonly cfg: V0SchedulerConfig;
  private readonly kv: KvCacheManager;
  private readonly events: SchedulerEvents;
  private readonly watermarkBlocks: number;
  private readonly skipped: EngineRequest[] = [];
  private readonly scheduledLoras = new Set<number>();

  constructor(cfg: V0SchedulerConfig, kv: KvCacheManager, events: SchedulerEvents) {
    this.cfg = cfg;
    this.kv = kv;
    this.events = events;
    // SelfAttnBlockSpaceManager: self.watermark_blocks = int(watermark * num_gpu_blocks)
    this.watermarkBlocks = Math.floor(cfg.watermark * kv.pool.numBlocks);
  }

  get numSwapped(): number {
    return this.swapped.length;
  }

  /** Fraction of CPU swap blocks in use, 0–1 (vLLM's cpu_cache_usage_perc). */
  cpuUsage(): number {
    return this.cfg.numCpuBlocks > 0 ? this.cpuBlocksUsed / this.cfg.numCpuBlocks : 0;
  }

  add(req: EngineRequest): void {
    req.status = 'waiting';
    this.waiting.pushBack(req);
  }

  remove(req: EngineRequest): void {
    if (req.status === 'running') {
      const i = this.running.indexOf(req);
      if (i >= 0) this.running.splice(i, 1);
    } else if (req.status === 'waiting' || req.status === 'preempted') {
      this.waiting.remove(req);
    } else if (req.status === 'swapped') {
      this.swapped.remove(req);
      this.releaseCpu(req);
    }
    this.kv.free(req);
  }

  hasWork(): boolean {
    return this.running.length > 0 || this.waiting.length > 0 || this.swapped.length > 0;
  }

  hasRunnable(): boolean {
    return this.running.length > 0 || this.swapped.length > 0;
  }

  nextQueuedMs(): number {
    const r = this.waiting.peekFront();
    return r ? r.queuedMs : Number.POSITIVE_INFINITY;
  }

  schedule(now: number, batch: Batch): void {
    batch.clear();
    this.collectRunningLoras();
    // _schedule_default: swapped requests first; prefills only when none is swapped.
    if (this.swapped.length === 0) this.schedulePrefills(now, batch);
    if (batch.size > 0) {
      this.prefillSteps++;
      return;
    }
    const preempted = this.scheduleDecodes(batch);
    if (!preempted) this.scheduleSwapped(batch);
  }

  compactRunning(): void {
    let w = 0;
    for (let r = 0; r < this.running.length; r++) {
      const req = this.running[r]!;
      if (req.status === 'running') this.running[w++] = req;
    }
    this.running.length = w;
  }

  /** `_schedule_prefills` with enable_chunking=False. */
  private schedulePrefills(now: number, batch: Batch): void {
    const cfg = this.cfg;
    const pool = this.kv.pool;
    const bs = this.kv.blockSize;
    let tokens = 0;
    let seqs = this.running.length;
    const skipped = this.skipped;
    skipped.length = 0;
    while (this.waiting.length > 0) {
      const req = this.waiting.peekFront()!;
      if (req.queuedMs > now) break; // still in the API server: not visible to this step
      // can_allocate: the whole sequence, as if nothing were cached, above the watermark. (A
      // sequence that could never fit is refused at start-up: options.ts checks max-model-len.)
      const required = Math.ceil(req.numTokens / bs);
      if (pool.numFreeBlocks() - required < this.watermarkBlocks) break;
      if (this.loraFull(req)) {
        skipped.push(this.waiting.popFront()!);
        continue;
      }
      if (tokens >= cfg.maxNumBatchedTokens) break;
      const hit: PrefixHit | undefined = this.kv.prefixCaching ? this.kv.findCachedPrefix(req) : undefined;
      const cached = hit ? hit.tokens : 0;
      const uncached = req.numTokens - cached; // ≥ 1: a lookup never covers the last token
      if (tokens + uncached > cfg.maxNumBatchedTokens || seqs + 1 > cfg.maxNumSeqs) break;
      req.numComputedTokens = cached;
      if (!this.kv.allocateSlots(req, uncached, hit)) {
        req.numComputedTokens = 0;
        break;
      }
      this.waiting.popFront();
      if (hit && this.kv.prefixCaching) {
        this.events.onPrefixLookup(req.numTokens, hit.tokens);
        if (req.firstScheduledMs < 0) req.numCachedPromptTokens = hit.tokens;
      }
      this.start(req, now);
      if (req.lora && cfg.maxLoras > 0) this.scheduledLoras.add(req.lora.id);
      batch.add(req, uncached);
      tokens += uncached;
      seqs++;
    }
    for (let i = skipped.length - 1; i >= 0; i--) this.waiting.pushFront(skipped[i]!);
    skipped.length = 0;
  }

  /**
   * `_schedule_running` with enable_chunking=False: one token for every running request, oldest
   * first; returns whether anything was preempted.
   */
  private scheduleDecodes(batch: Batch): boolean {
    const pool = this.kv.pool;
    let preempted = false;
    for (let i = 0; i < this.running.length; ) {
      const req = this.running[i]!;
      let fits = true;
      // can_append_slots: a decode touches one block (worst case), which must be free.
      while (pool.numFreeBlocks() < 1) {
        const victim = this.running.pop()!;
        this.preempt(victim, batch);
        preempted = true;
        if (victim === req) {
          fits = false;
          break;
        }
      }
      if (!fits) break;
      this.kv.allocateSlots(req, 1); // at most one new block, and one is free
      batch.add(req, 1);
      i++;
    }
    return preempted;
  }

  /** `_schedule_swapped`: swapped requests back in, oldest first, each decoding one token. */
  private scheduleSwapped(batch: Batch): void {
    const cfg = this.cfg;
    const pool = this.kv.pool;
    let seqs = this.running.length;
    let tokens = batch.size;
    const skipped = this.skipped;
    skipped.length = 0;
    while (this.swapped.length > 0) {
      const req = this.swapped.peekFront()!;
      const blocks = this.cpuBlocksOf.get(req) ?? 0;
      // can_swap_in: its blocks plus the block its next token touches, above the watermark.
      if (pool.numFreeBlocks() - (blocks + 1) < this.watermarkBlocks) break;
      if (this.loraFull(req)) {
        skipped.push(this.swapped.popFront()!);
        continue;
      }
      if (tokens + 1 > cfg.maxNumBatchedTokens || seqs + 1 > cfg.maxNumSeqs) break;
      this.swapped.popFront();
      this.releaseCpu(req);
      pool.allocate(blocks, req.blocks);
      req.numCachedBlocks = 0;
      batch.cost.swapMs += blocks * cfg.swapMsPerBlock;
      this.kv.allocateSlots(req, 1);
      req.status = 'running';
      this.running.push(req);
      if (req.lora && cfg.maxLoras > 0) this.scheduledLoras.add(req.lora.id);
      batch.add(req, 1);
      tokens++;
      seqs++;
    }
    for (let i = skipped.length - 1; i >= 0; i--) this.swapped.pushFront(skipped[i]!);
    skipped.length = 0;
  }

  private start(req: EngineRequest, now: number): void {
    if (req.firstScheduledMs < 0) req.firstScheduledMs = now;
    req.lastScheduledMs = now;
    req.firstTokenSinceScheduledMs = -1;
    req.status = 'running';
    this.running.push(req);
  }

  /**
   * `_preempt`: RECOMPUTE frees the blocks and puts the request at the front of the waiting queue
   * (its prompt and generated tokens are prefilled again); SWAP copies its blocks to CPU memory.
   * Where vLLM would stop the whole engine for lack of swap space ("Aborted due to the lack of CPU
   * swap space"), the simulator recomputes instead.
   */
  private preempt(req: EngineRequest, batch: Batch): void {
    const blocks = req.blocks.length;
    const swap = this.cfg.preemptionMode === 'swap' && this.cpuBlocksUsed + blocks <= this.cfg.numCpuBlocks;
    this.kv.free(req);
    req.numPreemptions++;
    if (swap) {
      this.cpuBlocksUsed += blocks;
      this.cpuBlocksOf.set(req, blocks);
      batch.cost.swapMs += blocks * this.cfg.swapMsPerBlock;
      req.status = 'swapped';
      this.swapped.pushBack(req);
    } else {
      req.status = 'preempted';
      req.numComputedTokens = 0;
      this.waiting.pushFront(req);
    }
    this.events.onPreempt(req);
  }

  private releaseCpu(req: EngineRequest): void {
    const n = this.cpuBlocksOf.get(req);
    if (n === undefined) return;
    this.cpuBlocksUsed -= n;
    this.cpuBlocksOf.delete(req);
  }

  private collectRunningLoras(): void {
    if (this.cfg.maxLoras <= 0) return;
    this.scheduledLoras.clear();
    for (let i = 0; i < this.running.length; i++) {
      const l = this.running[i]!.lora;
      if (l) this.scheduledLoras.add(l.id);
    }
  }

  /** True when the request's adapter would exceed max_loras distinct adapters in the batch. */
  private loraFull(req: EngineRequest): boolean {
    const limit = this.cfg.maxLoras;
    return (
      limit > 0 &&
      req.lora !== null &&
      !this.scheduledLoras.has(req.lora.id) &&
      this.scheduledLoras.size >= limit
    );
  }
}
