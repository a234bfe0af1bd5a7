/**
 * The observer of one OpenAI-style response body, transport-neutral (the HTTP proxy and an ext_proc
 * server feed it the same chunks): the time of the first token (SSE), token usage (last SSE chunk, or
 * the JSON body of a non-streamed answer), and — for SSE and JSON — the model name rewritten back and
 * the usage-only chunk dropped when the gateway asked for it (the `include_usage` splice's other half).
 */
import type { ModelRewriter } from './model-rewrite.js';
import type { Usage } from './sse.js';
import { SseRelay, type StreamObserver } from './sse-relay.js';
import { usageFromJsonBody } from './usage.js';

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

export interface ResponseObserverOptions {
  /** performance.now() of the client request's arrival: TTFT is measured from it. */
  startedAt: number;
  /** Read usage from a JSON body (OpenAI completion endpoints). */
  observeJson: boolean;
  rewrite?: ModelRewriter;
  /** Drop the usage-only SSE chunk (the gateway asked for it, the client did not). */
  stripUsageOnly: boolean;
  /** Called once, when the first token of a stream arrives (e.g. to tell the pool router). */
  onFirstToken?: (() => void) | undefined;
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
    private readonly opts: ResponseObserverOptions,
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
    this.opts.onFirstToken?.();
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
