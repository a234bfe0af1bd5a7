/**
 * Binds an Engine to the wall clock: engine time = (wall − origin) / timeScale. On every wake-up
 * it advances the engine to "now", writes what became due, measures each token's emission error,
 * and arms one timer for the next event.
 *
 * Consistency: the engine may not run ahead of what the process has written by more than
 * `maxEmitLagMs` (wall). A wake-up later than that stretches the engine (Engine.advance's floor):
 * the late step is taken to end at now − maxEmitLagMs, and the steps after it follow from there,
 * so the engine's own timestamps and /metrics agree with what clients observe; the stall is
 * counted (sim_engine_stall_seconds_total) instead of bursting many steps' tokens at once.
 *
 * Writes: a stream's first token, its last token and an injected disconnect point are written at
 * the wake-up that produced them ("urgent"); a stream's other tokens wait until the oldest of them
 * is `pacer.intervalMs` old, then go out in one socket write. Streams wait in a FIFO ordered by
 * their oldest token, so each wake-up writes only the streams that are due: the writes of
 * hundreds of streams spread over the interval instead of bunching into one long pass that would
 * keep the event loop from reading new requests. The interval adapts to load (WritePacer): a
 * lightly loaded simulator writes every step, a heavily loaded one trades per-token timing for CPU.
 *
 * Timers: one per driver. setTimeout (≥ 1 ms, libuv's granularity) by default; with `spinWait`, a
 * step that emits urgent tokens less than 1 ms away is awaited by setImmediate polling (precise,
 * but it keeps a core busy while requests start and finish).
 */
import { performance } from 'node:perf_hooks';
import { Deque } from './deque.js';
import type { Engine } from './engine.js';
import type { EngineRequest } from './request.js';
import type { WritePacer } from './write-pacer.js';

export interface DriverOptions {
  /** Wall seconds per engine second, > 0. */
  timeScale: number;
  /** How far (wall ms) the engine may run ahead of the tokens written before it stretches, > 0. */
  maxEmitLagMs: number;
  /** Poll with setImmediate for urgent steps due in under 1 ms instead of a 1 ms timer. */
  spinWait: boolean;
  /** The process's write interval (shared by its replicas). */
  pacer: WritePacer;
}

export class EngineDriver {
  readonly engine: Engine;
  readonly timeScale: number;
  private readonly maxLagEngineMs: number;
  private readonly spinWait: boolean;
  private readonly pacer: WritePacer;
  private readonly originWall: number;
  private readonly originUnixMs: number;
  /**
   * Streams with tokens waiting for the write interval, each once (`flushDeferred`), ordered by
   * their oldest unwritten token. An entry whose tokens were written meanwhile (urgently: its
   * last token) is stale and dropped when it reaches the front.
   */
  private readonly deferred = new Deque<EngineRequest>(64);
  private timeout: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** Wall time (performance.now ms) the armed timer targets. */
  private armedFor = Number.POSITIVE_INFINITY;
  private busy = false;
  private closed = false;
  private readonly onWake = (): void => {
    this.timeout = null;
    this.immediate = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.run();
  };

  constructor(engine: Engine, opts: DriverOptions) {
    if (!(opts.timeScale > 0)) throw new RangeError(`time scale must be > 0, got ${opts.timeScale}`);
    if (!(opts.maxEmitLagMs > 0)) throw new RangeError(`max emit lag must be > 0, got ${opts.maxEmitLagMs}`);
    this.engine = engine;
    this.timeScale = opts.timeScale;
    this.maxLagEngineMs = opts.maxEmitLagMs / opts.timeScale;
    this.spinWait = opts.spinWait;
    this.pacer = opts.pacer;
    this.originWall = performance.now();
    this.originUnixMs = Date.now();
  }

  /** Current engine time (ms). */
  engineNow(): number {
    return (performance.now() - this.originWall) / this.timeScale;
  }

  /** performance.now() wall time (ms) of an engine instant. */
  wallAt(engineMs: number): number {
    return this.originWall + engineMs * this.timeScale;
  }

  /** Unix time (seconds) of an engine instant. */
  unixSecondsAt(engineMs: number): number {
    return (this.originUnixMs + engineMs * this.timeScale) / 1000;
  }

  submit(req: EngineRequest): void {
    this.engine.submit(req);
    this.run();
  }

  abort(req: EngineRequest): boolean {
    const aborted = this.engine.abort(req);
    if (aborted) this.run();
    return aborted;
  }

  close(): void {
    this.closed = true;
    this.disarm();
  }

  /** Advances the engine to now (stretching past the lag bound), writes what is due, re-arms. */
  run(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      const now = this.engineNow();
      const next = this.engine.advance(now, now - this.maxLagEngineMs);
      this.collect();
      this.arm(next, this.flushDue());
    } finally {
      this.busy = false;
    }
  }

  /** Writes urgent streams now; queues the others for the write interval. */
  private collect(): void {
    const touched = this.engine.touched;
    for (let i = 0; i < touched.length; i++) {
      const req = touched[i]!;
      req.pendingFlush = false;
      if (req.flushUrgent) {
        this.write(req);
      } else if (!req.flushDeferred) {
        req.flushDeferred = true;
        this.deferred.pushBack(req);
      }
    }
    touched.length = 0;
  }

  /**
   * Writes the waiting streams whose oldest token has waited the write interval. Returns the wall
   * time the next one is due, or Infinity.
   */
  private flushDue(): number {
    const q = this.deferred;
    const interval = this.pacer.intervalMs;
    const now = performance.now();
    for (;;) {
      const req = q.peekFront();
      if (req === undefined) return Number.POSITIVE_INFINITY;
      if (req.unflushedCount > 0) {
        const dueAt = this.wallAt(req.unflushedDueMs[0]!) + interval;
        if (dueAt > now) return dueAt;
        this.write(req);
      }
      q.popFront();
      req.flushDeferred = false;
    }
  }

  /** One socket write of everything the request's sink buffered; records each token's error. */
  private write(req: EngineRequest): void {
    req.flushUrgent = false;
    const n = req.unflushedCount;
    req.unflushedCount = 0;
    if (n === 0) return;
    if (req.status === 'aborted') {
      req.sink.flush(); // the client is gone: nothing to measure
      return;
    }
    const fidelity = this.engine.fidelity;
    const t = performance.now();
    fidelity.socketWrites += req.sink.flush();
    const due = req.unflushedDueMs;
    const firstWrite = req.numOutputTokens === n; // nothing of this request was written before
    for (let k = 0; k < n; k++) {
      const late = t - this.wallAt(due[k]!);
      fidelity.recordToken(Math.max(late, 0), firstWrite && k === 0);
    }
  }

  /** Arms the timer for the next step end or the next due write (wall ms), whichever is first. */
  private arm(nextEngineMs: number, flushAt: number): void {
    const stepAt = nextEngineMs === Number.POSITIVE_INFINITY ? nextEngineMs : this.wallAt(nextEngineMs);
    const at = Math.min(stepAt, flushAt);
    if (at === Number.POSITIVE_INFINITY) {
      this.disarm();
      return;
    }
    if (at >= this.armedFor && (this.timeout || this.immediate)) return;
    this.disarm();
    this.armedFor = at;
    const delay = at - performance.now();
    if (this.spinWait && delay < 1 && at === stepAt && this.engine.inFlightEmitsUrgent()) {
      this.immediate = setImmediate(this.onWake);
    } else {
      this.timeout = setTimeout(this.onWake, delay < 1 ? 1 : Math.floor(delay));
    }
  }

  private disarm(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = null;
    this.immediate = null;
    this.armedFor = Number.POSITIVE_INFINITY;
  }
}
