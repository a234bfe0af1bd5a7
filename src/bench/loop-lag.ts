/**
 * The load generator watching itself. A request's chunks are timestamped when the event loop gets
 * to them, so a busy loop adds its delay to every measured time: a lag of L ms can shift one TTFT,
 * ITL or E2E reading by up to L ms. The figures are flagged when the p99 lag exceeds 10 % of the
 * median it could distort (ITL for TPOT/ITL, TTFT for TTFT), or 10 ms in any case: below that the
 * error is inside the run-to-run noise of a shared machine.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Fraction of a measured median the p99 lag may reach before the figure is flagged. */
export const LAG_WARN_FRACTION = 0.1;
/** Lag (ms) that is flagged whatever the medians. */
export const LAG_WARN_ABSOLUTE_MS = 10;

export class LoopLagMonitor {
  private readonly histogram: IntervalHistogram;

  constructor(private readonly resolutionMs = 2) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): void {
    this.histogram.reset();
    this.histogram.enable();
  }

  /** Stops sampling and returns the lag seen since start(), in ms. */
  stop(): LoopLag {
    this.histogram.disable();
    const h = this.histogram;
    // Node records the whole timer period (resolution + delay); the lag is what exceeds the period.
    const ms = (ns: number): number =>
      Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - this.resolutionMs) : 0;
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}

/**
 * Warnings for a run whose generator lag may have distorted its figures; medians are wall ms (as
 * the generator saw them, before any time-scale conversion).
 */
export function lagWarnings(lag: LoopLag, medianTtftWallMs: number, medianItlWallMs: number): string[] {
  const out: string[] = [];
  const p99 = lag.p99Ms;
  if (p99 > LAG_WARN_ABSOLUTE_MS) {
    out.push(
      `load generator event-loop lag p99 ${p99.toFixed(1)} ms > ${LAG_WARN_ABSOLUTE_MS} ms: every latency may be overstated by that much; lower the load or rerun on a quieter machine`,
    );
  }
  if (medianItlWallMs > 0 && p99 > LAG_WARN_FRACTION * medianItlWallMs) {
    out.push(
      `event-loop lag p99 ${p99.toFixed(2)} ms is more than ${LAG_WARN_FRACTION * 100}% of the median ITL (${medianItlWallMs.toFixed(2)} ms wall): TPOT and ITL figures may be distorted`,
    );
  }
  if (medianTtftWallMs > 0 && p99 > LAG_WARN_FRACTION * medianTtftWallMs) {
    out.push(
      `event-loop lag p99 ${p99.toFixed(2)} ms is more than ${LAG_WARN_FRACTION * 100}% of the median TTFT (${medianTtftWallMs.toFixed(2)} ms wall): TTFT figures may be distorted`,
    );
  }
  return out;
}
