/**
 * The reference point of bench/gateway-overhead.ts: the smallest Node.js proxy hop (node:http server,
 * one undici Pool, body read then forwarded, response streamed back; no routing, metrics, logs or
 * header handling). It shows what one extra Node.js process on the path costs on this machine, so the
 * gateway's own overhead can be told apart from the cost of the hop itself.
 * Usage: tsx bench/gateway-overhead.reference.ts <upstream origin>; prints `reference ready <url>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = new Pool(process.argv[2] ?? '', { connections: null, pipelining: 1 });

const server = createServer({ noDelay: true }, async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = await upstream.request({
      method: (req.method ?? 'GET') as 'POST',
      path: req.url ?? '/',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: Buffer.concat(chunks),
    });
    const length = r.headers['content-length'];
    res.writeHead(r.statusCode, {
      'content-type': String(r.headers['content-type'] ?? 'application/json'),
      ...(length !== undefined ? { 'content-length': String(length) } : {}),
    });
    for await (const c of r.body) res.write(c);
    res.end();
  } catch {
    res.destroy();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`reference ready http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
