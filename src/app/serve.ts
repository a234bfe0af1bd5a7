/**
 * `infergate serve` as a process: the file plan source loads the plan, the composition root starts
 * the pool routers, the gateway and the admin server, prints the ready lines; the source reloads on
 * file changes and SIGHUP (an invalid change keeps the served plan and logs why); SIGTERM/SIGINT
 * drain (a second signal exits at once).
 *
 * stdout carries only the ready lines (benchmarks and the demo parse them):
 *   listener <listenerKey> ready http://<host>:<port>
 *   admin ready http://<host>:<port>
 * Everything else goes to the logger (stderr).
 */

import { FilePlanSource } from '../config/file-plan-source.js';
import type { LoadResult } from '../config/index.js';
import type { Diagnostic } from '../config/plan.js';
import type { PlanSource, PlanUpdate } from '../config/plan-source.js';
import type { GatewayOptions } from '../gateway/options.js';
import type { ListenerAddress } from '../gateway/ports.js';
import type { PoolRouterRegistryFactory } from '../requestcontrol/least-request-router.js';
import { InfergateProcess } from './process.js';

/** What the config loader returns (src/config's loadPlan). */
export type PlanLoadResult = LoadResult;

export interface ServeOptions {
  /** Loads (or re-loads) the plan from the sources given on the command line. */
  load: () => Promise<PlanLoadResult>;
  /**
   * A plan source to use instead of the files `load` reads (the Kubernetes API server: src/k8s).
   * Its first plan starts the process; each later one is applied.
   */
  source?: PlanSource;
  formatDiagnostic: (d: Diagnostic) => string;
  /** Extra paths to watch besides the files read (folders given, so new files are noticed). */
  watchPaths: readonly string[];
  /** Watch files and reload on change (false for `--no-watch` and stdin). */
  watch: boolean;
  drainTimeoutMs: number;
  gateway: GatewayOptions;
  /** Builds the pool routers (default: the least-request router, no scheduler). */
  poolRouters?: PoolRouterRegistryFactory;
  /** Ready lines (stdout). */
  out: (line: string) => void;
  /** Human diagnostics (stderr). */
  err: (line: string) => void;
}

/** A running `serve`: resolves `done` with the exit code once drained and closed. */
export interface ServeHandle {
  process: InfergateProcess;
  /** Reloads now (as SIGHUP does). Resolves true when the new plan is served. */
  reload(): Promise<boolean>;
  /** Drains and closes (as SIGTERM does). */
  shutdown(): Promise<void>;
  done: Promise<number>;
}

export function readyLines(listeners: readonly ListenerAddress[]): string[] {
  return listeners.map((l) => `listener ${l.key} ready ${l.url}`);
}

/**
 * Starts serving. Resolves with a handle, or with an exit code when nothing could be served (bad
 * configuration: 1, with every diagnostic printed).
 */
export async function startServe(o: ServeOptions): Promise<ServeHandle | number> {
  const log = o.gateway.logger;
  const source: PlanSource =
    o.source ?? new FilePlanSource({ load: o.load, watchPaths: o.watchPaths, watch: o.watch, logger: log });
  let proc: InfergateProcess | undefined;
  let planned = false;
  let exitCode: number | undefined;
  let stopping = false;

  if (source.notReadyReason !== undefined) {
    // The source can say why it is not ready (an API server being listed): the admin port answers
    // /healthz, and /readyz with that reason, before the first plan.
    try {
      proc = await InfergateProcess.start(undefined, {
        gateway: o.gateway,
        poolRouters: o.poolRouters,
        sourceNotReadyReason: () => source.notReadyReason?.(),
      });
    } catch (err) {
      o.err(`infergate serve: ${(err as Error).message}`);
      await source.close();
      return 1;
    }
    if (proc.adminUrl !== undefined) o.out(`admin ready ${proc.adminUrl}`);
  }

  const first = async (u: PlanUpdate): Promise<boolean> => {
    printDiagnostics(u.diagnostics, o);
    if (u.plan === undefined) {
      o.err('infergate serve: the configuration has errors; nothing is served.');
      exitCode = 1;
      return false;
    }
    if (proc !== undefined) {
      const applied = await proc.apply(u.plan);
      if (!applied.ok) {
        o.err(`infergate serve: ${applied.error}`);
        exitCode = 1;
        return false;
      }
      for (const line of readyLines(applied.opened)) o.out(line);
      planned = true;
      return true;
    }
    try {
      proc = await InfergateProcess.start(u.plan, {
        gateway: o.gateway,
        poolRouters: o.poolRouters,
      });
    } catch (err) {
      o.err(`infergate serve: ${(err as Error).message}`);
      exitCode = 1;
      return false;
    }
    for (const line of readyLines(proc.gateway.listeners())) o.out(line);
    if (proc.adminUrl !== undefined) o.out(`admin ready ${proc.adminUrl}`);
    planned = true;
    return true;
  };

  const next = async (r: PlanUpdate): Promise<boolean> => {
    const p = proc!;
    if (stopping) return false;
    if (r.plan === undefined) {
      const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => o.formatDiagnostic(d));
      p.recordFailedReload(errors.length > 0 ? errors : [r.error ?? 'the configuration could not be read']);
      log.error(
        { errors, error: r.error },
        'reload failed: the new configuration has errors; still serving the previous one',
      );
      return false;
    }
    const applied = await p.apply(r.plan);
    if (!applied.ok) {
      log.error({ error: applied.error }, 'reload failed; still serving the previous configuration');
      return false;
    }
    if (applied.endpointsOnly) {
      log.debug({ generation: applied.generation }, 'endpoints updated');
      return true;
    }
    for (const d of r.diagnostics)
      if (d.severity === 'warning') log.warn({ diagnostic: o.formatDiagnostic(d) }, 'config');
    log.info(
      { generation: applied.generation, opened: applied.opened.map((l) => l.key), closed: applied.closed },
      'configuration reloaded',
    );
    for (const line of readyLines(applied.opened)) o.out(line);
    return true;
  };

  await source.start((u) => (planned ? next(u) : first(u)));
  if (!planned || proc === undefined) {
    await source.close();
    await proc?.close();
    return exitCode ?? 1;
  }
  const running: InfergateProcess = proc;

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });

  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await source.close();
    log.info({ inFlight: running.gateway.inFlight, drainTimeoutMs: o.drainTimeoutMs }, 'draining');
    const { aborted } = await running.drain(o.drainTimeoutMs);
    if (aborted > 0) log.warn({ aborted }, 'drain deadline passed; aborted the requests left');
    await running.close();
    log.info('stopped');
    resolveDone(0);
  };

  return {
    process: running,
    reload: () =>
      stopping || !(source instanceof FilePlanSource) ? Promise.resolve(false) : source.reload(),
    shutdown,
    done,
  };
}

/**
 * Runs `serve` until a signal stops it: SIGHUP reloads, SIGTERM / SIGINT drain (a second one exits
 * at once with status 1). Resolves with the exit code.
 */
export async function runServe(o: ServeOptions): Promise<number> {
  const h = await startServe(o);
  if (typeof h === 'number') return h;
  let signals = 0;
  const onStop = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      o.err(`infergate serve: second ${sig}: exiting now`);
      process.exit(1);
    }
    void h.shutdown();
  };
  const onHup = () => void h.reload();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  const code = await h.done;
  process.removeListener('SIGTERM', onStop);
  process.removeListener('SIGINT', onStop);
  process.removeListener('SIGHUP', onHup);
  return code;
}

function printDiagnostics(ds: readonly Diagnostic[], o: ServeOptions): void {
  for (const d of ds) if (d.severity !== 'info') o.err(o.formatDiagnostic(d));
}
