/**
 * The simulator's own health: how late it emits tokens against the engine's schedule, how long
 * its steps are, how lagged the event loop is. Exposed on /metrics under `sim_` names (never
 * `vllm:`), in wall-clock seconds unless the name says engine.
 *
 * Timing error = wall time the bytes of a token were handed to the socket − the wall time the
 * engine scheduled that token for (step end mapped by --time-scale). It is ≥ 0 by construction.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { goFloat, header } from './prom-format.js';

/** Wall-clock seconds, 50 µs … 5 s. */
export const EMIT_ERROR_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
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

export function acquireLoopMonitor(): void {
  if (monitorUsers++ === 0) {
    monitor = monitorEventLoopDelay({ resolution: 1 });
    monitor.enable();
  }
}

export function releaseLoopMonitor(): void {
  if (monitorUsers > 0 && --monitorUsers === 0 && monitor) {
    monitor.disable();
    monitor = null;
  }
}

/** Event-loop delay since the monitor started (seconds); zeros when no monitor runs. */
export function loopLag(): LoopLagSnapshot {
  const m = monitor;
  if (!m || m.count === 0) return { p50: 0, p99: 0, max: 0, mean: 0, count: 0 };
  return {
    p50: m.percentile(50) / 1e9,
    p99: m.percentile(99) / 1e9,
    max: m.max / 1e9,
    mean: m.mean / 1e9,
    count: m.count,
  };
}

export class FidelityStats {
  readonly tokenError = new Histogram(EMIT_ERROR_BUCKETS);
  readonly firstTokenError = new Histogram(EMIT_ERROR_BUCKETS);
  readonly stepSeconds = new Histogram(STEP_BUCKETS);
  maxErrorSeconds = 0;
  aborted = 0;
  readonly injected = new Map<string, number>();
  fallingBehind = 0;
  /** Highest KV cache usage (0–1) after any step's allocation, since start. */
  kvUsagePeak = 0;
  /** Window for the falling-behind check, reset by `takeWindow`. */
  private windowMaxErrorMs = 0;
  private windowSteps = 0;
  private windowStepEngineMs = 0;

  /** `tokens` tokens (of which `firstTokens` first tokens) emitted `errorMs` wall ms late. */
  recordEmission(errorMs: number, tokens: number, firstTokens: number): void {
    const s = errorMs / 1000;
    if (tokens > 0) this.tokenError.observe(s, tokens);
    if (firstTokens > 0) this.firstTokenError.observe(s, firstTokens);
    if (s > this.maxErrorSeconds) this.maxErrorSeconds = s;
    if (errorMs > this.windowMaxErrorMs) this.windowMaxErrorMs = errorMs;
  }

  recordStep(engineMs: number): void {
    this.stepSeconds.observe(engineMs / 1000);
    this.windowSteps++;
    this.windowStepEngineMs += engineMs;
  }

  countInjected(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  /** The window's worst emission error (wall ms) and mean step (engine ms), then resets it. */
  takeWindow(): { maxErrorMs: number; meanStepEngineMs: number; steps: number } {
    const w = {
      maxErrorMs: this.windowMaxErrorMs,
      meanStepEngineMs: this.windowSteps > 0 ? this.windowStepEngineMs / this.windowSteps : 0,
      steps: this.windowSteps,
    };
    this.windowMaxErrorMs = 0;
    this.windowSteps = 0;
    this.windowStepEngineMs = 0;
    return w;
  }

  render(labels: string, timeScale: number): string {
    const l = `{${labels}}`;
    const lag = loopLag();
    let out =
      `${header('sim_time_scale', 'gauge', 'Wall seconds per engine second (--time-scale).')}sim_time_scale${l} ${goFloat(timeScale)}\n` +
      header(
        'sim_token_emit_error_seconds',
        'histogram',
        'Wall time a token was written minus the wall time the engine scheduled it for.',
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
        'Duration of engine steps in engine (unscaled) seconds.',
      ) +
      this.stepSeconds.render('sim_engine_step_seconds', labels) +
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
      `${header('sim_kv_cache_usage_peak', 'gauge', 'Highest vllm:kv_cache_usage_perc reached by any step since start.')}sim_kv_cache_usage_peak${l} ${goFloat(this.kvUsagePeak)}\n` +
      `${header('sim_falling_behind', 'gauge', '1 while the simulator emits tokens later than its threshold allows.')}sim_falling_behind${l} ${goFloat(this.fallingBehind)}\n` +
      `${header('sim_requests_aborted_total', 'counter', 'Requests aborted because the client went away (or injected disconnects).')}sim_requests_aborted_total${l} ${goFloat(this.aborted)}\n`;
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
