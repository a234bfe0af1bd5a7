/**
 * Binds an Engine to the wall clock: engine time = (wall − origin) / timeScale. On every wake-up
 * it advances the engine to "now" (processing every due step, catching up when late), flushes the
 * sinks that received tokens (one socket write per stream per wake-up), measures how late that was
 * against each step's scheduled wall time, and arms one timer for the next event:
 * setTimeout when it is ≥ 1 ms away, setImmediate when closer (timers have 1 ms granularity and at
 * --time-scale 0.01 a step lasts well under a millisecond).
 */
import { performance } from 'node:perf_hooks';
import type { Engine } from './engine.js';
import type { EngineRequest } from './request.js';

export class EngineDriver {
  readonly engine: Engine;
  readonly timeScale: number;
  private readonly originWall: number;
  private readonly originUnixMs: number;
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

  private readonly spinWait: boolean;

  constructor(engine: Engine, timeScale: number, spinWait = true) {
    if (!(timeScale > 0)) throw new RangeError(`time scale must be > 0, got ${timeScale}`);
    this.engine = engine;
    this.timeScale = timeScale;
    this.spinWait = spinWait;
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

  /** Advances the engine to now, writes what became due, and re-arms the timer. */
  run(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      const next = this.engine.advance(this.engineNow());
      this.flush();
      this.arm(next);
    } finally {
      this.busy = false;
    }
  }

  private flush(): void {
    const e = this.engine;
    const touched = e.touched;
    for (let i = 0; i < touched.length; i++) {
      const req = touched[i]!;
      req.pendingFlush = false;
      req.sink.flush();
    }
    touched.length = 0;
    const n = e.doneEndMs.length;
    if (n === 0) return;
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      const late = now - this.wallAt(e.doneEndMs[i]!);
      e.fidelity.recordEmission(Math.max(late, 0), e.doneTokens[i]!, e.doneFirstTokens[i]!);
    }
    e.resetCompletedSteps();
  }

  private arm(nextEngineMs: number): void {
    if (nextEngineMs === Number.POSITIVE_INFINITY) {
      this.disarm();
      return;
    }
    const at = this.wallAt(nextEngineMs);
    if (at >= this.armedFor && (this.timeout || this.immediate)) return;
    this.disarm();
    this.armedFor = at;
    const delay = at - performance.now();
    if (delay < 1 && this.spinWait) this.immediate = setImmediate(this.onWake);
    else this.timeout = setTimeout(this.onWake, Math.max(1, Math.floor(delay)));
  }

  private disarm(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = null;
    this.immediate = null;
    this.armedFor = Number.POSITIVE_INFINITY;
  }
}
