/**
 * One ext_proc stream = one HTTP request through Envoy, in FULL_DUPLEX_STREAMED body mode:
 *
 *   request headers ─► (body chunks buffered to end of stream, bounded) ─► parse once
 *   ─► PoolRouter.route() (objective, admission, scheduler, model rewrite: the same as `serve`)
 *   ─► answer the headers (destination header + `envoy.lb` metadata, clear_route_cache,
 *      Content-Length) and stream the (possibly rewritten) body back in ≤ 62,000-byte chunks
 *   ─► response headers: status, the endpoint that served (moves the in-flight count if Envoy used a
 *      fallback), what the body needs
 *   ─► response body: echoed as it comes; read on the side (TTFT, usage) and rewritten (model name
 *      back, the usage-only chunk the picker asked for dropped) only when that is needed
 *   ─► end of response (or of the stream): the router hears onComplete, metrics are recorded.
 *
 * Errors before an endpoint is chosen are answered as an ImmediateResponse (messages.ts).
 * Messages are answered in the order Envoy needs them (headers, body…, trailers) on each side.
 */
import { randomUUID } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GatewayError } from '../openai/errors.js';
import { inferenceRequest } from '../openai/inference-request.js';
import { ModelRewriter } from '../openai/model-rewrite.js';
import { type ParsedRequest, parseRequestBody, withStreamUsage } from '../openai/request.js';
import { bodyKind, ResponseObserver } from '../openai/response-observer.js';
import { DECISION_RESPONSE_HEADER, ENDPOINT_RESPONSE_HEADER } from '../requestcontrol/index.js';
import type { Endpoint, PoolRouter, RequestOutcome, RoutingDecision } from '../requestcontrol/types.js';
import { decisionHeader } from '../telemetry/decision-ring.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import {
  type BodyDirection,
  bodyResponse,
  bodyResponses,
  headerMap,
  immediateError,
  requestHeadersResponse,
  responseHeadersResponse,
  servedEndpoint,
  setHeader,
  subsetHint,
} from './messages.js';
import {
  BODY_SEND_MODE_NONE,
  type HeaderValueOption,
  type ProcessingRequest,
  type ProcessingResponse,
} from './proto.js';

/** What every stream of one picker shares. */
export interface StreamContext {
  /** The pool's router, or undefined while the plan has no such pool. */
  router(): PoolRouter | undefined;
  /** Pool key `namespace/name`. */
  readonly poolKey: string;
  /** `InferencePool ns/name`: the backend label of the request metrics (as `serve` labels them). */
  readonly backendLabel: string;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Largest request body buffered, bytes (413 beyond). */
  readonly maxBodyBytes: number;
  /**
   * Ask the model server for usage on streamed completions the client did not ask usage for, and
   * drop that usage chunk from what the client gets (as `serve` does), so token metrics and the
   * router's accounting see every stream's counts.
   */
  readonly injectStreamUsage: boolean;
  /**
   * `epp --debug-headers`: every response names the endpoint that served (x-infergate-endpoint) and
   * the scheduling decision (x-infergate-decision), as `serve --debug-headers` does. Off, no client
   * can get either: they are internal addresses and the pool's scores.
   */
  readonly debugHeaders: boolean;
  /** Streams open now (for graceful shutdown). */
  readonly open: Set<ExtProcStream>;
  /**
   * How Envoy was configured (`envoy-config --response-bodies`): `when-needed` means response bodies
   * come only for requests whose model was rewritten; for the others the response ends with the
   * stream. A body that arrives anyway is still relayed.
   */
  readonly responseBodies: 'always' | 'when-needed';
  /**
   * Counts what the proxy reported as the serving endpoint: the primary, another one (a fallback
   * after a failed attempt), or nothing (a proxy that does not report it).
   */
  served(outcome: 'primary' | 'other' | 'unreported'): void;
}

export type ExtProcCall = ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

const NOT_PARSED: ParsedRequest = { json: undefined, model: undefined, stream: false, includeUsage: false };
const EMPTY = Buffer.alloc(0);

type Phase =
  /** Reading the request (headers, body chunks). */
  | 'request'
  /** Waiting for the router's decision. */
  | 'routing'
  /** The request went upstream; waiting for the response. */
  | 'dispatched'
  /** Relaying the response body. */
  | 'response'
  /** Finished (response complete, error answered, or stream gone). */
  | 'done';

export class ExtProcStream {
  private phase: Phase = 'request';
  private readonly startedAt = performance.now();
  private headers: Record<string, string> = {};
  private requestId = '';
  private generatedId = false;
  private path = '/';
  private chunks: Buffer[] = [];
  private size = 0;
  private parsed: ParsedRequest = NOT_PARSED;
  private decision: RoutingDecision | undefined;
  /** The endpoint the in-flight count is on now. */
  private dispatched: Endpoint | undefined;
  private observer: ResponseObserver | undefined;
  private stripUsage = false;
  /**
   * False when the route's processing mode sends no response body (`envoy-config
   * --response-bodies rewrite-only` for pools without a model rewrite): the response then ends with
   * the stream, and usage / TTFT are not observed.
   */
  private responseBodies = true;
  private status = 0;
  private abort: AbortController | undefined;
  private readonly hadTrailers = { request: false };

  constructor(
    private readonly ctx: StreamContext,
    private readonly call: ExtProcCall,
  ) {
    ctx.open.add(this);
    call.on('data', this.onMessage);
    call.on('end', this.onEnd);
    call.on('error', this.onGone);
    call.on('cancelled', this.onGone);
  }

  /** Graceful shutdown: ends the stream (Envoy applies its failure mode to requests not decided yet). */
  close(): void {
    this.finish(0, false, 'shutdown');
    this.endCall();
  }

  private readonly onMessage = (msg: ProcessingRequest): void => {
    try {
      this.handle(msg);
    } catch (err) {
      this.fail(err);
    }
  };

  private handle(msg: ProcessingRequest): void {
    switch (msg.request) {
      case 'requestHeaders':
        this.onRequestHeaders(msg);
        return;
      case 'requestBody': {
        if (this.phase !== 'request') return;
        const b = msg.requestBody!;
        const chunk = b.body;
        if (chunk !== undefined && chunk.length > 0) {
          this.size += chunk.length;
          if (this.size > this.ctx.maxBodyBytes) {
            throw new GatewayError(
              'BODY_TOO_LARGE',
              `The request body is larger than ${this.ctx.maxBodyBytes} bytes.`,
            );
          }
          this.chunks.push(chunk);
        }
        if (b.endOfStream) this.startRouting(msg);
        return;
      }
      case 'requestTrailers':
        // The body is complete; it goes back without end of stream, then the trailers.
        this.hadTrailers.request = true;
        if (this.phase === 'request') this.startRouting(msg);
        return;
      case 'responseHeaders':
        this.onResponseHeaders(msg);
        return;
      case 'responseBody':
        this.onResponseBody(bodyBytes(msg.responseBody?.body), msg.responseBody?.endOfStream === true);
        return;
      case 'responseTrailers':
        this.send({ responseTrailers: {} });
        this.endResponse();
        return;
      default:
        return;
    }
  }

  private onRequestHeaders(msg: ProcessingRequest): void {
    this.ctx.metrics.requestStarted();
    // The filter's own mode (Envoy ≥ 1.33 says it on the first message; a per-route override is not
    // reported, hence the picker's --response-bodies flag, applied once the decision is known).
    const mode = msg.protocolConfig;
    this.responseBodies = mode == null || mode.responseBodyMode !== BODY_SEND_MODE_NONE;
    const h = headerMap(msg.requestHeaders);
    this.headers = h;
    const given = h['x-request-id'];
    if (given !== undefined && given.length > 0 && given.length <= 256) this.requestId = given;
    else {
      this.requestId = randomUUID();
      this.generatedId = true;
    }
    const path = h[':path'] ?? '/';
    const q = path.indexOf('?');
    this.path = q < 0 ? path : path.slice(0, q);
    // Headers with end of stream: no body (GET /v1/models …). It still gets an endpoint.
    if (msg.requestHeaders?.endOfStream) this.startRouting(msg);
  }

  private startRouting(msg: ProcessingRequest): void {
    this.phase = 'routing';
    const router = this.ctx.router();
    if (router === undefined) {
      throw new GatewayError('NO_READY_ENDPOINT', `InferencePool ${this.ctx.poolKey} is not loaded.`);
    }
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    const parsed = parseRequestBody(body, true);
    this.parsed = parsed;
    this.abort = new AbortController();
    const subset = subsetHint(msg);
    router
      .route(
        inferenceRequest(
          {
            id: this.requestId,
            pool: this.ctx.poolKey,
            path: this.path,
            headers: this.headers,
            body,
            receivedAt: this.startedAt,
            ...(subset !== undefined ? { endpointSubset: subset } : {}),
          },
          parsed,
        ),
        this.abort.signal,
      )
      .then(this.onDecision, this.onRoutingError);
  }

  private readonly onDecision = (decision: RoutingDecision): void => {
    if (this.phase !== 'routing') return; // the stream went away while waiting
    this.decision = decision;
    if (this.ctx.responseBodies === 'when-needed' && decision.responseModel === undefined) {
      this.responseBodies = false;
    }
    const parsed = this.parsed;
    const completions = this.path.endsWith('/completions');
    this.stripUsage =
      this.responseBodies &&
      this.ctx.injectStreamUsage &&
      parsed.stream &&
      !parsed.includeUsage &&
      completions;
    const upstreamBody = this.stripUsage
      ? (withStreamUsage(decision.body, parsed) ?? decision.body)
      : decision.body;
    const hasBody = upstreamBody.length > 0 || this.size > 0;
    const extra: HeaderValueOption[] = [];
    if (hasBody) extra.push(setHeader('content-length', String(upstreamBody.length)));
    if (this.generatedId) extra.push(setHeader('x-request-id', this.requestId));
    const destination = decision.endpoints.map((e) => e.id).join(',');
    this.send(requestHeadersResponse(destination, extra));
    if (hasBody || this.hadTrailers.request) {
      for (const r of bodyResponses('requestBody', upstreamBody, !this.hadTrailers.request)) this.send(r);
    }
    if (this.hadTrailers.request) this.send({ requestTrailers: {} });
    const primary = decision.endpoints[0]!;
    this.dispatched = primary;
    decision.onDispatch(primary);
    this.phase = 'dispatched';
  };

  private readonly onRoutingError = (err: unknown): void => {
    if (this.phase !== 'routing') return;
    this.fail(err);
  };

  private onResponseHeaders(msg: ProcessingRequest): void {
    if (this.phase !== 'dispatched') {
      this.send(responseHeadersResponse(false));
      return;
    }
    const h = headerMap(msg.responseHeaders);
    this.status = Number(h[':status'] ?? 0);
    const served = servedEndpoint(msg);
    this.ctx.served(
      served === undefined ? 'unreported' : served === this.dispatched!.id ? 'primary' : 'other',
    );
    this.moveToServed(served);
    const decision = this.decision!;
    const setHeaders: HeaderValueOption[] = [];
    // Endpoint addresses and scores are internal: only when the operator turned debug output on.
    if (this.ctx.debugHeaders) {
      setHeaders.push(setHeader(ENDPOINT_RESPONSE_HEADER, served ?? 'unreported'));
      if (decision.record !== undefined) {
        setHeaders.push(setHeader(DECISION_RESPONSE_HEADER, decisionHeader(decision.record)));
      }
    }
    const rm = decision.responseModel;
    const rewrite = rm !== undefined ? new ModelRewriter(rm.upstream, rm.client) : undefined;
    const kind = bodyKind(h['content-type'], h['content-encoding']);
    const observeJson = this.path.endsWith('/completions') || this.path.endsWith('/embeddings');
    // Read the body only when something needs it: TTFT and usage of a stream, usage of a JSON
    // answer, or a model name to rewrite back. Anything else is echoed untouched.
    const needed =
      this.responseBodies && (kind === 'sse' || (kind === 'json' && (observeJson || rewrite !== undefined)));
    if (needed) {
      const onFirstToken = (): void => {
        if (this.dispatched !== undefined) decision.onFirstToken?.(this.dispatched);
      };
      this.observer = new ResponseObserver(
        { startedAt: this.startedAt, observeJson, rewrite, stripUsageOnly: this.stripUsage, onFirstToken },
        kind,
      );
    }
    const o = this.observer;
    this.send(
      responseHeadersResponse(o !== undefined && (o.changesLength || o.buffersWholeBody), setHeaders),
    );
    this.phase = 'response';
    if (msg.responseHeaders?.endOfStream) this.endResponse();
  }

  /**
   * Envoy reports which endpoint served. When it is not the one counted (the primary failed and a
   * fallback answered), the count moves: the first attempt ends as a connect failure.
   */
  private moveToServed(served: string | undefined): void {
    const from = this.dispatched;
    if (served === undefined || from === undefined || served === from.id) return;
    const decision = this.decision!;
    const to = decision.endpoints.find((e) => e.id === served);
    if (to === undefined) return; // not one we chose (a proxy retry elsewhere): keep the count
    decision.onComplete(from, { status: 0, ok: false, error: 'connect' });
    decision.onDispatch(to);
    this.dispatched = to;
  }

  private onResponseBody(chunk: Buffer, endOfStream: boolean): void {
    this.responseBodies = true; // Envoy sends them after all: the response ends with its body
    const o = this.observer;
    if (o === undefined) {
      this.sendBody('responseBody', chunk, endOfStream);
      if (endOfStream) this.endResponse();
      return;
    }
    const out = chunk.length > 0 ? o.chunk(chunk) : '';
    if (!endOfStream) {
      if (out.length > 0) this.sendBody('responseBody', toBuffer(out), false);
      return;
    }
    const rest = o.end();
    if (o.rewrittenBody !== undefined) this.sendBody('responseBody', o.rewrittenBody, true);
    else {
      const tail = out.length === 0 ? toBuffer(rest) : rest.length === 0 ? toBuffer(out) : concat(out, rest);
      this.sendBody('responseBody', tail, true);
    }
    this.endResponse();
  }

  private sendBody(direction: BodyDirection, body: Buffer, endOfStream: boolean): void {
    if (body.length <= 62_000) this.send(bodyResponse(direction, body, endOfStream));
    else for (const r of bodyResponses(direction, body, endOfStream)) this.send(r);
  }

  /**
   * The response is complete (its last message answered): the router and the metrics hear how it
   * went, and the picker closes the stream cleanly, which the protocol reads as "proceed without the
   * server" — Envoy then need not reset it when the request ends (a reset costs both sides more).
   */
  private endResponse(): void {
    if (this.phase !== 'response') return;
    this.finish(this.status, this.status > 0 && this.status < 500, undefined);
    this.endCall();
  }

  /**
   * Ends the request's bookkeeping once: onComplete for the endpoint counted (if any), the request
   * metrics (status 499 when the stream went away first, as `serve` logs a client gone).
   */
  private finish(status: number, ok: boolean, error: string | undefined): void {
    if (this.phase === 'done') return;
    const wasRouting = this.phase === 'routing';
    this.phase = 'done';
    this.ctx.open.delete(this);
    if (wasRouting) this.abort?.abort(new Error(error ?? 'stream ended'));
    const o = this.observer;
    const outcome: RequestOutcome = {
      status,
      ok,
      ttftMs: o?.ttftMs,
      promptTokens: o?.usage?.promptTokens,
      completionTokens: o?.usage?.completionTokens,
      ...(error !== undefined ? { error } : {}),
    };
    if (this.dispatched !== undefined) this.decision!.onComplete(this.dispatched, outcome);
    this.ctx.metrics.requestFinished({
      listener: '',
      route: '',
      backend: this.ctx.backendLabel,
      model: this.parsed.model,
      targetModel: this.decision?.targetModel ?? this.parsed.model,
      status: error === 'client-abort' ? 499 : status,
      durationSeconds: (performance.now() - this.startedAt) / 1000,
      ttftSeconds: o?.ttftMs !== undefined ? o.ttftMs / 1000 : undefined,
      promptTokens: outcome.promptTokens,
      completionTokens: outcome.completionTokens,
    });
  }

  /** An error before the response: answered as an ImmediateResponse, then the stream ends. */
  private fail(err: unknown): void {
    if (this.phase === 'done') return;
    let ge: GatewayError;
    if (err instanceof GatewayError) ge = err;
    else {
      this.ctx.logger.error({ id: this.requestId, err }, 'ext_proc stream failed');
      ge = new GatewayError('INTERNAL', 'Internal endpoint picker error.');
    }
    if (this.phase === 'request' || this.phase === 'routing') {
      this.send(immediateError(ge, this.requestId || undefined));
    }
    this.finish(ge.status, false, ge.code);
    this.endCall();
  }

  /** Envoy half-closed the stream: the HTTP request is over (complete or not). */
  private readonly onEnd = (): void => {
    if (this.endsWithoutBody()) this.finish(this.status, this.status < 500, undefined);
    else this.finish(this.status, false, this.phase === 'response' ? 'reset' : 'client-abort');
    this.endCall();
  };

  /** Envoy cancelled the stream (client gone, timeout, Envoy shutting down, or the request is over). */
  private readonly onGone = (): void => {
    if (this.endsWithoutBody()) this.finish(this.status, this.status < 500, undefined);
    else this.finish(this.status, false, 'client-abort');
  };

  /** Response headers seen and no body will be sent to the picker: the stream's end is the response's. */
  private endsWithoutBody(): boolean {
    return this.phase === 'response' && !this.responseBodies;
  }

  private send(r: ProcessingResponse): void {
    if (this.call.writable && !this.call.destroyed) this.call.write(r);
  }

  private endCall(): void {
    if (this.call.writable && !this.call.destroyed) this.call.end();
  }
}

/** A decoded `bytes` field: a Buffer view of the wire, or (unset) the prototype's empty array. */
function bodyBytes(b: Buffer | undefined): Buffer {
  return b !== undefined && b.length > 0 ? b : EMPTY;
}

function toBuffer(x: Buffer | string): Buffer {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

function concat(a: Buffer | string, b: Buffer | string): Buffer {
  return Buffer.concat([toBuffer(a), toBuffer(b)]);
}
