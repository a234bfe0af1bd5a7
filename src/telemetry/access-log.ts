/**
 * One JSON line per client request, in pino's line format so the same tools read it, written to
 * stderr by default, to a file (`serve --access-log FILE`), or to any sink in tests.
 *
 * Line shape (fields absent when unknown): {"level":30,"time":<epoch ms>,"id","listener","route",
 * "rule","backend","endpoint","method","path","model","target_model","status","prompt_tokens",
 * "completion_tokens","ttft_ms","duration_ms","retries","reason","error","mirrors","msg":"access"}
 *
 * Cost matters here (one line per proxied request): a line is one native JSON.stringify, and lines
 * are batched — written when BATCH_BYTES have accumulated or FLUSH_EVERY_MS have passed, so that a
 * busy gateway makes a few large writes instead of one system call per request.
 */
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
  /** Mirror copies: `<backend>` sent, or `<backend>:dropped`. */
  mirrors?: string[];
}

export type AccessLogTarget =
  | { kind: 'stderr' }
  | { kind: 'file'; path: string }
  /** Every line is written to the sink at once (tests). */
  | { kind: 'sink'; sink: DestinationStream };

const BATCH_BYTES = 32 * 1024;
const FLUSH_EVERY_MS = 200;

type Destination = DestinationStream & { flushSync?: () => void };

export class AccessLog {
  private readonly dest: Destination;
  private readonly batched: boolean;
  private readonly timer: NodeJS.Timeout | undefined;
  private lines: string[] = [];
  private bytes = 0;

  constructor(target: AccessLogTarget = { kind: 'stderr' }) {
    this.batched = target.kind !== 'sink';
    this.dest =
      target.kind === 'stderr'
        ? pino.destination({ fd: 2, sync: false })
        : target.kind === 'file'
          ? pino.destination({ dest: target.path, sync: false, mkdir: true })
          : target.sink;
    if (this.batched) {
      this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
      this.timer.unref();
    }
  }

  write(record: AccessRecord): void {
    const json = JSON.stringify(record);
    const line = `{"level":30,"time":${Date.now()},${json.slice(1, -1)},"msg":"access"}\n`;
    if (!this.batched) {
      this.dest.write(line);
      return;
    }
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= BATCH_BYTES) this.flush();
  }

  /** Hands the batched lines to the destination (written asynchronously). */
  flush(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    this.dest.write(chunk);
  }

  /** Stops the timer and writes out everything (synchronously when the destination can). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.flush();
    try {
      this.dest.flushSync?.();
    } catch {
      // Nothing buffered, or a write in progress that completes on its own.
    }
  }
}
