/**
 * The HTTP front door: listener sockets (one per declared Gateway listener port), the plan being
 * served, and the lifecycle — reload (atomic swap: in-flight requests keep the state they started
 * with) and drain (stop accepting, let in-flight requests and streams finish up to a deadline, then
 * abort the rest). The pool routers and the Prometheus registry are given by the composition root
 * (src/app), which also syncs the routers with each plan before handing it here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Plan } from '../config/plan.js';
import type { PoolRouterRegistry } from '../requestcontrol/types.js';
import { AccessLog } from '../telemetry/access-log.js';
import { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { Logger } from '../util/log.js';
import { type Rng, SeededRng } from '../util/rng.js';
import type { GatewayContext, InFlightRequest } from './context.js';
import { Exchange } from './exchange.js';
import { MirrorDispatcher } from './mirror.js';
import { MirrorStatsTable, type MirrorSummary } from './mirror-stats.js';
import type { GatewayOptions } from './options.js';
import { OutlierDetector } from './outlier.js';
import { planSummary } from './plan-summary.js';
import { actualPort, type ListenerAddress } from './ports.js';
import { GatewayState } from './state.js';
import { UpstreamEndpointTable } from './upstream-endpoint.js';

export type { ListenerAddress };

/** What the composition root hands the gateway: it owns both (and closes the routers). */
export interface GatewayDeps {
  /** The pool routers, already synced with each plan before the gateway's `apply`. */
  readonly pools: PoolRouterRegistry;
  /** The process's Prometheus registry (gateway metrics are registered here). */
  readonly registry: Registry;
}

/** A reload that was refused: when, and why (the diagnostics as the log shows them). */
export interface FailedReload {
  at: string;
  errors: string[];
}

export interface ApplyResult {
  ok: boolean;
  generation: number;
  /** Listeners on sockets opened by this apply. */
  opened: ListenerAddress[];
  /** Declared ports whose sockets were closed. */
  closed: number[];
  error?: string;
  /** Only endpoint sets changed (applyEndpoints): routes and generation kept. */
  endpointsOnly?: boolean;
}

interface ListenerSocket {
  declared: number;
  port: number;
  server: Server;
}

export class Gateway implements GatewayContext {
  readonly metrics: GatewayMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  readonly pools: PoolRouterRegistry;
  readonly endpoints = new UpstreamEndpointTable();
  readonly outlier: OutlierDetector;
  readonly rng: Rng;
  readonly mirrors: MirrorDispatcher;
  readonly mirrorStats = new MirrorStatsTable();
  readonly registry: Registry;
  state: GatewayState | undefined;
  draining = false;

  private generation = 0;
  /** The newest reload that failed after the served plan was loaded (cleared by a successful one). */
  private failedReload: FailedReload | undefined;
  private readonly sockets = new Map<number, ListenerSocket>();
  private readonly active = new Set<InFlightRequest>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    readonly opts: GatewayOptions,
    deps: GatewayDeps,
  ) {
    this.logger = opts.logger;
    this.registry = deps.registry;
    this.pools = deps.pools;
    this.metrics = new GatewayMetrics(this.registry);
    this.accessLog = new AccessLog(opts.accessLog);
    this.rng = new SeededRng(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.outlier = new OutlierDetector(opts.outlier);
    this.mirrors = new MirrorDispatcher(this);
  }

  /**
   * Starts the listeners of `plan` (the pool routers must already know it); without a plan, none
   * until the first `apply`. Rejects (with everything closed again) when a socket cannot be opened,
   * e.g. a privileged or busy port: see --port-map / --port-offset.
   */
  static async start(plan: Plan | undefined, opts: GatewayOptions, deps: GatewayDeps): Promise<Gateway> {
    const gw = new Gateway(opts, deps);
    if (plan === undefined) return gw;
    try {
      const r = await gw.apply(plan);
      if (!r.ok) throw new Error(r.error);
      return gw;
    } catch (err) {
      await gw.close();
      throw err;
    }
  }

  /** Every listener of the plan being served, with its actual address. */
  listeners(): ListenerAddress[] {
    const out: ListenerAddress[] = [];
    for (const l of this.state?.plan.listeners ?? []) {
      const s = this.sockets.get(l.port);
      if (s !== undefined) out.push(this.address(l.key, s));
    }
    return out;
  }

  /**
   * Serves `plan` from now on. New sockets are opened first; if one fails, nothing changes. Requests
   * in flight finish with the state they started with.
   */
  async apply(plan: Plan): Promise<ApplyResult> {
    if (this.closed || this.draining) {
      return {
        ok: false,
        generation: this.generation,
        opened: [],
        closed: [],
        error: 'the gateway is shutting down',
      };
    }
    let next: GatewayState;
    try {
      next = new GatewayState(plan, this.generation + 1, this.endpoints, this.mirrorStats);
    } catch (err) {
      return this.refuse(`the plan cannot be served: ${(err as Error).message}`);
    }
    const wanted = next.ports();
    const openedSockets: ListenerSocket[] = [];
    for (const declared of wanted) {
      if (this.sockets.has(declared)) continue;
      try {
        openedSockets.push(await this.openSocket(declared));
      } catch (err) {
        for (const s of openedSockets) closeServer(s.server);
        return this.refuse((err as Error).message);
      }
    }
    for (const s of openedSockets) this.sockets.set(s.declared, s);
    this.state = next;
    this.generation = next.generation;
    const closed: number[] = [];
    for (const [declared, s] of this.sockets) {
      if (wanted.includes(declared)) continue;
      closeServer(s.server);
      this.sockets.delete(declared);
      closed.push(declared);
    }
    this.endpoints.prune(next.endpointIds);
    this.failedReload = undefined;
    this.metrics.reload(true, next.generation);
    for (const w of next.warnings) this.logger.warn(w, 'route rule skipped');
    const opened: ListenerAddress[] = [];
    for (const l of plan.listeners) {
      const s = openedSockets.find((x) => x.declared === l.port);
      if (s !== undefined) opened.push(this.address(l.key, s));
    }
    return { ok: true, generation: next.generation, opened, closed };
  }

  /**
   * Serves `plan`, which routes as the served one does and differs only in endpoint sets (pod churn:
   * see differsOnlyInEndpoints): the route table and Service targets are kept and get the new
   * endpoints; connections to endpoints that left close once their requests finish.
   */
  applyEndpoints(plan: Plan): ApplyResult {
    const state = this.state;
    if (state === undefined || this.closed || this.draining) {
      const error = state === undefined ? 'no plan is served yet' : 'the gateway is shutting down';
      return { ok: false, generation: this.generation, opened: [], closed: [], error };
    }
    state.swapEndpoints(plan);
    this.endpoints.prune(state.endpointIds);
    this.metrics.endpointUpdate();
    return { ok: true, generation: this.generation, opened: [], closed: [], endpointsOnly: true };
  }

  /**
   * Stops accepting connections, answers /readyz 503, waits for in-flight requests (streams
   * included) up to `timeoutMs`, then aborts what is left. Resolves with how many were aborted.
   */
  async drain(timeoutMs: number): Promise<{ aborted: number }> {
    this.draining = true;
    for (const s of this.sockets.values()) closeServer(s.server);
    let aborted = 0;
    if (this.active.size > 0) {
      const idle = await this.waitIdle(timeoutMs);
      if (!idle) {
        aborted = this.active.size;
        for (const ex of this.active) ex.cancel('shutdown');
        await this.waitIdle(2_000);
      }
    }
    this.mirrors.abortAll();
    return { aborted };
  }

  /** Closes everything at once (after drain for a graceful stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    for (const ex of this.active) ex.cancel('shutdown');
    for (const s of this.sockets.values()) {
      closeServer(s.server);
      s.server.closeAllConnections();
    }
    this.sockets.clear();
    this.mirrors.abortAll();
    await this.endpoints.closeAll(true);
    this.accessLog.close();
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.active.size;
  }

  track(ex: InFlightRequest): void {
    this.active.add(ex);
  }

  untrack(ex: InFlightRequest): void {
    this.active.delete(ex);
    if (this.active.size === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  notReadyReason(): string | undefined {
    if (this.draining) return 'draining';
    if (this.state === undefined) return 'no plan loaded';
    return undefined;
  }

  planSummary(): unknown {
    const summary: Record<string, unknown> =
      this.state === undefined ? { generation: 0 } : planSummary(this.state, this.listeners());
    return this.failedReload === undefined ? summary : { ...summary, lastFailedReload: this.failedReload };
  }

  mirrorSummaries(): MirrorSummary[] {
    return this.mirrorStats.summaries();
  }

  /** A failed reload keeps the old plan; `errors` (the diagnostics) are shown by GET /admin/plan. */
  recordFailedReload(errors: readonly string[]): void {
    this.metrics.reload(false);
    this.failedReload = { at: new Date().toISOString(), errors: [...errors] };
  }

  /** Refuses a plan (counted as a failed reload); the served plan stays. */
  refuse(error: string): ApplyResult {
    this.recordFailedReload([error]);
    return { ok: false, generation: this.generation, opened: [], closed: [], error };
  }

  private waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((f) => f !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  private openSocket(declared: number): Promise<ListenerSocket> {
    const port = actualPort(declared, this.opts.ports);
    const server = createServer(
      { noDelay: true, connectionsCheckingInterval: 1000 },
      (req: IncomingMessage, res: ServerResponse) => {
        void new Exchange(this, req, res, declared).run();
      },
    );
    // Slow and idle clients (0 disables a limit; Node checks the two timeouts every second here).
    server.headersTimeout = this.opts.headersTimeoutMs;
    server.requestTimeout = this.opts.bodyTimeoutMs;
    server.keepAliveTimeout = this.opts.keepAliveTimeoutMs;
    if (this.opts.maxConnections > 0) server.maxConnections = this.opts.maxConnections;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        const mapped = port === declared ? '' : ` (declared ${declared})`;
        reject(
          new Error(
            `cannot listen on ${this.opts.host}:${port}${mapped}: ${describeListenError(err)} — ` +
              'remap it with --port-map DECLARED=ACTUAL (0 = any free port) or --port-offset N',
          ),
        );
      };
      server.once('error', onError);
      server.listen(port, this.opts.host, () => {
        server.removeListener('error', onError);
        server.on('error', (err) => this.logger.error({ err, port }, 'listener error'));
        resolve({ declared, port: (server.address() as AddressInfo).port, server });
      });
    });
  }

  private address(key: string, s: ListenerSocket): ListenerAddress {
    return {
      key,
      declaredPort: s.declared,
      port: s.port,
      url: `http://${displayHost(this.opts.host)}:${s.port}`,
    };
  }
}

function closeServer(server: Server): void {
  if (server.listening) server.close();
  server.closeIdleConnections();
}

/** Bind-all addresses are shown as loopback so that printed URLs work locally. */
export function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export function describeListenError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRINUSE') return 'address already in use';
  return err instanceof Error ? err.message : String(err);
}
