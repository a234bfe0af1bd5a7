/**
 * One replica's engine as a discrete-event simulation in engine time (milliseconds, unscaled):
 * steps follow each other back to back while there is work; each step's batch comes from the
 * scheduler and its duration from the timing model. `advance(now, floor)` completes every step
 * that ends by `now` (catching up in a loop when the process woke late), starts the next one, and
 * returns when something is next due. Tokens of a step become visible at the step's end.
 *
 * Stretch: a step may not end (nor an idle engine start one) before `floor`, the earliest engine
 * time whose tokens the driver can still write on time. When the process woke later than that, the
 * step is taken to have lasted until `floor` — the simulated GPU stalled with the process — so
 * every engine timestamp (TTFT, ITL, e2e, queue time) stays within the driver's lag bound of the
 * moment its tokens reach the socket. The added time is counted as stall (`fidelity`).
 *
 * The engine knows nothing about wall time or sockets: EngineDriver maps time, TokenSinks write.
 */
import { SeededRng } from '../../util/rng.js';
import { BlockPool } from '../kv/block-pool.js';
import { KvCacheManager } from '../kv/kv-cache-manager.js';
import type { TimingProfile } from '../profiles.js';
import { stepMs } from '../timing.js';
import type { FidelityStats } from '../vllm-page/fidelity.js';
import type { EngineGauges, VllmMetrics } from '../vllm-page/vllm-metrics.js';
import type { LoraManager } from './lora.js';
import type { EngineRequest, FinishReason } from './request.js';
import { Batch, Scheduler, type StepScheduler } from './scheduler.js';
import { type PreemptionMode, V0Scheduler } from './scheduler-v0.js';

/** Which vLLM engine's scheduler runs: V1 (0.10.x, the default) or V0 (0.7.x). */
export type EngineVersion = 'v0' | 'v1';

/** V0-only settings (vllm/core/block_manager.py, vllm/config.py SchedulerConfig / CacheConfig). */
export interface V0EngineConfig {
  /** Fraction of GPU blocks kept free when admitting (SelfAttnBlockSpaceManager: 0.01). */
  watermark: number;
  preemptionMode: PreemptionMode;
  numCpuBlocks: number;
  swapMsPerBlock: number;
}

/** Receives the engine's history as it happens (the simulator's --trace; never on the hot path otherwise). */
export interface EngineObserver {
  /** After every completed step; `endMs` is its end in engine ms. */
  onStep(engine: Engine, endMs: number, batch: Batch): void;
  /** When a request finishes (its timestamps are final). */
  onFinish(engine: Engine, req: EngineRequest): void;
}

export interface EngineConfig {
  profile: TimingProfile;
  blockSize: number;
  numGpuBlocks: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  chunkedPrefill: boolean;
  prefixCaching: boolean;
  lora: LoraManager | null;
  /** Default v1. */
  engine?: EngineVersion;
  /** Required with engine v0. */
  v0?: V0EngineConfig;
  /** Seeds the step-time jitter. */
  seed: number;
  /** Unix time (seconds) of an engine instant, for lora_requests_info values. */
  unixSecondsAt?: (engineMs: number) => number;
}

export class Engine {
  readonly kv: KvCacheManager;
  readonly scheduler: StepScheduler;
  readonly version: EngineVersion;
  readonly metrics: VllmMetrics;
  readonly fidelity: FidelityStats;
  readonly lora: LoraManager | null;
  /**
   * Requests whose sink received tokens since the driver last drained this list (each once:
   * `pendingFlush` marks membership). Owned by the driver, which empties it after every advance.
   */
  readonly touched: EngineRequest[] = [];
  /** Steps run since start. */
  steps = 0;
  /** Engine ms at which the step in flight (or the last one) started. */
  stepStartMs = 0;
  /** Set by the simulator's --trace. */
  observer: EngineObserver | null = null;
  /**
   * The gauges as vLLM reports them: taken when a step completes (vLLM's scheduler stats travel
   * with each step's outputs), so a request that arrived during the step is not in them until the
   * next step ends. An abort between steps also refreshes them, so an idle replica never shows a
   * request that is gone. `statsVersion` changes whenever they (or the step's counters) do.
   */
  readonly stats: Required<EngineGauges> = { running: 0, waiting: 0, kvUsage: 0, swapped: 0, cpuUsage: 0 };
  statsVersion = 0;

  private readonly profile: TimingProfile;
  private readonly rng: SeededRng;
  private readonly batch = new Batch();
  private readonly unixSecondsAt: (engineMs: number) => number;
  private readonly runningAt = (i: number): EngineRequest | undefined => this.scheduler.running[i];
  private readonly waitingAt = (i: number): EngineRequest | undefined => this.scheduler.waiting.at(i);
  private inFlight = false;
  private stepEndMs = 0;
  private lastEndMs = 0;

  constructor(cfg: EngineConfig, metrics: VllmMetrics, fidelity: FidelityStats) {
    this.profile = cfg.profile;
    this.metrics = metrics;
    this.fidelity = fidelity;
    this.lora = cfg.lora;
    this.rng = new SeededRng(cfg.seed);
    this.unixSecondsAt = cfg.unixSecondsAt ?? ((ms) => ms / 1000);
    this.kv = new KvCacheManager(new BlockPool(cfg.numGpuBlocks), cfg.blockSize, cfg.prefixCaching);
    const events = {
      onPreempt: () => {
        this.metrics.preemptions++;
      },
      onPrefixLookup: (queried: number, hits: number) => {
        this.metrics.prefixQueries += queried;
        this.metrics.prefixHits += hits;
      },
    };
    const maxLoras = cfg.lora ? cfg.lora.maxLoras : 0;
    this.version = cfg.engine ?? 'v1';
    if (this.version === 'v0') {
      if (!cfg.v0) throw new Error('engine v0 needs its v0 settings');
      this.scheduler = new V0Scheduler(
        { maxNumSeqs: cfg.maxNumSeqs, maxNumBatchedTokens: cfg.maxNumBatchedTokens, maxLoras, ...cfg.v0 },
        this.kv,
        events,
      );
    } else {
      this.scheduler = new Scheduler(
        {
          maxNumSeqs: cfg.maxNumSeqs,
          maxNumBatchedTokens: cfg.maxNumBatchedTokens,
          chunkedPrefill: cfg.chunkedPrefill,
          maxLoras,
        },
        this.kv,
        events,
      );
    }
  }

  get numRunning(): number {
    return this.scheduler.running.length;
  }

  get numWaiting(): number {
    return this.scheduler.waiting.length;
  }

  get numSwapped(): number {
    return this.scheduler.numSwapped;
  }

  /** Fraction of CPU swap blocks in use (V0 swapping), 0–1. */
  cpuUsage(): number {
    return this.scheduler.cpuUsage();
  }

  kvUsage(): number {
    return this.kv.pool.usage();
  }

  /** Queues a request (its `queuedMs` says when the scheduler may first see it). */
  submit(req: EngineRequest): void {
    this.scheduler.add(req);
  }

  /** Removes a request that has not finished (client gone); frees its blocks and batch slot. */
  abort(req: EngineRequest): boolean {
    if (req.status === 'finished' || req.status === 'aborted') return false;
    this.scheduler.remove(req);
    req.status = 'aborted';
    this.fidelity.aborted++;
    if (!this.inFlight) this.takeStats(this.lastEndMs);
    return true;
  }

  /** Snapshot of the gauges; waiting counts the requests the scheduler could see at `visibleAt`. */
  private takeStats(visibleAt: number): void {
    const st = this.stats;
    st.running = this.scheduler.running.length;
    let waiting = 0;
    const w = this.scheduler.waiting;
    for (let i = 0; i < w.length; i++) if (w.at(i)!.queuedMs <= visibleAt) waiting++;
    st.waiting = waiting;
    st.kvUsage = this.kv.pool.usage();
    st.swapped = this.scheduler.numSwapped;
    st.cpuUsage = this.scheduler.cpuUsage();
    this.statsVersion++;
  }

  /**
   * Runs the simulation up to engine time `now`: completes due steps, starts the next. A step due
   * before `floor` ends at `floor` instead, and an idle engine with due work starts no earlier
   * than `floor` (stretch, see above); the default never stretches. Returns the engine time of the
   * next event (a step's end, or a queued request becoming visible), or Infinity when idle.
   */
  advance(now: number, floor = Number.NEGATIVE_INFINITY): number {
    for (;;) {
      if (this.inFlight) {
        if (this.stepEndMs > now) return this.stepEndMs;
        if (this.stepEndMs < floor) {
          this.fidelity.recordStall(floor - this.stepEndMs);
          this.stepEndMs = floor;
        }
        this.completeStep();
      }
      const start = this.nextStartMs();
      if (start > now) return start;
      const late = floor - start; // > 0: work waited for the process, not for the engine
      if (!this.startStep(late > 0 ? floor : start)) return Number.POSITIVE_INFINITY;
      if (late > 0) this.fidelity.recordStall(late);
    }
  }

  /**
   * True when the step in flight will emit a first token or a request's last token (predicted
   * from lengths: a stop string can also end a request, unforeseen). For the driver's precise wait.
   */
  inFlightEmitsUrgent(): boolean {
    if (!this.inFlight) return false;
    const b = this.batch;
    for (let i = 0; i < b.size; i++) {
      const req = b.reqs[i]!;
      if (req.numComputedTokens + b.tokens[i]! < req.numTokens) continue; // not its last prefill chunk
      if (req.firstTokenMs < 0 || req.nextTokenIsLast) return true;
    }
    return false;
  }

  /** Engine time the next step can start, or Infinity without work. */
  private nextStartMs(): number {
    if (this.scheduler.hasRunnable()) return this.lastEndMs;
    if (this.scheduler.waiting.length > 0) return Math.max(this.lastEndMs, this.scheduler.nextQueuedMs());
    return Number.POSITIVE_INFINITY;
  }

  private startStep(at: number): boolean {
    const b = this.batch;
    this.scheduler.schedule(at, b);
    // A pass that only preempted schedules nothing: vLLM's next pass (same instant) takes waiting work.
    if (b.size === 0 && this.scheduler.hasWork()) this.scheduler.schedule(at, b);
    if (b.size === 0) {
      this.lastEndMs = at;
      return false;
    }
    const usage = this.kv.pool.usage();
    if (usage > this.fidelity.kvUsagePeak) this.fidelity.kvUsagePeak = usage;
    if (this.lora && b.loras.size > 0) b.cost.loraLoadMs = this.lora.activate(b.loras);
    const dur = stepMs(this.profile, b.cost, this.rng);
    this.metrics.iterationTokens.observe(b.totalTokens());
    this.fidelity.recordStep(dur);
    this.steps++;
    this.inFlight = true;
    this.stepStartMs = at;
    this.stepEndMs = at + dur;
    return true;
  }

  private completeStep(): void {
    const end = this.stepEndMs;
    const b = this.batch;
    const m = this.metrics;
    const touched = this.touched;
    for (let i = 0; i < b.size; i++) {
      const req = b.reqs[i]!;
      if (req.status !== 'running') continue; // aborted while the step ran
      req.numComputedTokens += b.tokens[i]!;
      this.kv.cacheComputed(req);
      if (req.numComputedTokens < req.numTokens) continue; // a prefill chunk, not the last one
      const finish = req.sampleNext();
      m.generationTokens++;
      if (req.firstTokenMs < 0) {
        req.firstTokenMs = end;
        m.promptTokens += req.promptLen;
        m.ttft.observe((end - req.arrivalMs) / 1000);
      } else {
        m.itl.observe((end - req.lastTokenMs) / 1000);
      }
      if (req.firstTokenSinceScheduledMs < 0) req.firstTokenSinceScheduledMs = end;
      req.lastTokenMs = end;
      if (req.sink.onToken(req, req.lastText, finish)) req.flushUrgent = true;
      req.addUnflushed(end);
      if (!req.pendingFlush) {
        req.pendingFlush = true;
        touched.push(req);
      }
      if (finish) this.finish(req, finish, end);
    }
    this.scheduler.compactRunning();
    this.inFlight = false;
    this.lastEndMs = end;
    this.recordLoraInfo(end);
    this.takeStats(this.stepStartMs);
    this.observer?.onStep(this, end, b);
  }

  private finish(req: EngineRequest, reason: FinishReason, end: number): void {
    req.status = 'finished';
    req.finishReason = reason;
    req.finishedMs = end;
    this.kv.free(req);
    const m = this.metrics;
    m.success[reason]++;
    m.e2e.observe((end - req.arrivalMs) / 1000);
    m.queue.observe(Math.max(0, req.lastScheduledMs - req.queuedMs) / 1000);
    m.inference.observe((end - req.lastScheduledMs) / 1000);
    m.prefill.observe((req.firstTokenSinceScheduledMs - req.lastScheduledMs) / 1000);
    m.decode.observe((end - req.firstTokenSinceScheduledMs) / 1000);
    m.promptTokensHist.observe(req.promptLen);
    m.generationTokensHist.observe(req.numOutputTokens);
    m.maxGenerationTokensHist.observe(req.maxTokens);
    if (req.maxTokensParam !== null) m.maxTokensParamHist.observe(req.maxTokensParam);
    m.paramsN.observe(1);
    this.observer?.onFinish(this, req);
  }

  private recordLoraInfo(end: number): void {
    if (!this.lora && this.metrics.version === 'v1') return;
    let running = '';
    let waiting = '';
    if (this.lora) {
      running = adapterList(this.scheduler.running.length, this.runningAt);
      waiting = adapterList(this.scheduler.waiting.length, this.waitingAt, this.stepStartMs);
    }
    this.metrics.setLoraInfo(running, waiting, this.unixSecondsAt(end));
  }
}

/**
 * Distinct adapter names in request order, comma-joined (vLLM's label value); with `visibleAt`,
 * only requests the scheduler could see then (as the step's stats count waiting requests).
 */
function adapterList(
  n: number,
  at: (i: number) => EngineRequest | undefined,
  visibleAt = Number.POSITIVE_INFINITY,
): string {
  let out = '';
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const req = at(i);
    if (!req || req.queuedMs > visibleAt) continue;
    const l = req.lora;
    if (!l || seen.has(l.name)) continue;
    seen.add(l.name);
    out = out.length === 0 ? l.name : `${out},${l.name}`;
  }
  return out;
}
