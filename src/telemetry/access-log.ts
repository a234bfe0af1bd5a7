/**
 * One JSON line per client request, in pino's line format so the same tools read it, written to
 * stderr by default, to a file (`serve --access-log FILE`), or to any sink in tests.
 *
 * Line shape (fields absent when unknown): {"level":30,"time":<epoch ms>,"id","listener","route",
 * "rule","backend","endpoint","method","path","model","target_model","status","prompt_tokens",
 * "completion_tokens","ttft_ms","duration_ms","retries","reason","error","mirrors","msg":"access"}
 *
 * Cost matters here (one line per proxied request): a line is serialised by hand in the fixed field
 * order above (no generic JSON.stringify walk of the record; strings that need escaping fall back to
 * JSON.stringify), and lines are batched — encoded straight into a batch buffer that is written when full or
 * FLUSH_EVERY_MS have passed, so that a busy gateway makes a few large writes instead of one system
 * call per request.
 */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DestinationStream, pino } from 'pino';

export interface AccessRecord {
  /** The request id (`x-request-id`). */
  id: string;
  listener?: string;
  route?: string;
  /** Rule index within the route. */
  rule?: number;
  backend?: string;
  /** `address:port` of the endpoint that answered (the last attempt). */
  endpoint?: string;
  method: string;
  path: string;
  model?: string;
  target_model?: string;
  /** Status sent to the client; 499 when the client went away before the response ended. */
  status: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  /** Streamed responses only: arrival → first chunk with non-empty choices, ms. */
  ttft_ms?: number;
  duration_ms: number;
  /** Attempts after the first. */
  retries: number;
  /** Why this endpoint: the picker's reason, or the Service balancer's. */
  reason?: string;
  /** Stable error code (GatewayError code, or upstream failure kind). */
  error?: string;
  /** Operator-only detail of an upstream failure (address, errno); never sent to the client. */
  error_detail?: string;
  /** Mirror copies: `<backend>` sent, or `<backend>:dropped`. */
  mirrors?: string[];
}

export type AccessLogTarget =
  | { kind: 'stderr' }
  | { kind: 'file'; path: string }
  /** Every line is written to the sink at once (tests). */
  | { kind: 'sink'; sink: DestinationStream };

/** Size of one batch buffer: lines are encoded into it and it is written as one piece. */
const BATCH_BYTES = 64 * 1024;
const FLUSH_EVERY_MS = 200;

/** pino's SonicBoom destination in `contentMode: 'buffer'` (its typings only declare strings). */
interface BufferDestination {
  write(data: Buffer): boolean;
}

export class AccessLog {
  /** Batched targets (stderr, file): batches are written asynchronously, in order. */
  private readonly dest: BufferDestination | undefined;
  /** Tests: every line at once. */
  private readonly sink: DestinationStream | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  /** After close(): lines are handed over one by one (no timer flushes a batch any more). */
  private closed = false;
  /** The batch being filled (allocated on first use; handed over, never reused, when written). */
  private batch: Buffer | undefined;
  private used = 0;

  constructor(target: AccessLogTarget = { kind: 'stderr' }) {
    if (target.kind === 'sink') {
      this.sink = target.sink;
      return;
    }
    let fd = 2;
    if (target.kind === 'file') {
      // Opened here, synchronously: a path that cannot be written fails the start, not a later write.
      try {
        mkdirSync(dirname(target.path), { recursive: true });
        fd = openSync(target.path, 'a');
      } catch (err) {
        throw new Error(`cannot open the access log ${target.path}: ${(err as Error).message}`);
      }
    }
    this.dest = pino.destination({
      dest: fd,
      sync: false,
      contentMode: 'buffer',
    }) as unknown as BufferDestination;
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  write(record: AccessRecord): void {
    const line = formatAccessLine(record, Date.now());
    if (this.sink !== undefined) {
      this.sink.write(line);
      return;
    }
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    const room = line.length * 3;
    if (this.used + room > BATCH_BYTES) this.flush();
    if (room > BATCH_BYTES || this.closed) {
      this.dest!.write(Buffer.from(line, 'utf8'));
      return;
    }
    this.batch ??= Buffer.allocUnsafe(BATCH_BYTES);
    this.used += this.batch.write(line, this.used, 'utf8');
  }

  /** Hands the batch to the destination (written asynchronously). */
  flush(): void {
    if (this.used === 0 || this.batch === undefined) return;
    const chunk = this.batch.subarray(0, this.used);
    this.batch = undefined;
    this.used = 0;
    this.dest!.write(chunk);
  }

  /**
   * Stops the timer and hands everything over. The writes complete asynchronously, in order, before
   * the process can exit on its own (on process.exit, pino writes what is left synchronously). Lines
   * written after close() are handed over at once.
   */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.closed = true;
    this.flush();
  }
}

/** Characters a JSON string cannot hold as they are (lone surrogates included: any surrogate takes the slow path). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(v: string): string {
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * One access-log line (with its newline): the same text as
 * `{"level":30,"time":…,…JSON.stringify(record) members…,"msg":"access"}`, built without walking the
 * record generically. Fields that are undefined are left out, as JSON.stringify does.
 */
export function formatAccessLine(r: AccessRecord, time: number): string {
  let s = `{"level":30,"time":${time},"id":${str(r.id)}`;
  if (r.listener !== undefined) s += `,"listener":${str(r.listener)}`;
  if (r.route !== undefined) s += `,"route":${str(r.route)}`;
  if (r.rule !== undefined) s += `,"rule":${num(r.rule)}`;
  if (r.backend !== undefined) s += `,"backend":${str(r.backend)}`;
  if (r.endpoint !== undefined) s += `,"endpoint":${str(r.endpoint)}`;
  s += `,"method":${str(r.method)},"path":${str(r.path)}`;
  if (r.model !== undefined) s += `,"model":${str(r.model)}`;
  if (r.target_model !== undefined) s += `,"target_model":${str(r.target_model)}`;
  s += `,"status":${num(r.status)}`;
  if (r.prompt_tokens !== undefined) s += `,"prompt_tokens":${num(r.prompt_tokens)}`;
  if (r.completion_tokens !== undefined) s += `,"completion_tokens":${num(r.completion_tokens)}`;
  if (r.ttft_ms !== undefined) s += `,"ttft_ms":${num(r.ttft_ms)}`;
  s += `,"duration_ms":${num(r.duration_ms)},"retries":${num(r.retries)}`;
  if (r.reason !== undefined) s += `,"reason":${str(r.reason)}`;
  if (r.error !== undefined) s += `,"error":${str(r.error)}`;
  if (r.error_detail !== undefined) s += `,"error_detail":${str(r.error_detail)}`;
  const m = r.mirrors;
  if (m !== undefined) {
    s += ',"mirrors":[';
    for (let i = 0; i < m.length; i++) s += i === 0 ? str(m[i]!) : `,${str(m[i]!)}`;
    s += ']';
  }
  return `${s},"msg":"access"}\n`;
}
