/**
 * Where the endpoints of an exchange's successive attempts come from: an InferencePool router's
 * decision (primary first, then fallbacks), or a Service's balancer (endpoints already tried are
 * skipped; failures feed passive outlier detection). The primary request and its mirror copies use
 * the same sources, so both follow one outlier rule.
 */
import type { ServiceLbPolicy } from '../config/plan.js';
import type { Endpoint, RequestOutcome, RoutingDecision } from '../requestcontrol/types.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { Logger } from '../util/log.js';
import type { Rng } from '../util/rng.js';
import type { OutlierDetector } from './outlier.js';
import type { ServiceTarget } from './service-balancer.js';
import type { UpstreamEndpoint, UpstreamEndpointTable } from './upstream-endpoint.js';

/** What an endpoint source needs of the process (the primary request and mirror copies alike). */
export interface EndpointSourceDeps {
  readonly endpoints: UpstreamEndpointTable;
  readonly outlier: OutlierDetector;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly rng: Rng;
}

/** Where the endpoints of successive attempts come from. */
export interface EndpointSource {
  /** The endpoint of attempt `n` (0-based), or undefined when none is left. */
  next(n: number): UpstreamEndpoint | undefined;
  /** True when an attempt after `n` could find another endpoint. */
  hasMoreAfter(n: number): boolean;
  dispatched(ep: UpstreamEndpoint): void;
  /** The attempt sent to `ep` answered its first token (streams; at most once, before completed). */
  firstToken(ep: UpstreamEndpoint): void;
  completed(ep: UpstreamEndpoint, outcome: RequestOutcome): void;
}

/** InferencePool: the router's decision lists the endpoints, primary first. */
export class PoolEndpoints implements EndpointSource {
  private current: Endpoint | undefined;

  constructor(
    private readonly decision: RoutingDecision,
    private readonly ctx: EndpointSourceDeps,
  ) {}

  next(n: number): UpstreamEndpoint | undefined {
    const e = this.decision.endpoints[n];
    this.current = e;
    return e === undefined ? undefined : this.ctx.endpoints.get(e.address, e.port);
  }

  hasMoreAfter(n: number): boolean {
    return this.decision.endpoints.length > n + 1;
  }

  // A router's bookkeeping must not break the request it routed: errors are logged, not thrown.
  dispatched(): void {
    try {
      this.decision.onDispatch(this.current!);
    } catch (err) {
      this.ctx.logger.error({ err, endpoint: this.current?.id }, 'pool router onDispatch failed');
    }
  }

  firstToken(): void {
    try {
      this.decision.onFirstToken?.(this.current!);
    } catch (err) {
      this.ctx.logger.error({ err, endpoint: this.current?.id }, 'pool router onFirstToken failed');
    }
  }

  completed(_ep: UpstreamEndpoint, outcome: RequestOutcome): void {
    try {
      this.decision.onComplete(this.current!, outcome);
    } catch (err) {
      this.ctx.logger.error({ err, endpoint: this.current?.id }, 'pool router onComplete failed');
    }
  }
}

/** Service: the balancer picks, endpoints already tried are skipped, failures feed outlier detection. */
export class ServiceEndpoints implements EndpointSource {
  private tried: UpstreamEndpoint[] | undefined;

  constructor(
    private readonly target: ServiceTarget,
    private readonly policy: ServiceLbPolicy,
    private readonly ctx: EndpointSourceDeps,
  ) {}

  next(): UpstreamEndpoint | undefined {
    const ep = this.target.pick(this.policy, this.ctx.rng, performance.now(), this.tried);
    if (ep !== undefined) {
      this.tried ??= [];
      this.tried.push(ep);
    }
    return ep;
  }

  hasMoreAfter(n: number): boolean {
    return this.target.endpoints.length > n + 1;
  }

  dispatched(): void {}

  firstToken(): void {}

  completed(ep: UpstreamEndpoint, outcome: RequestOutcome): void {
    const failed = outcome.status >= 500 || (outcome.status === 0 && outcome.error !== 'client-abort');
    if (!failed) {
      this.ctx.outlier.success(ep);
      return;
    }
    if (this.ctx.outlier.failure(ep, this.target.endpoints, performance.now())) {
      this.ctx.metrics.ejection(this.target.label, ep.id);
      this.ctx.logger.warn(
        { endpoint: ep.id, backend: this.target.label, ejections: ep.ejections },
        'endpoint ejected by outlier detection',
      );
    }
  }
}
