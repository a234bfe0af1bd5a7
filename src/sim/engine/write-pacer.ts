/**
 * The write interval shared by the replicas of one simulator process: how long (wall ms) a token
 * that is neither a request's first nor its last may wait in its stream's buffer, so that one
 * socket write carries several tokens. Socket writes, not the engine, dominate the simulator's CPU
 * (each is a syscall plus a wake-up of the reader), so under load writing a stream every few
 * milliseconds instead of every step is what keeps the process ahead of its schedule.
 *
 * Auto mode derives the interval from load, measured every `update()` (the cluster calls it every
 * PACER_PERIOD_MS). It grows ×1.5 (from at least 0.5 ms, up to `maxMs`) while the event loop is
 * busy more than BUSY_HIGH of the time, or the engines lost more than STALL_HIGH of the period to
 * stalls (the process woke late: busy, or starved of CPU by other processes — then per-step
 * timing is lost anyway, and writing less leaves the CPU to the gateway and the load generator).
 * It shrinks ×0.7, down to 0 (every wake-up writes), once the loop is busy less than BUSY_LOW of
 * the time without stalls. A fixed interval disables adaptation (`--write-interval-ms`).
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/** How often the owner calls `update()`, wall ms. */
export const PACER_PERIOD_MS = 100;
/** Event-loop utilisation above which the interval grows, and below which it shrinks. */
const BUSY_HIGH = 0.75;
const BUSY_LOW = 0.5;
/** Fraction of the period lost to stalls (wall) above which the interval grows, and at most which it may shrink. */
const STALL_HIGH = 0.05;
const STALL_LOW = 0.01;
const GROW = 1.5;
const SHRINK = 0.7;
/** Smallest non-zero interval (ms): below it the interval snaps to 0. */
const MIN_MS = 0.5;
/** Default ceiling of the auto interval (wall ms). */
export const DEFAULT_MAX_WRITE_INTERVAL_MS = 16;

export class WritePacer {
  /** Current interval, wall ms (0: write at every wake-up). */
  intervalMs: number;
  /** True when the interval adapts to load. */
  readonly auto: boolean;
  /** Event-loop utilisation (0–1) over the last update period. */
  utilization = 0;
  private readonly maxMs: number;
  private last: EventLoopUtilization;

  /** `fixedMs` null: auto mode, starting at 0. */
  constructor(fixedMs: number | null = null, maxMs = DEFAULT_MAX_WRITE_INTERVAL_MS) {
    this.auto = fixedMs === null;
    this.intervalMs = fixedMs ?? 0;
    this.maxMs = maxMs;
    this.last = performance.eventLoopUtilization();
  }

  /**
   * Re-measures the loop's utilisation since the last call and adapts the interval.
   * `stallFraction`: wall time the most stalled engine lost since the last call ÷ the time elapsed.
   */
  update(stallFraction: number): void {
    const now = performance.eventLoopUtilization();
    this.utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    if (this.auto) {
      this.intervalMs = nextInterval(this.intervalMs, this.utilization, stallFraction, this.maxMs);
    }
  }
}

/** One step of the auto controller (exported for tests). */
export function nextInterval(
  currentMs: number,
  utilization: number,
  stallFraction: number,
  maxMs: number,
): number {
  if (utilization > BUSY_HIGH || stallFraction > STALL_HIGH) {
    return Math.min(maxMs, Math.max(MIN_MS, currentMs * GROW));
  }
  if (utilization < BUSY_LOW && stallFraction <= STALL_LOW) {
    const next = currentMs * SHRINK;
    return next < MIN_MS ? 0 : next;
  }
  return currentMs;
}
