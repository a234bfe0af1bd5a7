/**
 * The composition root: builds one infergate process — the Prometheus registry, the pool routers
 * (datastore + request control), the HTTP front door and the admin server — and hands each new plan
 * first to the pool routers, then to the front door. Nothing below src/app constructs these.
 */
import type { Registry } from 'prom-client';
import { AdminServer } from '../admin/admin-server.js';
import { createLivePage } from '../admin/page-routes.js';
import type { Plan } from '../config/plan.js';
import { differsOnlyInEndpoints } from '../config/plan-diff.js';
import { type ApplyResult, describeListenError, displayHost, Gateway } from '../gateway/gateway.js';
import { type GatewayOptions, isLocalAdminHost } from '../gateway/options.js';
import {
  createLeastRequestPoolRegistry,
  type PoolRouterRegistryFactory,
} from '../requestcontrol/least-request-router.js';
import type { PoolRouterRegistry } from '../requestcontrol/types.js';
import { DecisionRing } from '../telemetry/decision-ring.js';
import { createPromRegistry } from '../telemetry/gateway-metrics.js';

export interface ProcessOptions {
  gateway: GatewayOptions;
  /** Builds the pool routers (default: the least-request router, no scheduler). */
  poolRouters?: PoolRouterRegistryFactory;
  /** The Prometheus registry to register every metric in (default: a new one). */
  registry?: Registry;
  /** Why the plan source is not in step yet (checked by /readyz before the gateway's own reason). */
  sourceNotReadyReason?: () => string | undefined;
}

/** A running process: front door, pool routers, admin server; `apply` swaps the plan they serve. */
export class InfergateProcess {
  /** The plan the front door serves (the routers are put back to it when a new plan fails). */
  private served: Plan | undefined;
  private closed = false;

  private constructor(
    readonly gateway: Gateway,
    readonly pools: PoolRouterRegistry,
    readonly registry: Registry,
    private readonly opts: GatewayOptions,
    private readonly admin: AdminServer | undefined,
    private readonly adminPort: number | undefined,
  ) {}

  /**
   * Starts the admin server, then the pool routers and the listeners of `plan` (without a plan: no
   * listeners and /readyz 503 until the first `apply`). Rejects (with everything closed again) when a
   * socket cannot be opened or the routers reject the plan.
   */
  static async start(plan: Plan | undefined, o: ProcessOptions): Promise<InfergateProcess> {
    const opts = o.gateway;
    const registry = o.registry ?? createPromRegistry();
    // Recent scheduling decisions: recorded while someone looks at the page, always with --debug-headers.
    const decisions = new DecisionRing({ always: opts.debugHeaders });
    const pools = (o.poolRouters ?? createLeastRequestPoolRegistry)({
      metrics: registry,
      logger: opts.logger,
      decisions,
    });
    let proc: InfergateProcess | undefined;
    if (opts.adminPort >= 0 && !isLocalAdminHost(opts.adminHost) && !opts.adminToken) {
      throw new Error(
        `the admin port would bind to ${opts.adminHost} without authentication: set --admin-token ` +
          '(or INFERGATE_ADMIN_TOKEN), or keep --admin-host 127.0.0.1',
      );
    }
    const admin =
      opts.adminPort >= 0
        ? new AdminServer(
            {
              registry,
              notReadyReason: () =>
                o.sourceNotReadyReason?.() ??
                (proc === undefined ? 'no plan loaded' : proc.gateway.notReadyReason()),
              planSummary: () => proc?.gateway.planSummary() ?? { generation: 0 },
              mirrorSummaries: () => proc?.gateway.mirrorSummaries() ?? [],
              page: createLivePage({
                registry,
                decisions,
                plan: () => proc?.gateway.state?.plan,
                planSummary: () => proc?.gateway.planSummary() ?? { generation: 0 },
                pools: () => pools.views?.() ?? [],
                mirrors: () => proc?.gateway.mirrorSummaries() ?? [],
              }),
            },
            opts.adminToken,
          )
        : undefined;
    let gateway: Gateway | undefined;
    try {
      const adminPort = await admin?.listen(opts.adminPort, opts.adminHost).catch((err: unknown) => {
        throw new Error(
          `cannot open the admin port ${opts.adminPort}: ${describeListenError(err)} (use --admin-port)`,
        );
      });
      await pools.start?.();
      try {
        if (plan !== undefined) pools.sync(plan);
      } catch (err) {
        throw new Error(`the pool routers rejected the plan: ${(err as Error).message}`);
      }
      gateway = await Gateway.start(plan, opts, { pools, registry });
      proc = new InfergateProcess(gateway, pools, registry, opts, admin, adminPort);
      proc.served = plan;
      return proc;
    } catch (err) {
      await gateway?.close();
      await admin?.close();
      await pools.close().catch(() => undefined);
      throw err;
    }
  }

  /** The admin server's URL, when it runs. */
  get adminUrl(): string | undefined {
    return this.adminPort === undefined
      ? undefined
      : `http://${displayHost(this.opts.adminHost)}:${this.adminPort}`;
  }

  /**
   * Serves `plan` from now on: the pool routers first, then the front door. When the front door
   * cannot serve it (e.g. a port cannot be opened), the routers are put back to the served plan.
   * A plan that differs from the served one only in endpoint sets (pod churn) updates them in place.
   */
  async apply(plan: Plan): Promise<ApplyResult> {
    if (this.served !== undefined && differsOnlyInEndpoints(this.served, plan)) {
      // Pod churn: endpoint sets only; routes, routers, objectives and schedulers are kept.
      if (this.pools.updateEndpoints) this.pools.updateEndpoints(plan);
      else this.pools.sync(plan);
      const r = this.gateway.applyEndpoints(plan);
      if (r.ok) this.served = plan;
      return r;
    }
    try {
      this.pools.sync(plan);
    } catch (err) {
      return this.gateway.refuse(`the pool routers rejected the plan: ${(err as Error).message}`);
    }
    const r = await this.gateway.apply(plan);
    if (r.ok) this.served = plan;
    else if (this.served !== undefined) this.pools.sync(this.served);
    return r;
  }

  /** A failed reload keeps the old plan (counted in the reload metric). */
  recordFailedReload(errors: readonly string[]): void {
    this.gateway.recordFailedReload(errors);
  }

  /** Drains the front door (see Gateway.drain). */
  drain(timeoutMs: number): Promise<{ aborted: number }> {
    return this.gateway.drain(timeoutMs);
  }

  /** Closes the front door, the admin server and the pool routers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.gateway.close();
    await this.admin?.close();
    await this.pools.close().catch(() => undefined);
  }
}
