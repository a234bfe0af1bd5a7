import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../openai/errors.js';
import { readBody } from './body.js';

const LIMIT = 64 * 1024;

/** A server that reads each body with readBody and answers what it got (or the error code). */
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    readBody(req, LIMIT).then(
      (body) => res.end(JSON.stringify({ length: body.length, text: body.toString('latin1') })),
      (err: unknown) => {
        res.setHeader('connection', 'close');
        res.end(JSON.stringify({ error: err instanceof GatewayError ? err.code : String(err) }));
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends `pieces` one write each (a pause between them so they arrive as separate chunks). */
function send(
  pieces: string[],
  headers: Record<string, string | number>,
): Promise<{ length?: number; text?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers }, (res) => {
      answered = true;
      let out = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        out += d;
      });
      res.on('end', () => resolve(JSON.parse(out)));
    });
    // A refused body is answered before the client finished sending it; the rest may then fail.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    let i = 0;
    const next = () => {
      if (answered || req.destroyed) return;
      if (i >= pieces.length) {
        req.end();
        return;
      }
      req.write(pieces[i++]!);
      setTimeout(next, 15);
    };
    next();
  });
}

describe('readBody', () => {
  const big = 'b'.repeat(40_000);
  it.each<[string, string[], Record<string, string | number>]>([
    ['Content-Length, one chunk', ['{"model":"m"}'], { 'content-length': 13 }],
    ['Content-Length, several chunks', ['{"model":', '"m"', ',"x":1}'], { 'content-length': 19 }],
    [
      'Content-Length, large body in several chunks',
      [big, big.slice(0, 20_000)],
      { 'content-length': 60_000 },
    ],
    ['chunked, one chunk', ['{"model":"m"}'], { 'transfer-encoding': 'chunked' }],
    ['chunked, several chunks', ['{"model":', '"m"', '}'], { 'transfer-encoding': 'chunked' }],
    ['no body', [], { 'content-length': 0 }],
  ])('%s: the whole body, in order', async (_name, pieces, headers) => {
    const r = await send(pieces, headers);
    const want = pieces.join('');
    expect(r.length).toBe(want.length);
    expect(r.text).toBe(want);
  });

  it('refuses a declared Content-Length above the limit before reading', async () => {
    const r = await send(['x'], { 'content-length': LIMIT + 1 });
    expect(r.error).toBe('BODY_TOO_LARGE');
  });

  it('refuses a chunked body as soon as it passes the limit', async () => {
    const r = await send(['x'.repeat(40_000), 'y'.repeat(40_000)], { 'transfer-encoding': 'chunked' });
    expect(r.error).toBe('BODY_TOO_LARGE');
  });
});
