/**
 * N independent simulated replicas in one process: each has its own engine (KV cache, queues,
 * metrics), HTTP listener and seed; they share only the event loop. Ports are P … P+N−1, or
 * OS-chosen with port 0. A monitor checks once a second whether any replica emits tokens later
 * than its threshold allows and warns ("falling behind").
 */
import { type Logger, silentLogger } from '../util/log.js';
import { acquireLoopMonitor, loopLag, releaseLoopMonitor } from './metrics/fidelity.js';
import { type ResolvedReplicaOptions, resolveReplicaOptions, type SimReplicaOptions } from './options.js';
import { type ReplicaAddress, SimReplica } from './server/replica.js';

export interface SimClusterOptions extends Partial<SimReplicaOptions> {
  /** Number of replicas (default 1). */
  replicas?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** First port; replica i listens on port + i. 0 (default): OS-chosen for each. */
  port?: number;
  /** Per-replica overrides by index (profile, seed, failure rates …), applied over the shared options. */
  perReplica?: readonly Partial<SimReplicaOptions>[];
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
  const { replicas: _n, host: _h, port: _p, perReplica, logger: _l, ...shared } = opts;
  return resolveReplicaOptions({
    ...shared,
    seed: (shared.seed ?? 0) + index,
    ...(perReplica?.[index] ?? {}),
  });
}

const MONITOR_INTERVAL_MS = 1000;
const WARN_EVERY_MS = 10_000;

/** Starts the replicas; resolves when every one of them is serving. */
export async function startSimCluster(opts: SimClusterOptions = {}): Promise<SimCluster> {
  const n = opts.replicas ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`replicas must be a positive integer, got ${n}`);
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.port ?? 0;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + n - 1 > 65535) {
    throw new RangeError(`port must be 0 or a port with room for ${n} replicas, got ${basePort}`);
  }
  const log = opts.logger ?? silentLogger();
  const resolved: ResolvedReplicaOptions[] = [];
  for (let i = 0; i < n; i++) resolved.push(replicaOptions(opts, i));
  const replicas = resolved.map((o, i) => new SimReplica(i, o, log));
  acquireLoopMonitor();
  let closed = false;
  const lastWarn = new Array<number>(n).fill(0);
  const monitor = setInterval(() => {
    const now = Date.now();
    for (const r of replicas) {
      const w = r.fidelity.takeWindow();
      const stepWallMs = w.meanStepEngineMs * r.opts.timeScale;
      const threshold = Math.max(r.opts.lagWarnMs, 3 * stepWallMs);
      const behind = w.maxErrorMs > threshold;
      r.fidelity.fallingBehind = behind ? 1 : 0;
      if (behind && now - lastWarn[r.index]! >= WARN_EVERY_MS) {
        lastWarn[r.index] = now;
        log.warn(
          {
            replica: r.index,
            maxEmitErrorMs: Math.round(w.maxErrorMs * 100) / 100,
            thresholdMs: Math.round(threshold * 100) / 100,
            meanStepWallMs: Math.round(stepWallMs * 1000) / 1000,
            eventLoopLagP99Ms: Math.round(loopLag().p99 * 1e5) / 100,
          },
          'simulator falling behind: tokens are emitted later than the engine scheduled them',
        );
      }
    }
  }, MONITOR_INTERVAL_MS);
  monitor.unref();
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(monitor);
    await Promise.all(replicas.map((r) => r.close()));
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
