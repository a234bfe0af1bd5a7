/**
 * Moves an upstream response to the client chunk by chunk with backpressure (ClientRelay), while the
 * transport-neutral ResponseObserver (src/openai) reads the time of the first token and token usage.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeader, ServerResponse } from 'node:http';
import {
  type BodyKind,
  bodyKind,
  type ResponseObserverOptions as RelayOptions,
  ResponseObserver,
} from '../openai/response-observer.js';
import { UpstreamCall } from './upstream-call.js';

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
