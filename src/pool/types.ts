/**
 * CONTRACT between the gateway (which proxies) and the pool/scheduling rooms (which decide where an
 * InferencePool request goes). The gateway reads the body once, asks the pool's router for a
 * decision, proxies, and reports back; routers never do I/O on the request path except waiting in
 * their own admission queue.
 */
import type { Criticality, Plan, PoolPlan } from '../config/plan.js';
import type { Labels } from '../util/labels.js';

/** One model-server endpoint: a pod IP and one of the pool's target ports. */
export interface Endpoint {
  /** `address:port`, the value of `x-gateway-destination-endpoint`. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly podName?: string;
  readonly labels: Labels;
}

/** An OpenAI-style request bound for an InferencePool, as the gateway parsed it. */
export interface InferenceRequest {
  /** The request id (`x-request-id`, generated when the client sent none). */
  readonly id: string;
  /** Pool key `namespace/name`. */
  readonly pool: string;
  /** Path after any URLRewrite, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw request bytes as received. */
  readonly body: Buffer;
  /** Parsed JSON object, or undefined when the body is empty or not a JSON object. */
  readonly json: Readonly<Record<string, unknown>> | undefined;
  /** `json.model` when it is a string. */
  readonly model: string | undefined;
  readonly stream: boolean;
  /** `performance.now()` when the request arrived. */
  readonly receivedAt: number;
}

/** What a request's completion looked like, for in-flight accounting and learning. */
export interface RequestOutcome {
  /** HTTP status sent upstream returned (0 when no response arrived). */
  status: number;
  /** True when the response was sent to the client in full. */
  ok: boolean;
  ttftMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Why it failed, when it did: `connect`, `timeout`, `reset`, `client-abort` … */
  error?: string;
}

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
  /** Called once per attempt, as the request is sent to `endpoint`. */
  onDispatch(endpoint: Endpoint): void;
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
  get(poolKey: string): PoolRouter | undefined;
  /** Stops scrapers and timers. */
  close(): Promise<void>;
}

export type { PoolPlan };
