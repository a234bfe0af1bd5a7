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
  /** Preallocated when Content-Length is known (no concatenation). */
  private readonly into: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    expected: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (expected > 0) this.into = Buffer.allocUnsafe(expected);
    else this.chunks = [];
    req.on('data', this.onData);
    req.once('end', this.onEnd);
    req.once('error', this.onError);
  }

  private readonly onData = (c: Buffer): void => {
    const next = this.size + c.length;
    if (next > this.limit || (this.into !== undefined && next > this.into.length)) {
      this.stop();
      this.reject(
        next > this.limit
          ? tooLarge(this.limit)
          : new GatewayError('BAD_REQUEST', 'Body longer than Content-Length.'),
      );
      return;
    }
    if (this.into !== undefined) c.copy(this.into, this.size);
    else this.chunks!.push(c);
    this.size = next;
  };

  private readonly onEnd = (): void => {
    this.stop();
    if (this.into !== undefined) {
      this.resolve(this.size === this.into.length ? this.into : this.into.subarray(0, this.size));
    } else {
      const c = this.chunks!;
      this.resolve(c.length === 1 ? c[0]! : Buffer.concat(c, this.size));
    }
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
