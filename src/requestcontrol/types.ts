/**
 * CONTRACT between the front doors (which proxy, or tell a proxy where to go) and request control
 * (which decides where an InferencePool request goes). A front door reads the body once, asks the
 * pool's router for a decision, sends the request, and reports back; routers never do I/O on the
 * request path except waiting in their own admission queue. `Endpoint`, `InferenceRequest` and
 * `RequestOutcome` are declared in the lower rooms that read them and re-exported here.
 */
import type { Criticality, Plan, PoolPlan } from '../config/plan.js';
import type { Endpoint } from '../datastore/endpoint.js';
import type { InferenceRequest } from '../openai/inference-request.js';
import type { RequestOutcome } from '../scheduling/framework/endpoint.js';
import type { ModelServerMetrics } from '../scraping/model-server-metrics.js';
import type { DecisionRecord } from '../telemetry/decision-ring.js';

export type { Endpoint, InferenceRequest, RequestOutcome };

export interface RoutingDecision {
  /** Primary endpoint first; the rest are fallbacks for retries before any response byte. Never empty. */
  readonly endpoints: readonly Endpoint[];
  /** Bytes to send upstream: the original body unless the model was rewritten. */
  readonly body: Buffer;
  /** The model sent upstream (after objective / rewrite draw), for logs and metrics. */
  readonly targetModel: string | undefined;
  /**
   * When the body's model was rewritten: responses (JSON and every SSE chunk) carry `upstream` and the
   * client must see `client` instead.
   */
  readonly responseModel?: { readonly upstream: string; readonly client: string };
  /** Short human reason for the access log, e.g. `prefix 0.54 → 10.0.0.3:8000 (score 4.2)`. */
  readonly reason: string;
  readonly criticality?: Criticality;
  readonly objective?: string;
  /** The decision as recorded in the decision ring, when it was sampled ("why this endpoint"). */
  readonly record?: DecisionRecord;
  /** Called once per attempt, as the request is sent to `endpoint`. */
  onDispatch(endpoint: Endpoint): void;
  /**
   * Called at most once per dispatched attempt, when its first token reaches the front door (streamed
   * answers; before onComplete). Optional for front doors: without it, work counted until the first
   * token is released at onComplete.
   */
  onFirstToken?(endpoint: Endpoint): void;
  /** Called exactly once per dispatched attempt, when it ends in any way. */
  onComplete(endpoint: Endpoint, outcome: RequestOutcome): void;
}

export interface PoolRouter {
  /**
   * Decides where a request goes. May wait (bounded, honouring `signal`) in an admission queue when
   * the pool is saturated. Throws GatewayError (MODEL_NOT_FOUND, POOL_SATURATED, QUEUE_TIMEOUT,
   * NO_READY_ENDPOINT, BAD_REQUEST …) when it cannot route.
   */
  route(req: InferenceRequest, signal: AbortSignal): Promise<RoutingDecision>;
}

/**
 * Owns one router per pool across config reloads: `sync` is called with every new plan and must keep
 * state (metrics, prefix index, in-flight counts) of pools and endpoints that still exist.
 */
export interface PoolRouterRegistry {
  sync(plan: Plan): void;
  /**
   * `plan` differs from the last synced one only in endpoint sets (pod churn): each pool's endpoints
   * are updated and its router, objectives and scheduler kept. Without it, `sync` is called.
   */
  updateEndpoints?(plan: Plan): void;
  get(poolKey: string): PoolRouter | undefined;
  /**
   * Opens what the registry serves on the network (peer load sharing's socket), once, before the
   * first request; a rejection stops startup with its message.
   */
  start?(): Promise<void>;
  /** Stops scrapers and timers. */
  close(): Promise<void>;
  /** Read-only state of every pool, for the live page (optional: routers without state omit it). */
  views?(): readonly PoolView[];
}

/** One pool as the live page shows it: a copy taken when asked, never on the request path. */
export interface PoolView {
  readonly key: string;
  /** Requests waiting in the gateway's admission queue. */
  readonly queued: number;
  readonly endpoints: readonly EndpointView[];
}

export interface EndpointView {
  readonly id: string;
  readonly podName: string | undefined;
  /** Ready in the plan and not taken out by failed scrapes. */
  readonly routable: boolean;
  readonly ready: boolean;
  readonly healthy: boolean;
  /** This gateway's requests in flight there. */
  readonly inflight: number;
  /** Its peer gateways' requests in flight there, as they share them (0 without sharing). */
  readonly peerInflight: number;
  /** Latest scraped load; undefined before the first scrape or when the page has none. */
  readonly metrics: ModelServerMetrics | undefined;
  /** Age of that snapshot, ms (undefined when there is none). */
  readonly metricsAgeMs: number | undefined;
  readonly lastError: string | undefined;
  readonly engine: string;
}

export type { PoolPlan };
