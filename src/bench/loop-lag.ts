/**
 * The load generator watching itself. A request's chunks are timestamped when the event loop gets
 * to them, so a busy loop adds its delay to the times it measures: a lag of L ms can shift one
 * timestamp by up to L ms. What that does to each figure:
 * - TTFT is one interval: distorted when the p99 lag exceeds 10 % of the median TTFT;
 * - TPOT = (last − first token) / (tokens − 1) and E2E span the whole decode: both ends shift by at
 *   most L, so they are distorted when the p99 lag exceeds 10 % of the median decode span
 *   (E2E − TTFT), not of one inter-token gap;
 * - a single ITL gap shifts by up to L, but consecutive gaps compensate (their sum is the decode
 *   span), so only ITL percentiles (median, P99) lose resolution when the lag nears the ITL: that
 *   is a note, not a warning about the run;
 * - whatever the medians, a p99 lag over 10 ms is flagged: below that the error is inside the
 *   run-to-run noise of a shared machine.
 */
import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';

export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * Share of the run the generator's event loop was busy (0–1). A high lag with a low utilisation
   * means the machine was busy (other processes had the CPU), not the generator.
   */
  utilization: number;
  /** CPU the generator process used, % of one core, over the run. */
  cpuPercent: number;
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

  private elu: EventLoopUtilization | undefined;
  private cpu: NodeJS.CpuUsage | undefined;
  private startedAt = 0;

  start(): void {
    this.histogram.reset();
    this.histogram.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.startedAt = performance.now();
  }

  /** Stops sampling and returns the lag seen since start(), in ms. */
  stop(): LoopLag {
    this.histogram.disable();
    const h = this.histogram;
    // Node records the whole timer period (resolution + delay); the lag is what exceeds the period.
    const ms = (ns: number): number =>
      Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - this.resolutionMs) : 0;
    const elapsedMs = performance.now() - this.startedAt;
    const cpu = process.cpuUsage(this.cpu);
    return {
      p50Ms: ms(h.percentile(50)),
      p99Ms: ms(h.percentile(99)),
      maxMs: ms(h.max),
      utilization: performance.eventLoopUtilization(this.elu).utilization,
      cpuPercent: elapsedMs > 0 ? ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 : 0,
    };
  }
}

/** Share of the run above which the generator itself counts as busy. */
const BUSY_UTILIZATION = 0.5;

/** Who to blame for a lag: the generator (busy loop) or the machine (others had the CPU). */
function lagCause(lag: LoopLag): string {
  const busy = `event loop busy ${(lag.utilization * 100).toFixed(0)} % of the run, ${lag.cpuPercent.toFixed(0)} % CPU`;
  return lag.utilization >= BUSY_UTILIZATION
    ? ` (the generator itself was the bottleneck: ${busy}; lower the load or use a larger time scale)`
    : ` (the generator was not the bottleneck — ${busy} — other processes had the CPU: use a larger time scale or a quieter machine)`;
}

/** Median figures of a run in wall ms, as the generator saw them (before any time-scale conversion). */
export interface WallMedians {
  ttftMs: number;
  /** Median of E2E − TTFT over requests with more than one token. */
  decodeSpanMs: number;
  itlMs: number;
}

export interface LagAssessment {
  /** The lag may have distorted these figures. */
  warnings: string[];
  /** Limits of resolution that leave the run's figures standing (ITL percentiles). */
  notes: string[];
}

/** What the generator's own lag means for a run's figures (see the file comment). */
export function assessLag(lag: LoopLag, medians: WallMedians): LagAssessment {
  const warnings: string[] = [];
  const notes: string[] = [];
  const p99 = lag.p99Ms;
  const pct = LAG_WARN_FRACTION * 100;
  const cause = lagCause(lag);
  if (p99 > LAG_WARN_ABSOLUTE_MS) {
    warnings.push(
      `load generator event-loop lag p99 ${p99.toFixed(1)} ms > ${LAG_WARN_ABSOLUTE_MS} ms: every latency may be overstated by that much${cause}`,
    );
  }
  if (medians.ttftMs > 0 && p99 > LAG_WARN_FRACTION * medians.ttftMs) {
    warnings.push(
      `load generator event-loop lag p99 ${p99.toFixed(2)} ms is more than ${pct}% of the median TTFT (${medians.ttftMs.toFixed(2)} ms wall): TTFT figures may be distorted${cause}`,
    );
  }
  if (medians.decodeSpanMs > 0 && p99 > LAG_WARN_FRACTION * medians.decodeSpanMs) {
    warnings.push(
      `load generator event-loop lag p99 ${p99.toFixed(2)} ms is more than ${pct}% of the median decode time (${medians.decodeSpanMs.toFixed(2)} ms wall): TPOT and E2E figures may be distorted${cause}`,
    );
  }
  if (medians.itlMs > 0 && p99 > LAG_WARN_FRACTION * medians.itlMs) {
    notes.push(
      `ITL percentiles (median, P99) are resolved no finer than the generator's lag (p99 ${p99.toFixed(2)} ms vs median ITL ${medians.itlMs.toFixed(2)} ms wall); mean ITL and TPOT average it out`,
    );
  }
  return { warnings, notes };
}
