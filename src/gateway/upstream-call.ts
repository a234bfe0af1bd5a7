/**
 * One HTTP exchange with an upstream endpoint through undici's dispatch API: the response arrives as
 * callbacks (head, chunk, end, failure) on this object, with no Readable stream and no promise per
 * request in between — the cheapest way through undici, which matters on the proxy's hot path.
 * Backpressure: `pause()` stops reading from the upstream socket, `resume()` continues.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

export interface UpstreamRequest {
  method: string;
  /** Path with query. */
  path: string;
  /** Flat [name, value, …] list. */
  headers: string[];
  body: Buffer | null;
  /** ms; 0 = none. The wait for response headers, and between body chunks. */
  idleTimeoutMs: number;
}

export abstract class UpstreamCall implements Dispatcher.DispatchHandler {
  /** True once the response head arrived. */
  headersReceived = false;
  private controller: Dispatcher.DispatchController | undefined;
  private pendingAbort: Error | undefined;
  private settled = false;

  /** Sends the request; the subclass's callbacks report what happens. */
  start(ep: UpstreamEndpoint, req: UpstreamRequest): void {
    ep.dispatcher().dispatch(
      {
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        headersTimeout: req.idleTimeoutMs,
        bodyTimeout: req.idleTimeoutMs,
      },
      this,
    );
  }

  /** Stops the exchange: the connection is closed and `failed(reason)` follows. */
  abort(reason: Error): void {
    if (this.settled) return;
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.pendingAbort = reason;
  }

  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  /** The response head (status ≥ 200). */
  protected abstract head(status: number, headers: IncomingHttpHeaders): void;
  protected abstract chunk(chunk: Buffer): void;
  /** The whole body arrived. */
  protected abstract ended(): void;
  /** No response, or the body was cut (check `headersReceived`). */
  protected abstract failed(err: Error): void;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort !== undefined) controller.abort(this.pendingAbort);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx informational: the final head follows
    this.headersReceived = true;
    this.head(status, headers);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunk(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.ended();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.failed(err);
  }
}

/** The error an UpstreamCall is aborted with, carrying why. */
export class CallAborted extends Error {
  constructor(readonly reason: 'client-abort' | 'timeout' | 'shutdown' | 'attempt-timeout') {
    super(`upstream call aborted: ${reason}`);
    this.name = 'AbortError';
  }
}
