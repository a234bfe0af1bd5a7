/**
 * HTTPRoute RequestMirror: a copy of the request goes to the mirror backend — a Service (balanced
 * like any Service) or an InferencePool (routed by its own pool router, full endpoint picking) — and
 * its response is read to the end and compared with the primary's, never sent to the client.
 *
 * The mirror cannot delay, fail or alter the primary: copies are started without being awaited,
 * every error is swallowed, their timeout is their own (`mirrorTimeoutMs`), a client abort does not
 * abort them (unless `mirrorFollowsClientAbort`), and at most `mirrorConcurrency` copies per mirror
 * backend are in flight — beyond that a copy is dropped and counted. As Envoy does, the Host of a
 * copy gets `-shadow` appended.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceLbPolicy } from '../config/plan.js';
import { inferenceRequest } from '../openai/inference-request.js';
import { type ParsedRequest, withStreamUsage } from '../openai/request.js';
import { bodyKind, ResponseObserver } from '../openai/response-observer.js';
import type { PoolRouterRegistry } from '../requestcontrol/types.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { Logger } from '../util/log.js';
import type { Rng } from '../util/rng.js';
import { type EndpointSource, PoolEndpoints, ServiceEndpoints } from './endpoint-sources.js';
import { shadowHost, type UpstreamHeaders } from './headers.js';
import type { SideOutcome } from './mirror-stats.js';
import type { GatewayOptions } from './options.js';
import type { OutlierDetector } from './outlier.js';
import type { MirrorRuntime } from './state.js';
import { CallAborted, UpstreamCall } from './upstream-call.js';
import type { UpstreamEndpoint, UpstreamEndpointTable } from './upstream-endpoint.js';
import { classifyUpstreamError } from './upstream-errors.js';

/** What the primary request hands to its mirror copies. */
export interface MirrorInput {
  requestId: string;
  /** performance.now() of the client request's arrival (both sides' times are measured from it). */
  startedAt: number;
  method: string;
  /** Upstream path (after URLRewrite) with query. */
  path: string;
  /** The primary's upstream headers; copied before anything changes them. */
  headers: UpstreamHeaders;
  /** Client request headers (lower-cased), for pool routers. */
  requestHeaders: IncomingHttpHeaders;
  /** The client's body as received. */
  body: Buffer;
  parsed: ParsedRequest;
  /** Ask the mirror for stream usage too (so token counts can be compared). */
  injectUsage: boolean;
  policy: ServiceLbPolicy;
  /** The primary's abort signal, given only with `mirrorFollowsClientAbort`. */
  clientSignal: AbortSignal | undefined;
}

export interface MirrorContext {
  readonly opts: GatewayOptions;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly pools: PoolRouterRegistry;
  readonly endpoints: UpstreamEndpointTable;
  readonly outlier: OutlierDetector;
  readonly rng: Rng;
}

/** One primary/mirror pair; recorded in the mirror's stats once both sides have finished. */
export class MirrorPair {
  private primary: SideOutcome | undefined;
  private mirror: SideOutcome | undefined;

  constructor(
    private readonly runtime: MirrorRuntime,
    private readonly metrics: GatewayMetrics,
  ) {}

  get label(): string {
    return this.runtime.backend.label;
  }

  primaryDone(o: SideOutcome): void {
    this.primary = o;
    this.record();
  }

  mirrorDone(o: SideOutcome): void {
    this.mirror = o;
    this.record();
  }

  private record(): void {
    const p = this.primary;
    const m = this.mirror;
    // Pairs without a mirror answer (counted as failed) or without a primary answer (client gone) are
    // not comparisons.
    if (p === undefined || m === undefined) return;
    if (m.status === 0 || m.error !== undefined || p.status === 0 || p.status === 499) return;
    this.runtime.stats.recordPair(p, m);
    const s = this.runtime.stats.id;
    this.metrics.mirrorPair({
      route: s.route,
      mirror: s.mirror,
      sameStatus: p.status === m.status,
      primary: side(p),
      mirrorSide: side(m),
    });
  }
}

function side(o: SideOutcome) {
  return {
    latencySeconds: o.latencyMs / 1000,
    ttftSeconds: o.ttftMs !== undefined ? o.ttftMs / 1000 : undefined,
    promptTokens: o.promptTokens,
    completionTokens: o.completionTokens,
  };
}

export class MirrorDispatcher {
  /** Copies in flight per mirror backend label. */
  private readonly inFlight = new Map<string, number>();
  private readonly active = new Set<AbortController>();

  constructor(private readonly ctx: MirrorContext) {}

  /** Copies in flight now, all backends (admin, drain). */
  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Sends a copy unless the backend already has `mirrorConcurrency` copies in flight (then the copy
   * is dropped and counted, and undefined is returned). Never throws, never waits.
   */
  send(m: MirrorRuntime, input: MirrorInput): MirrorPair | undefined {
    const label = m.backend.label;
    const route = m.stats.id.route;
    const n = this.inFlight.get(label) ?? 0;
    if (n >= this.ctx.opts.mirrorConcurrency) {
      m.stats.dropped++;
      this.ctx.metrics.mirrorRequest(route, label, 'dropped');
      return undefined;
    }
    this.inFlight.set(label, n + 1);
    m.stats.sent++;
    this.ctx.metrics.mirrorRequest(route, label, 'sent');
    const pair = new MirrorPair(m, this.ctx.metrics);
    this.run(m, input, pair)
      .catch((err: unknown) => {
        this.ctx.logger.debug({ err, mirror: label }, 'mirror copy failed');
      })
      .finally(() => {
        const left = (this.inFlight.get(label) ?? 1) - 1;
        if (left > 0) this.inFlight.set(label, left);
        else this.inFlight.delete(label);
      });
    return pair;
  }

  /** Abandons every copy in flight (shutdown). */
  abortAll(): void {
    for (const c of this.active) c.abort();
  }

  private async run(m: MirrorRuntime, input: MirrorInput, pair: MirrorPair): Promise<void> {
    const { ctx } = this;
    const ctl = new AbortController();
    this.active.add(ctl);
    const timeoutMs = ctx.opts.mirrorTimeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(() => ctl.abort(), timeoutMs) : undefined;
    const client = input.clientSignal;
    const signal = client !== undefined ? AbortSignal.any([ctl.signal, client]) : ctl.signal;
    const headers = input.headers.list.slice();
    if (input.headers.hostSlot >= 0)
      headers[input.headers.hostSlot] = shadowHost(headers[input.headers.hostSlot]!);

    let outcome: SideOutcome = {
      status: 0,
      latencyMs: 0,
      ttftMs: undefined,
      promptTokens: undefined,
      completionTokens: undefined,
      error: undefined,
    };
    let src: EndpointSource | undefined;
    let ep: UpstreamEndpoint | undefined;
    try {
      let body = input.body;
      if (m.backend.kind === 'InferencePool') {
        const router = ctx.pools.get(m.backend.key);
        if (router === undefined) throw new Error(`no router for InferencePool ${m.backend.key}`);
        const req = inferenceRequest(
          {
            id: input.requestId,
            pool: m.backend.key,
            path: input.path,
            headers: input.requestHeaders,
            body,
            receivedAt: input.startedAt,
          },
          input.parsed,
        );
        const decision = await router.route(req, signal);
        body = decision.body;
        src = new PoolEndpoints(decision, ctx);
      } else if (m.backend.service !== undefined) {
        src = new ServiceEndpoints(m.backend.service, input.policy, ctx);
      }
      // One attempt: a copy is never retried.
      ep = src?.next(0);
      if (src === undefined || ep === undefined) throw new Error(`${m.backend.label} has no ready endpoint`);
      if (input.injectUsage) body = withStreamUsage(body, input.parsed) ?? body;
      headers[input.headers.endpointSlot] = ep.id;
      ep.inFlight++;
      src.dispatched(ep);
      const copySource = src;
      const copyEndpoint = ep;
      outcome = await this.exchange(ep, input, headers, body, signal, () =>
        copySource.firstToken(copyEndpoint),
      );
    } catch (err) {
      outcome.error = signal.aborted ? 'timeout' : classifyUpstreamError(err);
      outcome.latencyMs = performance.now() - input.startedAt;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      this.active.delete(ctl);
      if (src !== undefined && ep !== undefined) {
        ep.inFlight--;
        const o = outcome;
        // The same bookkeeping as the primary's attempts: router callbacks, or outlier detection.
        src.completed(ep, {
          status: o.status,
          ok: o.error === undefined,
          ttftMs: o.ttftMs,
          promptTokens: o.promptTokens,
          completionTokens: o.completionTokens,
          error: o.error,
        });
      }
    }
    const failed = outcome.status === 0 || outcome.error !== undefined;
    if (failed) m.stats.failed++;
    else m.stats.completed++;
    ctx.metrics.mirrorRequest(m.stats.id.route, m.backend.label, failed ? 'failed' : 'completed');
    pair.mirrorDone(outcome);
  }

  private exchange(
    ep: UpstreamEndpoint,
    input: MirrorInput,
    headers: string[],
    body: Buffer,
    signal: AbortSignal,
    firstToken: () => void,
  ): Promise<SideOutcome> {
    return new Promise((resolve) => {
      const call = new MirrorCall(input.startedAt, firstToken, (o) => {
        signal.removeEventListener('abort', onAbort);
        resolve(o);
      });
      // The copy's own timeout aborts without a reason; a followed client abort carries CallAborted.
      const onAbort = () =>
        call.abort(signal.reason instanceof CallAborted ? signal.reason : new CallAborted('timeout'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      call.start(ep, {
        method: input.method,
        path: input.path,
        headers,
        body: body.length > 0 || (input.method !== 'GET' && input.method !== 'HEAD') ? body : null,
        idleTimeoutMs: this.ctx.opts.idleTimeoutMs,
      });
    });
  }
}

/** Reads a mirror copy's response to the end (nothing is sent anywhere), noting what is compared. */
class MirrorCall extends UpstreamCall {
  private status = 0;
  private observer: ResponseObserver | undefined;

  constructor(
    private readonly startedAt: number,
    private readonly firstToken: () => void,
    private readonly done: (o: SideOutcome) => void,
  ) {
    super();
  }

  protected head(status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.observer = new ResponseObserver(
      { startedAt: this.startedAt, observeJson: true, stripUsageOnly: false, onFirstToken: this.firstToken },
      bodyKind(headers['content-type'], headers['content-encoding']),
    );
  }

  protected chunk(c: Buffer): void {
    this.observer?.chunk(c);
  }

  protected ended(): void {
    this.observer?.end();
    this.finish(undefined);
  }

  protected failed(err: Error): void {
    this.finish(err instanceof CallAborted ? err.reason : classifyUpstreamError(err));
  }

  private finish(error: string | undefined): void {
    const o = this.observer;
    this.done({
      status: this.status,
      latencyMs: performance.now() - this.startedAt,
      ttftMs: o?.ttftMs,
      promptTokens: o?.usage?.promptTokens,
      completionTokens: o?.usage?.completionTokens,
      error,
    });
  }
}
