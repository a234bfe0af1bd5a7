/**
 * One upstream attempt of an exchange (Attempt: relays the response to the client, then reports
 * back once), and how a failed attempt is described (AttemptFailure, for retries and the answer).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { GatewayError } from '../openai/errors.js';
import type { ModelRewriter } from '../openai/model-rewrite.js';
import type { BodyKind, ResponseObserver } from '../openai/response-observer.js';
import type { AttemptResult } from '../telemetry/gateway-metrics.js';
import type { AbortReason } from './context.js';
import type { EndpointSource } from './endpoint-sources.js';
import { ClientRelay, type RelayResult } from './relay.js';
import { CallAborted } from './upstream-call.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';
import { isRetryable, type UpstreamFailure } from './upstream-errors.js';

/** A failed attempt that produced no response for the client. */
export class AttemptFailure {
  constructor(
    readonly kind: UpstreamFailure | 'status-503',
    readonly endpoint: string,
    readonly detail: string,
  ) {}

  get retryable(): boolean {
    return this.kind === 'status-503' || isRetryable(this.kind as UpstreamFailure);
  }

  toGatewayError(): GatewayError {
    if (this.kind === 'timeout') {
      return new GatewayError('UPSTREAM_TIMEOUT', 'The upstream did not answer in time.');
    }
    // No address or errno for the client: the access log keeps them (error_detail).
    const what = this.kind === 'status-503' ? 'answered 503' : `failed (${this.kind})`;
    return new GatewayError('UPSTREAM_UNAVAILABLE', `The upstream ${what}.`);
  }
}

/** What an attempt reports to (the exchange's attempt loop). */
export interface AttemptOwner {
  readonly res: ServerResponse;
  /** `performance.now()` when the client request arrived. */
  readonly startedAt: number;
  /** Read usage from JSON answers. */
  readonly observeJson: boolean;
  responseHeaders(up: IncomingHttpHeaders, ep: UpstreamEndpoint, dropLength: boolean): OutgoingHttpHeader[];
  headArrived(status: number, kind: BodyKind, ep: UpstreamEndpoint): void;
  attemptFinished(
    call: Attempt,
    src: EndpointSource,
    ep: UpstreamEndpoint,
    result: RelayResult,
  ): AttemptFailure | undefined;
}

/** One upstream attempt of an exchange: relays the response and reports back once. */
export class Attempt extends ClientRelay {
  timedOut = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ex: AttemptOwner,
    private readonly src: EndpointSource,
    private readonly ep: UpstreamEndpoint,
    private readonly resolve: (failure: AttemptFailure | undefined) => void,
    rewrite: ModelRewriter | undefined,
    stripUsage: boolean,
    canRetry: boolean,
  ) {
    super(
      ex.res,
      {
        startedAt: ex.startedAt,
        observeJson: ex.observeJson,
        rewrite,
        stripUsageOnly: stripUsage,
        onFirstToken: () => src.firstToken(ep),
      },
      canRetry,
    );
  }

  get observed(): ResponseObserver | undefined {
    return this.observer;
  }

  /** HTTPRoute `timeouts.backendRequest`: this attempt is aborted after `ms`. */
  startTimer(ms: number): void {
    this.timer = setTimeout(this.onTimeout, ms);
  }

  private readonly onTimeout = (): void => {
    this.timedOut = true;
    this.abort(new CallAborted('attempt-timeout'));
  };

  protected responseHeaders(upstream: IncomingHttpHeaders, dropContentLength: boolean): OutgoingHttpHeader[] {
    return this.ex.responseHeaders(upstream, this.ep, dropContentLength);
  }

  protected headArrived(status: number, kind: BodyKind): void {
    this.ex.headArrived(status, kind, this.ep);
  }

  protected finished(result: RelayResult): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve(this.ex.attemptFinished(this, this.src, this.ep, result));
  }
}

export function attemptResult(reason: AbortReason | undefined, kind: UpstreamFailure): AttemptResult {
  if (reason === 'client-abort') return 'client_abort';
  switch (kind) {
    case 'connect':
      return 'connect_error';
    case 'reset':
      return 'reset';
    case 'timeout':
      return 'timeout';
    default:
      return reason === 'timeout' ? 'timeout' : 'error';
  }
}

export function errorDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
