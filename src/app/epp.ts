/**
 * `infergate epp` as a process: the composition root of the endpoint picker. Builds the Prometheus
 * registry and the pool routers (the same factory `serve` uses), loads the manifests through a
 * FilePlanSource (file changes and SIGHUP reload them), hands each plan to the routers first and then
 * to the ext_proc front door (src/extproc), prints the ready lines, and stops on SIGTERM / SIGINT.
 *
 * stdout carries only the ready lines (tests and benchmarks parse them):
 *   epp ready <host:port> pool=<ns/name>
 *   health ready <host:port>
 *   metrics ready http://<host:port>
 * From files they come together once the plan is served. From the cluster the ports are bound
 * first (health and metrics lines; /readyz 503 with the reason) and `epp ready` follows once a plan
 * with the pool is served.
 */
import { FilePlanSource } from '../config/file-plan-source.js';
import type { Diagnostic, Plan } from '../config/plan.js';
import { differsOnlyInEndpoints } from '../config/plan-diff.js';
import type { PlanSource, PlanUpdate } from '../config/plan-source.js';
import { type EppOptions, EppServer } from '../extproc/server.js';
import type { PoolRouterRegistryFactory } from '../requestcontrol/least-request-router.js';
import { DecisionRing } from '../telemetry/decision-ring.js';
import { createPromRegistry } from '../telemetry/gateway-metrics.js';
import type { PlanLoadResult } from './serve.js';

export interface EppRunOptions {
  /** Loads (or re-loads) the plan from the sources given on the command line. */
  load: () => Promise<PlanLoadResult>;
  /** A plan source used instead of the files `load` reads (the API server, narrowed to the pool). */
  source?: PlanSource;
  formatDiagnostic: (d: Diagnostic) => string;
  /** Paths to watch besides the files read; `watch` false for stdin. */
  watchPaths: readonly string[];
  watch: boolean;
  epp: EppOptions;
  poolRouters: PoolRouterRegistryFactory;
  /** How long open streams may finish on SIGTERM, ms. */
  drainTimeoutMs: number;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs until SIGTERM / SIGINT; resolves with the exit code (1: nothing could be served). */
export async function runEpp(o: EppRunOptions): Promise<number> {
  const log = o.epp.logger;
  const registry = createPromRegistry();
  // --debug-headers: every decision recorded, so that each response can carry it (as `serve`).
  const decisions = o.epp.debugHeaders ? new DecisionRing({ always: true }) : undefined;
  const pools = o.poolRouters({ metrics: registry, logger: log, ...(decisions ? { decisions } : {}) });
  const source: PlanSource =
    o.source ?? new FilePlanSource({ load: o.load, watchPaths: o.watchPaths, watch: o.watch, logger: log });
  let server: EppServer | undefined;
  let served: Plan | undefined;
  let exitCode = 1;
  const printReady = (s: EppServer, which: 'ports' | 'epp' | 'all'): void => {
    const a = s.addresses;
    if (which !== 'ports') o.out(`epp ready ${a.grpc} pool=${o.epp.poolKey}`);
    if (which === 'epp') return;
    if (a.health !== undefined) o.out(`health ready ${a.health}`);
    if (a.metrics !== undefined) o.out(`metrics ready ${a.metrics}`);
  };

  // A source that can say why it is not ready (an API server being listed) gets the ports bound
  // before the first plan, so probes see a live picker that is not ready, and why; and a pool that
  // is not in the cluster yet is waited for instead of ending the process.
  let poolMissing: string | undefined;
  if (source.notReadyReason !== undefined) {
    try {
      await pools.start?.();
      server = await EppServer.open(
        o.epp,
        { pools, registry },
        () => source.notReadyReason?.() ?? poolMissing ?? 'no plan yet',
      );
    } catch (err) {
      o.err(`infergate epp: ${(err as Error).message}`);
      await source.close();
      await pools.close().catch(() => undefined);
      return 1;
    }
    printReady(server, 'ports');
  }

  const first = async (u: PlanUpdate): Promise<boolean> => {
    for (const d of u.diagnostics) o.err(o.formatDiagnostic(d));
    if (u.plan === undefined) {
      o.err('infergate epp: the configuration has errors; nothing is served.');
      return false;
    }
    try {
      await pools.start?.();
      pools.sync(u.plan);
      server = await EppServer.start(u.plan, o.epp, { pools, registry });
      served = u.plan;
    } catch (err) {
      o.err(`infergate epp: ${(err as Error).message}`);
      return false;
    }
    printReady(server, 'all');
    return true;
  };

  /** Bound early, no plan served yet: serves the first plan that has the pool. */
  const adopt = (u: PlanUpdate): boolean => {
    if (u.plan === undefined) {
      log.error(
        { errors: u.diagnostics.filter((d) => d.severity === 'error').map(o.formatDiagnostic) },
        'the configuration has errors; waiting for a valid one',
      );
      return false;
    }
    if (!u.plan.pools.has(o.epp.poolKey)) {
      const reason = `InferencePool ${o.epp.poolKey} is not in the cluster (yet)`;
      if (poolMissing !== reason) log.warn({ pool: o.epp.poolKey }, `${reason}; waiting for it`);
      poolMissing = reason;
      return false;
    }
    pools.sync(u.plan);
    server!.apply(u.plan);
    served = u.plan;
    poolMissing = undefined;
    printReady(server!, 'epp');
    return true;
  };

  const next = (u: PlanUpdate): boolean => {
    if (u.plan === undefined) {
      log.error(
        {
          errors: u.diagnostics.filter((d) => d.severity === 'error').map(o.formatDiagnostic),
          error: u.error,
        },
        'reload failed: the new configuration has errors; still serving the previous one',
      );
      return false;
    }
    if (!u.plan.pools.has(o.epp.poolKey)) {
      log.error({ pool: o.epp.poolKey }, 'reload refused: the pool is no longer in the manifests');
      return false;
    }
    // Pod churn only changes endpoint sets: the pool's router, objectives and scheduler are kept.
    if (served !== undefined && pools.updateEndpoints && differsOnlyInEndpoints(served, u.plan))
      pools.updateEndpoints(u.plan);
    else pools.sync(u.plan);
    try {
      server!.apply(u.plan);
    } catch (err) {
      if (served !== undefined) pools.sync(served);
      log.error({ err: (err as Error).message }, 'reload refused; still serving the previous plan');
      return false;
    }
    served = u.plan;
    log.info('configuration reloaded');
    return true;
  };

  await source.start((u) => (server === undefined ? first(u) : served === undefined ? adopt(u) : next(u)));
  if (server === undefined) {
    await source.close();
    await pools.close().catch(() => undefined);
    return exitCode;
  }
  const running = server;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        o.err(`infergate epp: second ${signal}: exiting now`);
        process.exit(1);
      }
      stopping = true;
      exitCode = 0;
      void (async () => {
        await source.close();
        await running.close(o.drainTimeoutMs);
        await pools.close().catch(() => undefined);
        resolve(exitCode);
      })();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      if (source instanceof FilePlanSource) void source.reload();
    });
  });
}
