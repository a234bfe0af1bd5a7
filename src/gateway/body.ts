/**
 * Reads a client request body once, bounded: bodies above the limit are refused with BODY_TOO_LARGE
 * (413) as soon as that is known (from Content-Length, or while reading a chunked body).
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../openai/errors.js';

const EMPTY = Buffer.alloc(0);

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const cl = req.headers['content-length'];
  let expected = -1;
  if (cl !== undefined) {
    expected = Number(cl);
    if (!Number.isSafeInteger(expected) || expected < 0) {
      return Promise.reject(new GatewayError('BAD_REQUEST', 'Invalid Content-Length.'));
    }
    if (expected > limit) return Promise.reject(tooLarge(limit));
    if (expected === 0) return Promise.resolve(EMPTY);
  } else if (req.headers['transfer-encoding'] === undefined) {
    return Promise.resolve(EMPTY);
  }
  return new BodyReader(req, limit, expected).promise;
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    'BODY_TOO_LARGE',
    `The request body is larger than ${limit} bytes (serve --max-body-size).`,
  );
}

class BodyReader {
  readonly promise: Promise<Buffer>;
  private resolve!: (b: Buffer) => void;
  private reject!: (e: Error) => void;
  /** The body while it is a single chunk (the common case: kept as is, no copy). */
  private first: Buffer | undefined;
  /** Content-Length known, several chunks: assembled here (allocated once, no concatenation). */
  private into: Buffer | undefined;
  /** Chunked encoding, several chunks. */
  private chunks: Buffer[] | undefined;
  private size = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    /** Content-Length, or -1 when the body is chunked. */
    private readonly expected: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('error', this.onError);
  }

  // Node's HTTP parser hands every body chunk in a buffer of its own, so a chunk can be kept.
  private readonly onData = (c: Buffer): void => {
    if (c.length === 0) return;
    const size = this.size;
    const next = size + c.length;
    if (next > this.limit || (this.expected >= 0 && next > this.expected)) {
      this.stop();
      this.reject(
        next > this.limit
          ? tooLarge(this.limit)
          : new GatewayError('BAD_REQUEST', 'Body longer than Content-Length.'),
      );
      return;
    }
    this.size = next;
    if (size === 0) {
      this.first = c;
      return;
    }
    if (this.expected > 0) {
      if (this.into === undefined) {
        this.into = Buffer.allocUnsafe(this.expected);
        this.first!.copy(this.into, 0);
        this.first = undefined;
      }
      c.copy(this.into, size);
    } else {
      if (this.chunks === undefined) {
        this.chunks = [this.first!];
        this.first = undefined;
      }
      this.chunks.push(c);
    }
  };

  private readonly onEnd = (): void => {
    this.stop();
    if (this.first !== undefined) this.resolve(this.first);
    else if (this.into !== undefined) {
      this.resolve(this.size === this.into.length ? this.into : this.into.subarray(0, this.size));
    } else if (this.chunks !== undefined) this.resolve(Buffer.concat(this.chunks, this.size));
    else this.resolve(EMPTY);
  };

  private readonly onError = (err: Error): void => {
    this.stop();
    this.reject(err);
  };

  /** Stops listening. (The Exchange keeps its own no-op 'error' listener on the request.) */
  private stop(): void {
    this.req.removeListener('data', this.onData);
    this.req.removeListener('end', this.onEnd);
    this.req.removeListener('error', this.onError);
  }
}
