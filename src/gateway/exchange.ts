/**
 * One client request through the gateway, from arrival to the last byte and the access-log line:
 *
 *   match route → draw backend by weight (route-request.ts) → read body once (bounded) → start mirror
 *   copies → InferencePool: PoolRouter.route() | Service: balancer (endpoint-sources.ts) → the attempt
 *   loop, here (retry on connect error / reset / 503 to another endpoint, only before any response
 *   byte; each attempt relays the response: attempt.ts, relay.ts) → answer an error (answer.ts) →
 *   metrics, access log, mirror comparison (record.ts).
 *
 * Timeouts (see docs/gateway.md): the request timeout (HTTPRoute `timeouts.request`, else the
 * Gateway's BackendTrafficPolicy, else `--request-timeout`) covers the whole exchange, stream included,
 * from arrival to the last byte, as Envoy's route timeout does; `timeouts.backendRequest` covers one
 * upstream attempt the same way; `--idle-timeout` bounds the wait for each next upstream byte. A
 * timeout before any response byte answers 504; after, an SSE stream gets a final `data: {"error":…}`
 * event and ends cleanly, any other body is cut (the client sees a truncated response).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { PoolPlan } from '../config/plan.js';
import { GatewayError } from '../openai/errors.js';
import { inferenceRequest } from '../openai/inference-request.js';
import { ModelRewriter } from '../openai/model-rewrite.js';
import { modelsPathTarget, poolModelCards } from '../openai/models-list.js';
import { type ParsedRequest, parseRequestBody, withStreamUsage } from '../openai/request.js';
import type { BodyKind } from '../openai/response-observer.js';
import type { RequestOutcome } from '../requestcontrol/types.js';
import { type DecisionRecord, decisionHeader } from '../telemetry/decision-ring.js';
import { answerError, endCutResponse, gatewayErrorFor } from './answer.js';
import { Attempt, AttemptFailure, attemptResult, errorDetail } from './attempt.js';
import { readBody } from './body.js';
import type { AbortReason, GatewayContext, InFlightRequest } from './context.js';
import { type EndpointSource, PoolEndpoints, ServiceEndpoints } from './endpoint-sources.js';
import { rewritePath } from './filters.js';
import {
  buildUpstreamHeaders,
  clientResponseHeaders,
  DEBUG_DECISION,
  DEBUG_ENDPOINT,
  REQUEST_ID,
  type UpstreamHeaders,
} from './headers.js';
import type { MirrorPair } from './mirror.js';
import { recordExchange } from './record.js';
import type { RelayResult } from './relay.js';
import { drawBackend, matchRoute, requireResolved } from './route-request.js';
import type { RouteEntry } from './route-table.js';
import type { BackendRuntime, GatewayState, RuleRuntime } from './state.js';
import { CallAborted } from './upstream-call.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js';

const NOT_PARSED: ParsedRequest = { json: undefined, model: undefined, stream: false, includeUsage: false };
const JSON_CONTENT_TYPE = 'application/json';
/** HTTP status logged when the client went away before the response ended (nginx's convention). */
export const CLIENT_CLOSED = 499;

function noop(): void {}

export class Exchange implements InFlightRequest {
  readonly startedAt = performance.now();
  readonly id: string;
  abortReason: AbortReason | undefined;
  /** The upstream call in progress, aborted by cancel(). */
  private call: Attempt | undefined;
  /** Created only when someone needs a signal (pool routing, mirrors following the client). */
  private abortCtl: AbortController | undefined;

  // What the access log and metrics report.
  entry: RouteEntry<RuleRuntime> | undefined;
  backend: BackendRuntime | undefined;
  model: string | undefined;
  targetModel: string | undefined;
  endpoint: string | undefined;
  reason: string | undefined;
  /** The pool's decision record, when it was recorded (debug output or someone watching). */
  decisionRecord: DecisionRecord | undefined;
  retries = 0;
  status = 0;
  error: string | undefined;
  errorDetail: string | undefined;
  /** Counted in inference_objective_running_requests (a pool request with a model). */
  objectiveStarted = false;
  ttftMs: number | undefined;
  promptTokens: number | undefined;
  completionTokens: number | undefined;

  private isSse = false;
  /** Read usage from JSON answers (OpenAI completion and embedding paths). */
  observeJson = false;
  private requestTimer: NodeJS.Timeout | undefined;
  private mirrorPairs: MirrorPair[] | undefined;
  mirrorNotes: string[] | undefined;
  private finished = false;

  constructor(
    private readonly ctx: GatewayContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** The declared listener port the request arrived on. */
    readonly port: number,
  ) {
    const given = req.headers[REQUEST_ID];
    this.id = typeof given === 'string' && given.length > 0 && given.length <= 256 ? given : randomUUID();
    req.on('error', noop); // a client abort mid-upload must not crash the process
    res.on('close', this.onResponseClose);
  }

  /** Runs the exchange to its end; never throws. */
  async run(): Promise<void> {
    this.ctx.track(this);
    this.ctx.metrics.requestStarted();
    try {
      await this.handle();
    } catch (err) {
      this.respondError(err);
    } finally {
      this.finish();
    }
  }

  /** Stops the exchange (client gone, timeout, shutdown deadline); the upstream request is aborted. */
  cancel(reason: AbortReason): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.call?.abort(new CallAborted(reason));
    this.abortCtl?.abort(new CallAborted(reason));
  }

  /** Aborted when the exchange is cancelled. */
  get signal(): AbortSignal {
    if (this.abortCtl === undefined) {
      this.abortCtl = new AbortController();
      if (this.abortReason !== undefined) this.abortCtl.abort(new CallAborted(this.abortReason));
    }
    return this.abortCtl.signal;
  }

  private readonly onResponseClose = (): void => {
    if (!this.res.writableFinished) this.cancel('client-abort');
  };

  private readonly onRequestTimeout = (): void => {
    this.cancel('timeout');
  };

  private async handle(): Promise<void> {
    const { req, ctx } = this;
    const state = ctx.state;
    if (state === undefined) throw new GatewayError('NO_READY_ENDPOINT', 'No configuration is loaded yet.');
    const { entry, url, q, path, method } = matchRoute(state, this.port, req);
    this.entry = entry;
    const rule = entry.data;
    this.backend = drawBackend(rule, ctx.rng);
    const backend = requireResolved(this.backend);
    if ((method === 'GET' || method === 'HEAD') && backend.kind === 'InferencePool') {
      const target = modelsPathTarget(path);
      if (target !== undefined && this.answerModels(state, rule, target)) return;
    }

    const timeouts = rule.rule.timeouts;
    const requestMs = timeouts.requestMs ?? entry.listener.requestTimeoutMs ?? ctx.opts.requestTimeoutMs;
    if (requestMs > 0) this.requestTimer = setTimeout(this.onRequestTimeout, requestMs);

    const rewrite = rule.rule.urlRewrite;
    const upstreamPath =
      rewrite?.path !== undefined
        ? rewritePath(path, rewrite.path, entry.rewritePrefix) + (q < 0 ? '' : url.slice(q))
        : url;
    const headers = buildUpstreamHeaders(req, {
      requestId: this.id,
      host: rewrite?.hostname,
      modifier: rule.rule.requestHeaderModifier,
      remoteAddress: req.socket.remoteAddress,
    });

    const body = await readBody(req, ctx.opts.maxBodyBytes);
    const isPool = backend.kind === 'InferencePool';
    const parsed =
      isPool || looksLikeJson(req.headers['content-type'], body)
        ? parseRequestBody(body, isPool)
        : NOT_PARSED;
    this.model = parsed.model;
    this.targetModel = parsed.model;
    if (isPool && parsed.model !== undefined) {
      ctx.metrics.reference.started(parsed.model);
      this.objectiveStarted = true;
    }
    const completions = path.endsWith('/completions');
    this.observeJson = completions || path.endsWith('/embeddings');
    // Token counts for streams: ask the server for usage and hide it from a client that did not.
    const injectUsage = parsed.stream && !parsed.includeUsage && completions;
    const policy = entry.route.loadBalancer ?? entry.listener.loadBalancer ?? ctx.opts.serviceLb;

    if (rule.mirrors.length > 0) {
      this.startMirrors(rule, {
        requestId: this.id,
        startedAt: this.startedAt,
        method,
        path: upstreamPath,
        headers,
        requestHeaders: req.headers,
        body,
        parsed,
        injectUsage,
        policy,
        clientSignal: ctx.opts.mirrorFollowsClientAbort ? this.signal : undefined,
      });
    }

    if (isPool) {
      const router = ctx.pools.get(backend.key);
      if (router === undefined) {
        throw new GatewayError(
          'BACKEND_UNRESOLVED',
          `InferencePool ${backend.key} is not known to the pool routers.`,
        );
      }
      const ireq = inferenceRequest(
        {
          id: this.id,
          pool: backend.key,
          path: upstreamPath,
          headers: req.headers,
          body,
          receivedAt: this.startedAt,
        },
        parsed,
      );
      const decision = await router.route(ireq, this.signal);
      if (this.abortReason !== undefined) throw abortError(this.abortReason);
      this.targetModel = decision.targetModel;
      this.reason = decision.reason;
      this.decisionRecord = decision.record;
      const upstreamBody = injectUsage
        ? (withStreamUsage(decision.body, parsed) ?? decision.body)
        : decision.body;
      const rm = decision.responseModel;
      await this.attempts(
        new PoolEndpoints(decision, ctx),
        method,
        upstreamPath,
        headers,
        upstreamBody,
        rm !== undefined ? new ModelRewriter(rm.upstream, rm.client) : undefined,
        injectUsage,
      );
    } else {
      const target = backend.service!;
      if (target.endpoints.length === 0) {
        throw new GatewayError('NO_READY_ENDPOINT', `${backend.label} has no ready endpoint.`);
      }
      this.reason = policy;
      const upstreamBody = injectUsage ? (withStreamUsage(body, parsed) ?? body) : body;
      await this.attempts(
        new ServiceEndpoints(target, policy, ctx),
        method,
        upstreamPath,
        headers,
        upstreamBody,
        undefined,
        injectUsage,
      );
    }
  }

  /**
   * `GET /v1/models[/{id}]` on a pool route: answered here with the names the route's pools serve.
   * Returns false (pass the request on) when the pools declare no names.
   */
  private answerModels(
    state: GatewayState,
    rule: RuleRuntime,
    target: NonNullable<ReturnType<typeof modelsPathTarget>>,
  ): boolean {
    const pools: PoolPlan[] = [];
    for (const b of rule.backends) {
      const p = b.kind === 'InferencePool' ? state.plan.pools.get(b.key) : undefined;
      if (p !== undefined) pools.push(p);
    }
    const cards = poolModelCards(pools, Math.floor(state.loadedAt.getTime() / 1000));
    if (cards.length === 0) return false;
    let value: unknown = { object: 'list', data: cards };
    if (target.kind === 'one') {
      value = cards.find((c) => c.id === target.id);
      if (value === undefined)
        throw new GatewayError('MODEL_NOT_FOUND', `The model \`${target.id}\` does not exist.`, 'model');
      this.model = target.id;
    }
    const body = JSON.stringify(value);
    this.status = 200;
    this.res.writeHead(200, {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      [REQUEST_ID]: this.id,
    });
    this.res.end(this.req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private startMirrors(rule: RuleRuntime, input: Parameters<GatewayContext['mirrors']['send']>[1]): void {
    const rng = this.ctx.rng;
    for (const m of rule.mirrors) {
      if (m.fraction < 1 && !(rng.next() < m.fraction)) continue;
      const pair = this.ctx.mirrors.send(m, input);
      this.mirrorNotes ??= [];
      this.mirrorNotes.push(pair ? m.backend.label : `${m.backend.label}:dropped`);
      if (pair) {
        this.mirrorPairs ??= [];
        this.mirrorPairs.push(pair);
      }
    }
  }

  private async attempts(
    src: EndpointSource,
    method: string,
    path: string,
    headers: UpstreamHeaders,
    body: Buffer,
    rewrite: ModelRewriter | undefined,
    stripUsage: boolean,
  ): Promise<void> {
    const max = Math.max(1, this.ctx.opts.maxAttempts);
    let last: AttemptFailure | undefined;
    for (let n = 0; n < max; n++) {
      if (this.abortReason !== undefined) throw abortError(this.abortReason);
      const ep = src.next(n);
      if (ep === undefined) break;
      if (n > 0) {
        this.retries++;
        this.ctx.metrics.retry(this.backend!.label);
      }
      const canRetry = n + 1 < max && src.hasMoreAfter(n);
      const failure = await this.attempt(src, ep, method, path, headers, body, rewrite, stripUsage, canRetry);
      if (failure === undefined) return;
      last = failure;
      if (!failure.retryable || this.abortReason !== undefined) break;
    }
    if (this.abortReason !== undefined) throw abortError(this.abortReason);
    if (last === undefined) {
      throw new GatewayError('NO_READY_ENDPOINT', `${this.backend!.label} has no ready endpoint.`);
    }
    this.error = last.kind;
    this.errorDetail = `${last.endpoint}: ${last.detail}`;
    throw last.toGatewayError();
  }

  /** One upstream attempt. Resolves undefined when a response was relayed (fully or not), else why not. */
  private attempt(
    src: EndpointSource,
    ep: UpstreamEndpoint,
    method: string,
    path: string,
    headers: UpstreamHeaders,
    body: Buffer,
    rewrite: ModelRewriter | undefined,
    stripUsage: boolean,
    canRetry: boolean,
  ): Promise<AttemptFailure | undefined> {
    this.endpoint = ep.id;
    headers.list[headers.endpointSlot] = ep.id;
    ep.inFlight++;
    src.dispatched(ep);
    return new Promise((resolve) => {
      const call = new Attempt(this, src, ep, resolve, rewrite, stripUsage, canRetry);
      this.call = call;
      const backendMs = this.entry!.data.rule.timeouts.backendRequestMs ?? 0;
      if (backendMs > 0) call.startTimer(backendMs);
      call.start(ep, {
        method,
        path,
        headers: headers.list,
        body: body.length > 0 || (method !== 'GET' && method !== 'HEAD') ? body : null,
        idleTimeoutMs: this.ctx.opts.idleTimeoutMs,
      });
    });
  }

  /** Bookkeeping when an attempt ends (called by Attempt). */
  attemptFinished(
    call: Attempt,
    src: EndpointSource,
    ep: UpstreamEndpoint,
    result: RelayResult,
  ): AttemptFailure | undefined {
    const { ctx } = this;
    const label = this.backend!.label;
    this.call = undefined;
    ep.inFlight--;
    const observer = call.observed;
    if (observer !== undefined) {
      this.ttftMs = observer.ttftMs;
      this.promptTokens = observer.usage?.promptTokens;
      this.completionTokens = observer.usage?.completionTokens;
    }
    switch (result.kind) {
      case 'done':
        src.completed(ep, this.outcome(this.status, true, undefined));
        return undefined;
      case 'retry-503':
        src.completed(ep, { status: 503, ok: false, error: 'status-503' });
        ctx.metrics.attempt(label, ep.id, 'status_503_retried');
        return new AttemptFailure('status-503', ep.id, 'answered 503');
      case 'no-response': {
        const kind = this.failureKind(result.err, call.timedOut);
        src.completed(ep, { status: 0, ok: false, error: this.abortReason ?? kind });
        ctx.metrics.attempt(label, ep.id, attemptResult(this.abortReason, kind));
        return new AttemptFailure(kind, ep.id, errorDetail(result.err));
      }
      default: {
        const kind = this.failureKind(result.err, call.timedOut);
        src.completed(ep, this.outcome(this.status, false, this.abortReason ?? kind));
        this.endAfterStreamFailure(kind, result.err);
        return undefined;
      }
    }
  }

  /** The upstream's response head arrived (called by Attempt). */
  headArrived(status: number, kind: BodyKind, ep: UpstreamEndpoint): void {
    this.status = status;
    this.isSse = kind === 'sse';
    this.ctx.metrics.attempt(this.backend!.label, ep.id, 'response');
  }

  private outcome(status: number, ok: boolean, error: string | undefined): RequestOutcome {
    return {
      status,
      ok,
      ttftMs: this.ttftMs,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      error,
    };
  }

  /** The client's response headers for an upstream response (called by Attempt). */
  responseHeaders(up: IncomingHttpHeaders, ep: UpstreamEndpoint, dropLength: boolean): OutgoingHttpHeader[] {
    const h = clientResponseHeaders(up, this.id, dropLength);
    // Endpoint addresses are internal: only when the operator turned debug headers on.
    if (this.ctx.opts.debugHeaders) h.push(DEBUG_ENDPOINT, ep.id);
    // The decision's scores only with debug output on: they describe the pool to whoever asks.
    if (this.ctx.opts.debugHeaders && this.decisionRecord !== undefined) {
      h.push(DEBUG_DECISION, decisionHeader(this.decisionRecord));
    }
    if (this.ctx.draining) h.push('connection', 'close');
    return h;
  }

  /** The response started and then failed: end an SSE stream with an error event, cut anything else. */
  private endAfterStreamFailure(kind: UpstreamFailure, err: Error): void {
    const reason = this.abortReason;
    this.error = reason ?? kind;
    this.errorDetail = `${this.endpoint}: ${errorDetail(err)}`;
    if (reason === 'client-abort') return;
    const res = this.res;
    this.ctx.logger.warn(
      { id: this.id, endpoint: this.endpoint, reason: reason ?? kind, err: errorDetail(err) },
      'response cut short after it started',
    );
    this.status = endCutResponse(res, this.isSse, reason, kind);
    this.ctx.metrics.streamError(this.backend!.label, reason ?? kind);
  }

  /** Why an attempt failed: our own aborts first (their errors carry only the abort reason). */
  private failureKind(err: unknown, attemptTimedOut: boolean): UpstreamFailure {
    if (this.abortReason === 'timeout' || attemptTimedOut) return 'timeout';
    if (this.abortReason !== undefined) return 'aborted';
    return classifyUpstreamError(err);
  }

  private respondError(err: unknown): void {
    if (this.abortReason === 'client-abort') {
      this.error ??= 'client-abort';
      return;
    }
    const ge = gatewayErrorFor(err, this.abortReason, this.ctx.logger, this.id);
    this.status = ge.status;
    this.error ??= ge.code;
    answerError(this.res, ge, this.id, this.ctx.draining);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    const { ctx } = this;
    if (this.abortReason === 'client-abort') this.status = CLIENT_CLOSED;
    recordExchange(ctx, this, performance.now() - this.startedAt, this.mirrorPairs);
    ctx.untrack(this);
  }
}

function looksLikeJson(contentType: string | undefined, body: Buffer): boolean {
  if (body.length === 0) return false;
  if (contentType?.startsWith(JSON_CONTENT_TYPE)) return true;
  // curl -d sends JSON as application/x-www-form-urlencoded; a leading `{` is enough to try.
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09))
    i++;
  return body[i] === 0x7b;
}

function abortError(reason: AbortReason): Error {
  const e = new Error(`aborted: ${reason}`);
  e.name = 'AbortError';
  return e;
}
