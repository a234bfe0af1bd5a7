/**
 * The reference point of bench/gateway-overhead.ts: the smallest Node.js proxy hop built from the same
 * parts as the gateway (a node:http server, one undici Pool driven through its dispatch API), with no
 * routing, header handling, metrics, logs, timeouts or error answers. It shows what one extra Node.js
 * process on the path costs on this machine, so the gateway's own work can be told apart from the
 * cost of the hop itself.
 * Usage: tsx bench/gateway-overhead.reference.ts <upstream origin>; prints `reference ready <url>`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, Pool } from 'undici';

const upstream = new Pool(process.argv[2] ?? '', { connections: null, pipelining: 1 });
const UPSTREAM_HEADERS = ['content-type', 'application/json'];

/** One proxied exchange: the request body is collected, sent upstream, the answer relayed. */
class Hop implements Dispatcher.DispatchHandler {
  private chunks: Buffer[] = [];

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    req.on('data', this.onBodyChunk);
    req.once('end', this.onBodyEnd);
  }

  private readonly onBodyChunk = (c: Buffer): void => {
    this.chunks.push(c);
  };

  private readonly onBodyEnd = (): void => {
    const c = this.chunks;
    upstream.dispatch(
      {
        method: (this.req.method ?? 'GET') as Dispatcher.HttpMethod,
        path: this.req.url ?? '/',
        headers: UPSTREAM_HEADERS,
        body: c.length === 1 ? c[0]! : Buffer.concat(c),
      },
      this,
    );
  };

  onRequestStart(): void {}

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const out: string[] = [];
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (typeof type === 'string') out.push('content-type', type);
    if (typeof length === 'string') out.push('content-length', length);
    this.res.writeHead(status, out);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.res.write(chunk);
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(): void {
    this.res.destroy();
  }
}

const server = createServer({ noDelay: true }, (req, res) => {
  new Hop(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`reference ready http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
