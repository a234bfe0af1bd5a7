/**
 * `infergate serve` as a process: load the plan, start the gateway, print the ready lines, reload on
 * file changes and SIGHUP (an invalid change keeps the served plan and logs why), drain on
 * SIGTERM/SIGINT (a second signal exits at once).
 *
 * stdout carries only the ready lines (benchmarks and the demo parse them):
 *   listener <listenerKey> ready http://<host>:<port>
 *   admin ready http://<host>:<port>
 * Everything else goes to the logger (stderr).
 */
import type { Diagnostic, Plan } from '../config/plan.js';
import { Gateway, type ListenerAddress } from './gateway.js';
import type { GatewayOptions } from './options.js';
import { ConfigWatcher } from './watcher.js';

/** What the config loader returns (src/config's loadPlan has this shape). */
export interface PlanLoadResult {
  plan?: Plan;
  diagnostics: readonly Diagnostic[];
  /** Every file read: the watch set. */
  files: readonly string[];
}

export interface ServeOptions {
  /** Loads (or re-loads) the plan from the sources given on the command line. */
  load: () => Promise<PlanLoadResult>;
  formatDiagnostic: (d: Diagnostic) => string;
  /** Extra paths to watch besides the files read (folders given, so new files are noticed). */
  watchPaths: readonly string[];
  /** Watch files and reload on change (false for `--no-watch` and stdin). */
  watch: boolean;
  drainTimeoutMs: number;
  gateway: GatewayOptions;
  /** Ready lines (stdout). */
  out: (line: string) => void;
  /** Human diagnostics (stderr). */
  err: (line: string) => void;
}

/** A running `serve`: resolves `done` with the exit code once drained and closed. */
export interface ServeHandle {
  gateway: Gateway;
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
  const first = await o.load();
  printDiagnostics(first.diagnostics, o);
  if (first.plan === undefined) {
    o.err('infergate serve: the configuration has errors; nothing is served.');
    return 1;
  }
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(first.plan, o.gateway);
  } catch (err) {
    o.err(`infergate serve: ${(err as Error).message}`);
    return 1;
  }
  for (const line of readyLines(gateway.listeners())) o.out(line);
  if (gateway.adminUrl !== undefined) o.out(`admin ready ${gateway.adminUrl}`);

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  let reloading: Promise<boolean> | undefined;
  let again = false;
  let stopping = false;

  const watcher = o.watch ? new ConfigWatcher(() => void reload(), log) : undefined;
  watcher?.watch([...first.files, ...o.watchPaths]);

  const reloadOnce = async (): Promise<boolean> => {
    const r = await o.load().catch((err: unknown) => ({
      plan: undefined,
      diagnostics: [],
      files: [],
      error: (err as Error).message,
    }));
    if (watcher !== undefined && r.files.length > 0) watcher.watch([...r.files, ...o.watchPaths]);
    if (r.plan === undefined) {
      gateway.recordFailedReload();
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      log.error(
        { errors: errors.map((d) => o.formatDiagnostic(d)), error: 'error' in r ? r.error : undefined },
        'reload failed: the new configuration has errors; still serving the previous one',
      );
      return false;
    }
    const applied = await gateway.apply(r.plan);
    if (!applied.ok) {
      log.error({ error: applied.error }, 'reload failed; still serving the previous configuration');
      return false;
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

  const reload = async (): Promise<boolean> => {
    if (stopping) return false;
    if (reloading !== undefined) {
      again = true;
      return reloading;
    }
    let ok = false;
    reloading = (async () => {
      do {
        again = false;
        ok = await reloadOnce();
      } while (again && !stopping);
      return ok;
    })();
    try {
      return await reloading;
    } finally {
      reloading = undefined;
    }
  };

  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    log.info({ inFlight: gateway.inFlight, drainTimeoutMs: o.drainTimeoutMs }, 'draining');
    const { aborted } = await gateway.drain(o.drainTimeoutMs);
    if (aborted > 0) log.warn({ aborted }, 'drain deadline passed; aborted the requests left');
    await gateway.close();
    log.info('stopped');
    resolveDone(0);
  };

  return { gateway, reload, shutdown, done };
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
