/**
 * The interim InferencePool router: least requests in flight among the pool's ready endpoints, the
 * model passed through unchanged. It keeps InferencePool routes working until the scheduler
 * (src/requestcontrol + src/scheduling) plugs in through the same PoolRouterRegistry contract.
 *
 * In-flight counts are this gateway's own (onDispatch → onComplete), kept per endpoint id across
 * reloads. Ties go round-robin so that an idle pool spreads requests.
 */
import type { Registry } from 'prom-client';
import type { Plan, PoolPlan } from '../config/plan.js';
import { GatewayError } from '../openai/errors.js';
import type { DecisionRing } from '../telemetry/decision-ring.js';
import type { Logger } from '../util/log.js';
import type {
  Endpoint,
  InferenceRequest,
  PoolRouter,
  PoolRouterRegistry,
  RequestOutcome,
  RoutingDecision,
} from './types.js';

/** How `serve` receives the pool routers: the scheduler's registry has the same factory shape. */
export type PoolRouterRegistryFactory = (opts: {
  metrics: Registry;
  logger: Logger;
  /** The gateway's decision ring, for routers that record their decisions. */
  decisions?: DecisionRing;
}) => PoolRouterRegistry;

export const createLeastRequestPoolRegistry: PoolRouterRegistryFactory = () => new LeastRequestPoolRegistry();

export class LeastRequestPoolRegistry implements PoolRouterRegistry {
  /** In-flight requests per endpoint id, shared by every pool and kept across reloads. */
  readonly inFlight = new Map<string, number>();
  private routers = new Map<string, LeastRequestPoolRouter>();

  sync(plan: Plan): void {
    const next = new Map<string, LeastRequestPoolRouter>();
    for (const [key, pool] of plan.pools) next.set(key, new LeastRequestPoolRouter(pool, this.inFlight));
    this.routers = next;
  }

  get(poolKey: string): PoolRouter | undefined {
    return this.routers.get(poolKey);
  }

  async close(): Promise<void> {
    this.routers = new Map();
  }
}

export class LeastRequestPoolRouter implements PoolRouter {
  private readonly endpoints: readonly Endpoint[];
  private rr = 0;

  constructor(
    readonly pool: PoolPlan,
    private readonly inFlight: Map<string, number>,
  ) {
    const eps: Endpoint[] = [];
    for (const a of pool.endpoints) {
      if (!a.ready) continue;
      const host = a.address.includes(':') ? `[${a.address}]` : a.address;
      eps.push({
        id: `${host}:${a.port}`,
        address: a.address,
        port: a.port,
        podName: a.podName,
        labels: a.labels,
      });
    }
    this.endpoints = eps;
  }

  async route(req: InferenceRequest, _signal: AbortSignal): Promise<RoutingDecision> {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) {
      throw new GatewayError('NO_READY_ENDPOINT', `InferencePool ${this.pool.key} has no ready endpoint.`);
    }
    // Rotate the start so that ties are broken round-robin, then a stable sort by in-flight.
    const start = this.rr++ % n;
    const ordered: Endpoint[] = new Array(n);
    for (let i = 0; i < n; i++) ordered[i] = eps[(start + i) % n]!;
    ordered.sort((a, b) => this.count(a.id) - this.count(b.id));
    const first = ordered[0]!;
    return new LeastRequestDecision(
      ordered,
      req.body,
      req.model,
      `least-request: ${first.id} had ${this.count(first.id)} in flight (${n} ready)`,
      this.inFlight,
    );
  }

  private count(id: string): number {
    return this.inFlight.get(id) ?? 0;
  }
}

class LeastRequestDecision implements RoutingDecision {
  constructor(
    readonly endpoints: readonly Endpoint[],
    readonly body: Buffer,
    readonly targetModel: string | undefined,
    readonly reason: string,
    private readonly inFlight: Map<string, number>,
  ) {}

  onDispatch(endpoint: Endpoint): void {
    this.inFlight.set(endpoint.id, (this.inFlight.get(endpoint.id) ?? 0) + 1);
  }

  onComplete(endpoint: Endpoint, _outcome: RequestOutcome): void {
    const n = (this.inFlight.get(endpoint.id) ?? 0) - 1;
    if (n > 0) this.inFlight.set(endpoint.id, n);
    else this.inFlight.delete(endpoint.id);
  }
}
