/**
 * Moves an upstream response to the client chunk by chunk with backpressure (ClientRelay), while
 * reading what the gateway must know from it (ResponseObserver, also used for mirror copies): the
 * time of the first token (SSE), and token usage (last SSE chunk, or the JSON body of a non-streamed
 * answer).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { ModelRewriter } from '../openai/model-rewrite.js';
import type { Usage } from '../openai/sse.js';
import { SseRelay, type StreamObserver } from '../openai/sse-relay.js';
import { usageFromJsonBody } from '../openai/usage.js';
import { UpstreamCall } from './upstream-call.js';

/** JSON bodies larger than this are passed through without reading usage from them. */
const MAX_JSON_OBSERVED = 8 * 1024 * 1024;

export type BodyKind = 'sse' | 'json' | 'other';

export function bodyKind(contentType: string | string[] | undefined, contentEncoding: unknown): BodyKind {
  // A compressed body cannot be read on the side; pass it through untouched.
  if (contentEncoding !== undefined && contentEncoding !== 'identity') return 'other';
  const ct = typeof contentType === 'string' ? contentType : undefined;
  if (ct === undefined) return 'other';
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.startsWith('application/json')) return 'json';
  return 'other';
}

export interface RelayOptions {
  /** performance.now() of the client request's arrival: TTFT is measured from it. */
  startedAt: number;
  /** Read usage from a JSON body (OpenAI completion endpoints). */
  observeJson: boolean;
  rewrite?: ModelRewriter;
  /** Drop the usage-only SSE chunk (the gateway asked for it, the client did not). */
  stripUsageOnly: boolean;
}

/** Observes (and for SSE possibly transforms) one response body. */
export class ResponseObserver implements StreamObserver {
  ttftMs: number | undefined;
  usage: Usage | undefined;
  /** JSON with a model rewrite: the whole rewritten body, set at end(); nothing is forwarded before. */
  rewrittenBody: Buffer | undefined;
  private readonly sse: SseRelay | undefined;
  private jsonChunks: Buffer[] | undefined;
  private jsonSize = 0;

  constructor(
    private readonly opts: RelayOptions,
    private readonly kind: BodyKind,
  ) {
    if (kind === 'sse') {
      this.sse = new SseRelay(this, { rewrite: opts.rewrite, stripUsageOnly: opts.stripUsageOnly });
    } else if (kind === 'json' && (opts.observeJson || opts.rewrite)) {
      this.jsonChunks = [];
    }
  }

  /** True when the whole body must be held before sending (JSON with a model rewrite). */
  get buffersWholeBody(): boolean {
    return this.kind === 'json' && this.opts.rewrite !== undefined;
  }

  /** True when the body sent differs in length from the upstream's (drop content-length). */
  get changesLength(): boolean {
    return this.kind === 'sse' && (this.opts.rewrite !== undefined || this.opts.stripUsageOnly);
  }

  onFirstToken(): void {
    this.ttftMs = performance.now() - this.opts.startedAt;
  }

  onUsage(u: Usage): void {
    this.usage = u;
  }

  /** What to forward for one upstream chunk. */
  chunk(c: Buffer): Buffer | string {
    if (this.sse !== undefined) return this.sse.push(c);
    const j = this.jsonChunks;
    if (j !== undefined) {
      this.jsonSize += c.length;
      if (this.jsonSize <= MAX_JSON_OBSERVED || this.buffersWholeBody) j.push(c);
      else this.jsonChunks = undefined;
      if (this.buffersWholeBody) return '';
    }
    return c;
  }

  /** At the end of the body: what is left to forward ('' for nothing). */
  end(): Buffer | string {
    if (this.sse !== undefined) return this.sse.end();
    const j = this.jsonChunks;
    if (j === undefined) return '';
    const body = j.length === 1 ? j[0]! : Buffer.concat(j, this.jsonSize);
    this.usage = usageFromJsonBody(body);
    if (this.buffersWholeBody) this.rewrittenBody = this.opts.rewrite!.rewriteBuffer(body);
    return '';
  }
}

/** How relaying one upstream response to the client ended. */
export type RelayResult =
  /** Relayed in full. */
  | { kind: 'done' }
  /** The upstream answered 503 and a retry is possible: nothing was sent, the body was discarded. */
  | { kind: 'retry-503' }
  /** Failed before any response byte: the client got nothing yet (retry or answer an error). */
  | { kind: 'no-response'; err: Error }
  /** Failed after the response started: the caller ends what the client has. */
  | { kind: 'cut'; err: Error };

/**
 * Relays one upstream response to the client: head as soon as it arrives, then each chunk as it
 * arrives (transformed by the observer when needed), pausing the upstream while the client's socket
 * buffer is full. Subclasses supply the response headers and learn how it went (one object per
 * attempt: no per-request closures).
 */
export abstract class ClientRelay extends UpstreamCall {
  protected observer: ResponseObserver | undefined;
  private discard = false;
  private status = 0;
  private upstreamHeaders: IncomingHttpHeaders | undefined;

  constructor(
    protected readonly res: ServerResponse,
    private readonly observe: RelayOptions,
    /** Discard a 503 so that the caller can retry elsewhere. */
    private readonly canRetry503: boolean,
  ) {
    super();
  }

  /** The client's response headers (flat list) from the upstream's. */
  protected abstract responseHeaders(
    upstream: IncomingHttpHeaders,
    dropContentLength: boolean,
  ): OutgoingHttpHeader[];
  /** The upstream's status arrived (before anything is written to the client). */
  protected abstract headArrived(status: number, kind: BodyKind): void;
  protected abstract finished(result: RelayResult): void;

  private readonly onDrain = (): void => {
    this.resume();
  };

  protected head(status: number, headers: IncomingHttpHeaders): void {
    if (status === 503 && this.canRetry503) {
      this.discard = true;
      return;
    }
    const kind = bodyKind(headers['content-type'], headers['content-encoding']);
    this.headArrived(status, kind);
    const observer = new ResponseObserver(this.observe, kind);
    this.observer = observer;
    this.status = status;
    if (observer.buffersWholeBody) this.upstreamHeaders = headers;
    else this.res.writeHead(status, this.responseHeaders(headers, observer.changesLength));
  }

  protected chunk(c: Buffer): void {
    const observer = this.observer;
    if (observer === undefined) return; // discarded 503
    const out = observer.chunk(c);
    if (out.length > 0 && !this.res.write(out)) {
      this.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  protected ended(): void {
    const observer = this.observer;
    if (this.discard || observer === undefined) {
      this.finished({ kind: 'retry-503' });
      return;
    }
    const res = this.res;
    res.removeListener('drain', this.onDrain);
    const rest = observer.end();
    if (observer.rewrittenBody !== undefined) {
      const body = observer.rewrittenBody;
      const h = this.responseHeaders(this.upstreamHeaders!, true);
      h.push('content-length', body.length);
      res.writeHead(this.status, h);
      res.end(body);
    } else if (rest.length > 0) res.end(rest);
    else res.end();
    this.finished({ kind: 'done' });
  }

  protected failed(err: Error): void {
    this.res.removeListener('drain', this.onDrain);
    const started = this.headersReceived && !this.discard && this.observer?.buffersWholeBody !== true;
    this.finished(started ? { kind: 'cut', err } : { kind: 'no-response', err });
  }
}
