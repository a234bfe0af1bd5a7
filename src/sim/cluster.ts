/**
 * N independent simulated replicas in one process: each has its own engine (KV cache, queues,
 * metrics), HTTP listener and seed; they share the event loop and the write pacer (see
 * EngineDriver). Ports are P … P+N−1, or OS-chosen with port 0. Every PACER_PERIOD_MS the pacer
 * adapts the write interval to load; once a second a monitor checks each replica for falling
 * behind (its engine stretched, or first tokens written late) and warns, at most every 10 s.
 */
import { performance } from 'node:perf_hooks';
import { type Logger, silentLogger } from '../util/log.js';
import { TraceFile } from './engine/trace.js';
import { DEFAULT_MAX_WRITE_INTERVAL_MS, PACER_PERIOD_MS, WritePacer } from './engine/write-pacer.js';
import { type ResolvedReplicaOptions, resolveReplicaOptions, type SimReplicaOptions } from './options.js';
import { type ReplicaAddress, SimReplica } from './server/replica.js';
import {
  acquireLoopMonitor,
  type FidelityWindow,
  loopLag,
  releaseLoopMonitor,
} from './vllm-page/fidelity.js';

export interface SimClusterOptions extends Partial<SimReplicaOptions> {
  /** Number of replicas (default 1). */
  replicas?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** First port; replica i listens on port + i. 0 (default): OS-chosen for each. */
  port?: number;
  /** Per-replica overrides by index (profile, seed, failure rates …), applied over the shared options. */
  perReplica?: readonly Partial<SimReplicaOptions>[];
  /**
   * How long (wall ms) a token that is not a request's first or last may wait to share a socket
   * write with later ones. Default: adapted to load, 0 … maxWriteIntervalMs (see WritePacer).
   */
  writeIntervalMs?: number;
  /** Ceiling of the adaptive write interval, wall ms (default 16). */
  maxWriteIntervalMs?: number;
  /** Writes every replica's engine history to this file as JSON lines (metrics/trace.ts). */
  trace?: string;
  logger?: Logger;
}

export type SimReplicaInfo = ReplicaAddress;

export interface SimCluster {
  /** In replica order. */
  replicas: SimReplicaInfo[];
  /** Stops every replica (open connections are closed). Idempotent. */
  close(): Promise<void>;
}

/** Replica i's options: shared options, seed + i, then perReplica[i]. */
export function replicaOptions(opts: SimClusterOptions, index: number): ResolvedReplicaOptions {
  const {
    replicas: _n,
    host: _h,
    port: _p,
    perReplica,
    writeIntervalMs: _w,
    maxWriteIntervalMs: _m,
    trace: _t,
    logger: _l,
    ...shared
  } = opts;
  return resolveReplicaOptions({
    ...shared,
    seed: (shared.seed ?? 0) + index,
    ...(perReplica?.[index] ?? {}),
  });
}

const MONITOR_INTERVAL_MS = 1000;
const WARN_EVERY_MS = 10_000;
/** Falling behind: a window's stretch above this (and more than --lag-warn-ms of wall time lost). */
const STRETCH_WARN = 1.05;

/** Starts the replicas; resolves when every one of them is serving. */
export async function startSimCluster(opts: SimClusterOptions = {}): Promise<SimCluster> {
  const n = opts.replicas ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`replicas must be a positive integer, got ${n}`);
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.port ?? 0;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + n - 1 > 65535) {
    throw new RangeError(`port must be 0 or a port with room for ${n} replicas, got ${basePort}`);
  }
  const fixedInterval = opts.writeIntervalMs ?? null;
  if (fixedInterval !== null && !(fixedInterval >= 0 && Number.isFinite(fixedInterval))) {
    throw new RangeError(`write interval must be ≥ 0 ms, got ${fixedInterval}`);
  }
  const log = opts.logger ?? silentLogger();
  const resolved: ResolvedReplicaOptions[] = [];
  for (let i = 0; i < n; i++) resolved.push(replicaOptions(opts, i));
  const pacer = new WritePacer(fixedInterval, opts.maxWriteIntervalMs ?? DEFAULT_MAX_WRITE_INTERVAL_MS);
  const replicas = resolved.map((o, i) => new SimReplica(i, o, log, pacer));
  const trace = opts.trace ? new TraceFile(opts.trace) : null;
  if (trace) for (const r of replicas) r.engine.observer = trace.observer(r.index);
  acquireLoopMonitor();
  let closed = false;

  // Engine stall (wall ms) of each replica at the last pacer update: the pacer sees the worst one.
  const stallSeen = new Float64Array(n);
  let pacedAt = performance.now();
  const pacing = setInterval(() => {
    const now = performance.now();
    let worstStallMs = 0;
    for (const r of replicas) {
      const stallWallMs = r.fidelity.stallMsTotal * r.opts.timeScale;
      worstStallMs = Math.max(worstStallMs, stallWallMs - stallSeen[r.index]!);
      stallSeen[r.index] = stallWallMs;
    }
    pacer.update(worstStallMs / Math.max(1, now - pacedAt));
    pacedAt = now;
  }, PACER_PERIOD_MS);
  pacing.unref();

  const warner = new FallingBehindWarner(log);
  const monitor = setInterval(() => {
    for (const r of replicas) {
      const w = r.fidelity.takeWindow();
      r.fidelity.lastStretch = w.stretch;
      const behind = isFallingBehind(w, r.opts.timeScale, r.opts.lagWarnMs);
      r.fidelity.fallingBehind = behind ? 1 : 0;
      if (behind) {
        r.fidelity.fallingBehindSeconds += MONITOR_INTERVAL_MS / 1000;
        warner.add(r.index, w, r.opts.timeScale);
      }
    }
    warner.flush(pacer);
  }, MONITOR_INTERVAL_MS);
  monitor.unref();
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(pacing);
    clearInterval(monitor);
    await Promise.all(replicas.map((r) => r.close()));
    await trace?.close();
    releaseLoopMonitor();
  };
  try {
    const addrs = await Promise.all(replicas.map((r, i) => r.start(host, basePort === 0 ? 0 : basePort + i)));
    return { replicas: addrs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A replica falls behind when, over the last window, its engine lost more than 5 % of its planned
 * time and more than `lagWarnMs` of wall time to stalls, or wrote a first token more than
 * `lagWarnMs` late. (One short stall of a lightly loaded replica is not "behind".)
 */
export function isFallingBehind(w: FidelityWindow, timeScale: number, lagWarnMs: number): boolean {
  const stalledWallMs = w.stallMs * timeScale;
  return (w.stretch > STRETCH_WARN && stalledWallMs > lagWarnMs) || w.maxFirstTokenErrorMs > lagWarnMs;
}

/** Collects the replicas that fell behind in a window; logs one summary at most every 10 s. */
export class FallingBehindWarner {
  private readonly log: Logger;
  private replicas: number[] = [];
  private worstStretch = 1;
  private stalledWallMs = 0;
  private worstFirstTokenErrorMs = 0;
  private timeScale = 0;
  private lastWarn = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private readonly now: () => number;
  private cpu = process.cpuUsage();
  private cpuAt: number;

  /** `now`: wall clock in ms (injectable for tests). */
  constructor(log: Logger, now: () => number = Date.now) {
    this.log = log;
    this.now = now;
    this.cpuAt = now();
  }

  add(index: number, w: FidelityWindow, timeScale: number): void {
    this.replicas.push(index);
    if (w.stretch > this.worstStretch) this.worstStretch = w.stretch;
    this.stalledWallMs = Math.max(this.stalledWallMs, w.stallMs * timeScale);
    this.worstFirstTokenErrorMs = Math.max(this.worstFirstTokenErrorMs, w.maxFirstTokenErrorMs);
    this.timeScale = timeScale;
  }

  flush(pacer: WritePacer): void {
    const now = this.now();
    const cpu = process.cpuUsage(this.cpu);
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.cpuAt)) * 100;
    this.cpu = process.cpuUsage();
    this.cpuAt = now;
    if (this.replicas.length === 0) return;
    if (now - this.lastWarn < WARN_EVERY_MS) {
      this.suppressed++;
    } else {
      const round = (x: number) => Math.round(x * 100) / 100;
      const lag = loopLag();
      this.log.warn(
        {
          replicas: this.replicas,
          stretch: round(this.worstStretch),
          stalledWallMs: round(this.stalledWallMs),
          maxFirstTokenErrorMs: round(this.worstFirstTokenErrorMs),
          eventLoopLagP99Ms: round(lag.p99 * 1000),
          eventLoopUtilization: round(pacer.utilization),
          cpuPercent: Math.round(cpuPercent),
          writeIntervalMs: round(pacer.intervalMs),
          timeScale: this.timeScale,
          suppressedWarnings: this.suppressed,
        },
        `simulator falling behind: engine time ran ${round(this.worstStretch)}× slower than its timing model ` +
          'in the last second (the process cannot keep up; metrics stay consistent with what clients see, ' +
          'but every latency is longer): use a larger --time-scale or fewer replicas per process',
      );
      this.lastWarn = now;
      this.suppressed = 0;
    }
    this.replicas = [];
    this.worstStretch = 1;
    this.stalledWallMs = 0;
    this.worstFirstTokenErrorMs = 0;
  }
}
