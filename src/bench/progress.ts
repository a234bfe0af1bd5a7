/**
 * Live progress on stderr (stdout is kept for the result table): on a terminal a one-line bar
 * redrawn five times a second; otherwise a plain line every few seconds, so CI logs stay readable.
 */
import { performance } from 'node:perf_hooks';
import type { ProgressMode } from './options.js';
import type { RunRecorder } from './recorder.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface ProgressTarget {
  label: string;
  /** Requests the run will send, when bounded by count. */
  total?: number | undefined;
  /** Wall ms the run will last, when bounded by duration. */
  durationMs?: number | undefined;
}

const BAR_INTERVAL_MS = 200;
const LINE_INTERVAL_MS = 5000;
const BAR_WIDTH = 24;

function fmtSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private lastLine = '';
  private readonly bar: boolean;
  private readonly enabled: boolean;

  constructor(
    private readonly stream: ProgressStream,
    mode: ProgressMode,
    private readonly target: ProgressTarget,
    private readonly recorder: RunRecorder,
  ) {
    this.bar = mode === 'bar' || (mode === 'auto' && stream.isTTY === true);
    this.enabled = mode !== 'none';
  }

  start(): void {
    if (!this.enabled) return;
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.render(false), this.bar ? BAR_INTERVAL_MS : LINE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (!this.enabled) return;
    clearInterval(this.timer);
    this.render(true);
  }

  /** The status text (exposed for tests). */
  line(): string {
    const r = this.recorder;
    const elapsed = performance.now() - this.startedAt;
    const done = r.succeeded + r.failed;
    let fraction: number | undefined;
    if (this.target.total !== undefined) fraction = done / this.target.total;
    if (this.target.durationMs !== undefined) {
      const byTime = elapsed / this.target.durationMs;
      fraction = fraction === undefined ? byTime : Math.max(fraction, byTime);
    }
    const tokRate = elapsed > 0 ? (r.outputTokens / elapsed) * 1000 : 0;
    const counts =
      `${done}${this.target.total !== undefined ? `/${this.target.total}` : ''} done, ` +
      `${r.failed} failed, ${r.inFlight} in flight, ${fmtSeconds(elapsed)}, ${tokRate.toFixed(0)} tok/s (wall)`;
    if (!this.bar || fraction === undefined) return `${this.target.label}: ${counts}`;
    const f = Math.min(1, Math.max(0, fraction));
    const filled = Math.round(f * BAR_WIDTH);
    return `${this.target.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${counts}`;
  }

  private render(final: boolean): void {
    const text = this.line();
    if (this.bar) {
      const width = this.stream.columns ?? 120;
      this.stream.write(`\r${text.slice(0, width - 1).padEnd(width - 1)}${final ? '\n' : ''}`);
    } else if (text !== this.lastLine) {
      // The final line repeats the last periodic one when nothing moved since: print it once.
      this.stream.write(`${text}\n`);
      this.lastLine = text;
    }
  }
}
