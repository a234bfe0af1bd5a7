/**
 * Continuous batching with vLLM V1's scheduler semantics (vllm/v1/core/sched/scheduler.py):
 * - one token budget per step (max_num_batched_tokens) shared by every scheduled request;
 * - running requests first, in order: each gets its pending tokens (1 while decoding, a prompt
 *   chunk while prefilling), capped by the budget (chunked prefill);
 * - when the KV cache cannot hold a running request's new tokens, the newest running request is
 *   preempted (blocks freed, computed tokens reset: recompute later) and put at the front of the
 *   waiting queue, until the allocation fits or the request preempts itself;
 * - then, only if nothing was preempted, waiting requests in FCFS order while running < max_num_seqs
 *   and budget remains: prefix-cache lookup, allocation (stop at the first that does not fit);
 *   requests whose LoRA adapter would exceed max_loras distinct adapters in the batch are skipped
 *   and stay at the front of the queue;
 * - with chunked prefill off, a waiting request whose remaining prompt exceeds the budget is skipped.
 */
import type { KvCacheManager, PrefixHit } from '../kv/kv-cache-manager.js';
import { StepCost } from '../timing.js';
import { Deque } from './deque.js';
import type { LoraAdapter } from './lora.js';
import type { EngineRequest } from './request.js';

export interface SchedulerConfig {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  chunkedPrefill: boolean;
  /** Distinct adapters per batch; 0 when LoRA is disabled. */
  maxLoras: number;
}

/** Events the scheduler reports (for metrics). */
export interface SchedulerEvents {
  onPreempt(req: EngineRequest): void;
  /** A request was scheduled from the waiting queue after a prefix-cache lookup. */
  onPrefixLookup(queriedTokens: number, hitTokens: number): void;
}

/** The requests of one step and the tokens each computes; reused from step to step. */
export class Batch {
  readonly reqs: EngineRequest[] = [];
  readonly tokens: number[] = [];
  readonly loras = new Set<LoraAdapter>();
  readonly cost = new StepCost();
  size = 0;

  clear(): void {
    this.reqs.length = 0;
    this.tokens.length = 0;
    this.loras.clear();
    this.cost.reset();
    this.size = 0;
  }

  totalTokens(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) n += this.tokens[i]!;
    return n;
  }

  add(req: EngineRequest, tokens: number): void {
    this.reqs.push(req);
    this.tokens.push(tokens);
    this.size++;
    if (req.lora) {
      this.loras.add(req.lora);
      this.cost.lora = true;
    }
    // One token computed right after the last sampled one is a decode; anything else is (re)prefill.
    if (tokens === 1 && req.numOutputTokens > 0 && req.numComputedTokens + 1 === req.numTokens) {
      this.cost.addDecode(req.numTokens);
    } else {
      this.cost.addPrefill(tokens, req.numComputedTokens);
    }
  }
}

/**
 * What the engine needs from a step scheduler: the V1 `Scheduler` below, or vLLM 0.7's V0
 * (`V0Scheduler`, scheduler-v0.ts). `schedule` fills the step's batch; the engine completes it.
 */
export interface StepScheduler {
  /** New and recompute-preempted requests, in scheduling order. */
  readonly waiting: Deque<EngineRequest>;
  /** Requests holding KV blocks and batch slots, oldest first. */
  readonly running: EngineRequest[];
  /** Requests whose KV sits in CPU swap space (V0 only; 0 for V1). */
  readonly numSwapped: number;
  /** Fraction of CPU swap blocks in use, 0–1 (V0 only). */
  cpuUsage(): number;
  add(req: EngineRequest): void;
  /** Removes a request wherever it is and frees its blocks. */
  remove(req: EngineRequest): void;
  hasWork(): boolean;
  /** True when a step can start without waiting for a queued request to become visible. */
  hasRunnable(): boolean;
  /** Queued time of the first waiting request, or Infinity. */
  nextQueuedMs(): number;
  /** Fills `batch` with the step that starts at engine time `now`. */
  schedule(now: number, batch: Batch): void;
  /** Drops requests that are no longer running (finished or aborted) from the running list. */
  compactRunning(): void;
}

export class Scheduler implements StepScheduler {
  readonly waiting = new Deque<EngineRequest>(64);
  readonly numSwapped = 0;
  readonly running: EngineRequest[] = [];
  private readonly cfg: SchedulerConfig;
  private readonly kv: KvCacheManager;
  private readonly events: SchedulerEvents;
  private readonly skipped: EngineRequest[] = [];
  private readonly scheduledLoras = new Set<number>();

  constructor(cfg: SchedulerConfig, kv: KvCacheManager, events: SchedulerEvents) {
    this.cfg = cfg;
    this.kv = kv;
    this.events = events;
  }

  add(req: EngineRequest): void {
    req.status = 'waiting';
    this.waiting.pushBack(req);
  }

  /** Removes a request wherever it is and frees its blocks. */
  remove(req: EngineRequest): void {
    if (req.status === 'running') {
      const i = this.running.indexOf(req);
      if (i >= 0) this.running.splice(i, 1);
    } else if (req.status === 'waiting' || req.status === 'preempted') {
      this.waiting.remove(req);
    }
    this.kv.free(req);
  }

  hasWork(): boolean {
    return this.running.length > 0 || this.waiting.length > 0;
  }

  hasRunnable(): boolean {
    return this.running.length > 0;
  }

  cpuUsage(): number {
    return 0;
  }

  /** Queued time of the first waiting request, or Infinity. */
  nextQueuedMs(): number {
    const r = this.waiting.peekFront();
    return r ? r.queuedMs : Number.POSITIVE_INFINITY;
  }

  /** Fills `batch` with the step that starts at engine time `now`. */
  schedule(now: number, batch: Batch): void {
    batch.clear();
    let budget = this.cfg.maxNumBatchedTokens;
    let preempted = false;

    // 1. Running requests.
    for (let i = 0; i < this.running.length && budget > 0; ) {
      const req = this.running[i]!;
      const want = Math.min(req.numPendingTokens, budget);
      if (want <= 0) {
        i++;
        continue;
      }
      let scheduled = true;
      while (!this.kv.allocateSlots(req, want)) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        preempted = true;
        if (victim === req) {
          scheduled = false;
          break;
        }
      }
      if (!scheduled) break;
      batch.add(req, want);
      budget -= want;
      i++;
    }

    // 2. Waiting requests, only when nothing was preempted this step.
    if (!preempted) this.scheduleWaiting(now, batch, budget);
  }

  private scheduleWaiting(now: number, batch: Batch, budget: number): void {
    const loraLimit = this.cfg.maxLoras;
    if (loraLimit > 0) {
      this.scheduledLoras.clear();
      for (let i = 0; i < this.running.length; i++) {
        const l = this.running[i]!.lora;
        if (l) this.scheduledLoras.add(l.id);
      }
    }
    const skipped = this.skipped;
    skipped.length = 0;
    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.cfg.maxNumSeqs) {
      const req = this.waiting.peekFront()!;
      if (req.queuedMs > now) break; // still in the API server: not visible to this step
      if (
        loraLimit > 0 &&
        req.lora &&
        !this.scheduledLoras.has(req.lora.id) &&
        this.scheduledLoras.size >= loraLimit
      ) {
        skipped.push(this.waiting.popFront()!);
        continue;
      }
      // New and preempted requests (no computed tokens) look up the prefix cache.
      const hit: PrefixHit | undefined =
        req.numComputedTokens === 0 ? this.kv.findCachedPrefix(req) : undefined;
      const computed = hit ? hit.tokens : req.numComputedTokens;
      const remaining = req.numTokens - computed;
      if (!this.cfg.chunkedPrefill && remaining > budget) {
        skipped.push(this.waiting.popFront()!);
        continue;
      }
      const take = Math.min(remaining, budget);
      const prevComputed = req.numComputedTokens;
      req.numComputedTokens = computed;
      if (!this.kv.allocateSlots(req, take, hit)) {
        req.numComputedTokens = prevComputed;
        break;
      }
      this.waiting.popFront();
      if (hit && this.kv.prefixCaching) {
        this.events.onPrefixLookup(req.numTokens, hit.tokens);
        if (req.firstScheduledMs < 0) req.numCachedPromptTokens = hit.tokens;
      }
      if (req.firstScheduledMs < 0) req.firstScheduledMs = now;
      req.lastScheduledMs = now;
      req.firstTokenSinceScheduledMs = -1;
      req.status = 'running';
      this.running.push(req);
      if (req.lora && loraLimit > 0) this.scheduledLoras.add(req.lora.id);
      batch.add(req, take);
      budget -= take;
    }
    for (let i = skipped.length - 1; i >= 0; i--) this.waiting.pushFront(skipped[i]!);
    skipped.length = 0;
  }

  private preempt(req: EngineRequest): void {
    this.kv.free(req);
    req.status = 'preempted';
    req.numComputedTokens = 0;
    req.numPreemptions++;
    this.waiting.pushFront(req);
    this.events.onPreempt(req);
  }

  /** Drops requests that are no longer running (finished or aborted) from the running list. */
  compactRunning(): void {
    let w = 0;
    for (let r = 0; r < this.running.length; r++) {
      const req = this.running[r]!;
      if (req.status === 'running') this.running[w++] = req;
    }
    this.running.length = w;
  }
}
