/**
 * The simulator's own health: how late it emits tokens against the engine's record, how much the
 * engine had to stretch its time to stay consistent with what was emitted, how busy and lagged the
 * process is. Exposed on /metrics under `sim_` names (never `vllm:`), in wall-clock seconds unless
 * the name says engine.
 *
 * Timing error of a token = wall time its bytes were handed to the socket − the wall time of its
 * step's end in the engine's record (engine time mapped by --time-scale); ≥ 0 by construction.
 * Stretch = (planned step time + stall) / planned step time: how much slower than its timing model
 * the engine ran because the process could not keep up (1 = never).
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { WritePacer } from '../engine/write-pacer.js';
import { Histogram } from './histogram.js';
import { goFloat, header } from './prom-format.js';

/** Wall-clock seconds, 50 µs … 5 s; fine around the 1 ms timer grain where most errors fall. */
export const EMIT_ERROR_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015,
  0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Engine seconds, 1 ms … 10 s. */
const STEP_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10,
];

export interface LoopLagSnapshot {
  /** Seconds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  count: number;
}

/** One event-loop delay monitor per process, shared by every replica in it (reference-counted). */
let monitor: IntervalHistogram | null = null;
let monitorUsers = 0;
/** Sampling period of the monitor, ms. Its samples are whole periods: the lag is what exceeds one. */
const LOOP_MONITOR_RESOLUTION_MS = 1;

export function acquireLoopMonitor(): void {
  if (monitorUsers++ === 0) {
    monitor = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    monitor.enable();
  }
}

export function releaseLoopMonitor(): void {
  if (monitorUsers > 0 && --monitorUsers === 0 && monitor) {
    monitor.disable();
    monitor = null;
  }
}

/** A sample of monitorEventLoopDelay (ns, one resolution period plus the delay) as lag seconds. */
function lagSeconds(ns: number): number {
  const s = ns / 1e9 - LOOP_MONITOR_RESOLUTION_MS / 1000;
  return Math.max(s, 0);
}

/**
 * Event-loop delay since the monitor started (seconds): how much later than due a 1 ms timer ran;
 * zeros when no monitor runs.
 */
export function loopLag(): LoopLagSnapshot {
  const m = monitor;
  if (!m || m.count === 0) return { p50: 0, p99: 0, max: 0, mean: 0, count: 0 };
  return {
    p50: lagSeconds(m.percentile(50)),
    p99: lagSeconds(m.percentile(99)),
    max: lagSeconds(m.max),
    mean: lagSeconds(m.mean),
    count: m.count,
  };
}

/** The falling-behind window of one replica (see FidelityStats.takeWindow). */
export interface FidelityWindow {
  /** Worst emission error of any token / of a first token, wall ms. */
  maxErrorMs: number;
  maxFirstTokenErrorMs: number;
  /** Planned step time and stall added by stretching, engine ms. */
  plannedMs: number;
  stallMs: number;
  /** (planned + stall) / planned; 1 without steps. */
  stretch: number;
  steps: number;
}

export class FidelityStats {
  readonly tokenError = new Histogram(EMIT_ERROR_BUCKETS);
  readonly firstTokenError = new Histogram(EMIT_ERROR_BUCKETS);
  readonly stepSeconds = new Histogram(STEP_BUCKETS);
  maxErrorSeconds = 0;
  aborted = 0;
  readonly injected = new Map<string, number>();
  fallingBehind = 0;
  /** Monitor windows (1 s each) in which this replica was falling behind, since start. */
  fallingBehindSeconds = 0;
  /** Highest KV cache usage (0–1) after any step's allocation, since start. */
  kvUsagePeak = 0;
  /** Σ planned step durations and Σ stall added by stretching, engine ms, since start. */
  plannedMsTotal = 0;
  stallMsTotal = 0;
  /** Socket writes of streamed output, since start. */
  socketWrites = 0;
  /** Stretch over the last falling-behind window (set by the cluster's monitor). */
  lastStretch = 1;
  /** Window for the falling-behind check, reset by `takeWindow`. */
  private windowMaxErrorMs = 0;
  private windowMaxFirstErrorMs = 0;
  private windowSteps = 0;
  private windowPlannedMs = 0;
  private windowStallMs = 0;

  /** One token written `errorMs` wall ms after its step's end; `first`: the request's first token. */
  recordToken(errorMs: number, first: boolean): void {
    const s = errorMs / 1000;
    this.tokenError.observe(s);
    if (s > this.maxErrorSeconds) this.maxErrorSeconds = s;
    if (errorMs > this.windowMaxErrorMs) this.windowMaxErrorMs = errorMs;
    if (first) {
      this.firstTokenError.observe(s);
      if (errorMs > this.windowMaxFirstErrorMs) this.windowMaxFirstErrorMs = errorMs;
    }
  }

  /** A step the timing model gave `engineMs`. */
  recordStep(engineMs: number): void {
    this.stepSeconds.observe(engineMs / 1000);
    this.plannedMsTotal += engineMs;
    this.windowSteps++;
    this.windowPlannedMs += engineMs;
  }

  /** Engine time added because the process was late (see Engine.advance). */
  recordStall(engineMs: number): void {
    this.stallMsTotal += engineMs;
    this.windowStallMs += engineMs;
  }

  countInjected(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  /** The window's figures, then resets it. */
  takeWindow(): FidelityWindow {
    const w: FidelityWindow = {
      maxErrorMs: this.windowMaxErrorMs,
      maxFirstTokenErrorMs: this.windowMaxFirstErrorMs,
      plannedMs: this.windowPlannedMs,
      stallMs: this.windowStallMs,
      stretch:
        this.windowPlannedMs > 0 ? (this.windowPlannedMs + this.windowStallMs) / this.windowPlannedMs : 1,
      steps: this.windowSteps,
    };
    this.windowMaxErrorMs = 0;
    this.windowMaxFirstErrorMs = 0;
    this.windowSteps = 0;
    this.windowPlannedMs = 0;
    this.windowStallMs = 0;
    return w;
  }

  /** The `sim_` metrics; `pacer` (the process's write pacer) adds the write interval and loop utilisation. */
  render(labels: string, timeScale: number, pacer?: WritePacer): string {
    const l = `{${labels}}`;
    const lag = loopLag();
    const cpu = process.cpuUsage();
    let out =
      `${header('sim_time_scale', 'gauge', 'Wall seconds per engine second (--time-scale).')}sim_time_scale${l} ${goFloat(timeScale)}\n` +
      header(
        'sim_token_emit_error_seconds',
        'histogram',
        'Wall time a token was written minus the wall time of its step end in the engine record.',
      ) +
      this.tokenError.render('sim_token_emit_error_seconds', labels) +
      header(
        'sim_first_token_emit_error_seconds',
        'histogram',
        'Emission error of first tokens (wall seconds).',
      ) +
      this.firstTokenError.render('sim_first_token_emit_error_seconds', labels) +
      `${header('sim_token_emit_error_max_seconds', 'gauge', 'Largest emission error seen (wall seconds).')}sim_token_emit_error_max_seconds${l} ${goFloat(this.maxErrorSeconds)}\n` +
      header(
        'sim_engine_step_seconds',
        'histogram',
        'Duration of engine steps as the timing model planned them, in engine (unscaled) seconds.',
      ) +
      this.stepSeconds.render('sim_engine_step_seconds', labels) +
      `${header('sim_engine_busy_seconds_total', 'counter', 'Planned duration of all engine steps (engine seconds).')}sim_engine_busy_seconds_total${l} ${goFloat(this.plannedMsTotal / 1000)}\n` +
      `${header('sim_engine_stall_seconds_total', 'counter', 'Engine time added because the process could not emit on schedule (engine seconds).')}sim_engine_stall_seconds_total${l} ${goFloat(this.stallMsTotal / 1000)}\n` +
      `${header('sim_engine_stretch', 'gauge', 'Engine slowdown over the last second: (planned + stall) / planned; 1 = on schedule.')}sim_engine_stretch${l} ${goFloat(this.lastStretch)}\n` +
      `${header('sim_socket_writes_total', 'counter', 'Socket writes of streamed output (one write carries one or more tokens).')}sim_socket_writes_total${l} ${goFloat(this.socketWrites)}\n` +
      header(
        'sim_event_loop_lag_seconds',
        'summary',
        'Event-loop delay of the simulator process (wall seconds).',
      ) +
      `sim_event_loop_lag_seconds{${labels},quantile="0.5"} ${goFloat(lag.p50)}\n` +
      `sim_event_loop_lag_seconds{${labels},quantile="0.99"} ${goFloat(lag.p99)}\n` +
      `sim_event_loop_lag_seconds_count${l} ${goFloat(lag.count)}\n` +
      `sim_event_loop_lag_seconds_sum${l} ${goFloat(lag.mean * lag.count)}\n` +
      `${header('sim_event_loop_lag_max_seconds', 'gauge', 'Largest event-loop delay seen (wall seconds).')}sim_event_loop_lag_max_seconds${l} ${goFloat(lag.max)}\n` +
      `${header('sim_process_cpu_seconds_total', 'counter', 'CPU time of the simulator process, shared by its replicas (user + system seconds).')}sim_process_cpu_seconds_total${l} ${goFloat((cpu.user + cpu.system) / 1e6)}\n` +
      `${header('sim_kv_cache_usage_peak', 'gauge', 'Highest vllm:kv_cache_usage_perc reached by any step since start.')}sim_kv_cache_usage_peak${l} ${goFloat(this.kvUsagePeak)}\n` +
      `${header('sim_falling_behind', 'gauge', '1 while the engine runs slower than its timing model or emits first tokens late.')}sim_falling_behind${l} ${goFloat(this.fallingBehind)}\n` +
      `${header('sim_falling_behind_seconds_total', 'counter', 'Seconds (monitor windows) in which the replica was falling behind.')}sim_falling_behind_seconds_total${l} ${goFloat(this.fallingBehindSeconds)}\n` +
      `${header('sim_requests_aborted_total', 'counter', 'Requests aborted because the client went away (or injected disconnects).')}sim_requests_aborted_total${l} ${goFloat(this.aborted)}\n`;
    if (pacer) {
      out +=
        `${header('sim_write_interval_seconds', 'gauge', 'How long a non-urgent token may wait to share a socket write (wall seconds).')}sim_write_interval_seconds${l} ${goFloat(pacer.intervalMs / 1000)}\n` +
        `${header('sim_event_loop_utilization', 'gauge', 'Fraction of wall time the event loop was busy over the last 100 ms.')}sim_event_loop_utilization${l} ${goFloat(pacer.utilization)}\n`;
    }
    if (this.injected.size > 0) {
      out += header(
        'sim_injected_failures_total',
        'counter',
        'Failures injected by --failure-rate, --hang-rate, --disconnect-rate.',
      );
      for (const [kind, n] of this.injected)
        out += `sim_injected_failures_total{${labels},kind="${kind}"} ${goFloat(n)}\n`;
    }
    return out;
  }
}
