/**
 * Relays an OpenAI-style SSE stream from a model server to the client chunk by chunk, while noting
 * the first token (TTFT) and the usage report on the side.
 *
 * Two modes:
 * - pass-through (no rewrite, nothing to strip): every upstream chunk is forwarded as the same bytes
 *   the moment it arrives; an SseReader parses events on the side.
 * - transform (model name rewritten back, or the usage-only chunk the gateway asked for stripped):
 *   complete events are forwarded as they complete (an incomplete event at the end of a chunk waits
 *   for its remainder, which the client could not use anyway).
 *
 * JSON is parsed only where needed: until the first token is seen, and for events naming `usage`.
 */

import { StringDecoder } from 'node:string_decoder';
import { type GatewayError, gatewayErrorBody } from './errors.js';
import type { ModelRewriter } from './model-rewrite.js';
import { chunkHasChoices, SseReader, type Usage, usageOf } from './sse.js';

export interface StreamObserver {
  /** Called once, for the first event whose `choices` is non-empty (the first token). */
  onFirstToken(): void;
  /** Called for every event that carries a usage object (normally only the last one). */
  onUsage(usage: Usage): void;
}

export interface SseRelayOptions {
  /** Rewrite `"model":"<upstream>"` back to the client's name in every event. */
  rewrite?: ModelRewriter;
  /**
   * Drop the usage-only event (`choices: []` + `usage`): the gateway injected
   * `stream_options.include_usage` and the client did not ask for it.
   */
  stripUsageOnly?: boolean;
}

const DONE = '[DONE]';
const USAGE_KEY = '"usage"';
const USAGE_NULL = '"usage":null';
const CHOICES_KEY = '"choices"';

export class SseRelay {
  private readonly transform: boolean;
  private readonly reader: SseReader | undefined;
  private readonly decoder: StringDecoder | undefined;
  private pending = '';
  private firstTokenSeen = false;

  constructor(
    private readonly observer: StreamObserver,
    private readonly opts: SseRelayOptions = {},
  ) {
    this.transform = opts.rewrite !== undefined || opts.stripUsageOnly === true;
    if (this.transform) this.decoder = new StringDecoder('utf8');
    else this.reader = new SseReader((data) => void this.observe(data));
  }

  /** What to send to the client for this upstream chunk: the chunk itself, or transformed text. */
  push(chunk: Buffer): Buffer | string {
    if (!this.transform) {
      this.reader!.push(chunk);
      return chunk;
    }
    this.pending += this.decoder!.write(chunk);
    return this.drainEvents(false);
  }

  /** At the end of the upstream stream: whatever is left to send (may be ''). */
  end(): string {
    if (!this.transform) {
      this.reader!.end();
      return '';
    }
    this.pending += this.decoder!.end();
    return this.drainEvents(true);
  }

  private drainEvents(final: boolean): string {
    let out = '';
    let start = 0;
    const buf = this.pending;
    for (;;) {
      const end = eventEnd(buf, start);
      if (end < 0) break;
      out += this.relayEvent(buf.slice(start, end));
      start = end;
    }
    this.pending = start === 0 ? buf : buf.slice(start);
    if (final && this.pending.length > 0) {
      out += this.relayEvent(this.pending);
      this.pending = '';
    }
    return out;
  }

  /** One complete event (terminator included) → what the client gets for it. */
  private relayEvent(event: string): string {
    const data = eventData(event);
    if (data === undefined || data === DONE) return event;
    const parsed = this.observe(data);
    if (this.opts.stripUsageOnly && parsed !== undefined && isUsageOnly(parsed)) return '';
    return this.opts.rewrite ? this.opts.rewrite.rewriteText(event) : event;
  }

  /** Notes first token and usage; returns the parsed event when it had to be parsed. */
  private observe(data: string): unknown {
    const needFirst = !this.firstTokenSeen && data.includes(CHOICES_KEY);
    const needUsage = data.includes(USAGE_KEY) && !data.includes(USAGE_NULL);
    if (!needFirst && !needUsage) return undefined;
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return undefined;
    }
    if (needFirst && chunkHasChoices(obj)) {
      this.firstTokenSeen = true;
      this.observer.onFirstToken();
    }
    if (needUsage) {
      const u = usageOf(obj);
      if (u) this.observer.onUsage(u);
    }
    return obj;
  }
}

/** Index just past the blank line ending the event that starts at `from`, or -1. */
function eventEnd(buf: string, from: number): number {
  const lf = buf.indexOf('\n\n', from);
  const crlf = buf.indexOf('\r\n\r\n', from);
  if (lf < 0) return crlf < 0 ? -1 : crlf + 4;
  if (crlf < 0 || lf < crlf) return lf + 2;
  return crlf + 4;
}

/** The `data:` payload of one event (lines joined by \n), or undefined when it has none. */
function eventData(event: string): string | undefined {
  let data: string | undefined;
  let start = 0;
  while (start < event.length) {
    let nl = event.indexOf('\n', start);
    if (nl < 0) nl = event.length;
    let line = event.slice(start, nl);
    start = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('data:')) {
      const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? v : `${data}\n${v}`;
    }
  }
  return data;
}

function isUsageOnly(obj: unknown): boolean {
  if (typeof obj !== 'object' || obj === null) return false;
  const o = obj as { choices?: unknown; usage?: unknown };
  return (
    Array.isArray(o.choices) && o.choices.length === 0 && typeof o.usage === 'object' && o.usage !== null
  );
}

/** An SSE event carrying an OpenAI error body: how a stream that already started is ended on failure. */
/** The final SSE event for a gateway error: the same body, status and type as a JSON error answer. */
export function sseGatewayErrorEvent(err: GatewayError): string {
  return `data: ${JSON.stringify(gatewayErrorBody(err))}\n\n`;
}

export function sseErrorEvent(status: number, type: string, message: string): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code: status } })}\n\n`;
}
