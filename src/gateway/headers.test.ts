import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { buildUpstreamHeaders, clientResponseHeaders, shadowHost } from './headers.js';

function req(raw: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
  return { rawHeaders: raw, headers } as unknown as IncomingMessage;
}

function pairs(list: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!.toLowerCase(), list[i + 1]!]);
  return out;
}

describe('buildUpstreamHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection, sets the gateway headers', () => {
    const h = buildUpstreamHeaders(
      req([
        'Host',
        'example.com',
        'Connection',
        'keep-alive, X-Secret',
        'X-Secret',
        's',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Expect',
        '100-continue',
        'Content-Length',
        '12',
        'X-Forwarded-For',
        '10.0.0.9',
        'X-Request-Id',
        'client-id',
        'Authorization',
        'Bearer k',
      ]),
      { requestId: 'rid', remoteAddress: '127.0.0.1' },
    );
    h.list[h.endpointSlot] = '10.1.1.1:8000';
    expect(pairs(h.list)).toEqual([
      ['host', 'example.com'],
      ['authorization', 'Bearer k'],
      ['x-forwarded-for', '10.0.0.9, 127.0.0.1'],
      ['x-forwarded-proto', 'http'],
      ['x-request-id', 'rid'],
      ['x-gateway-destination-endpoint', '10.1.1.1:8000'],
    ]);
    expect(h.list[h.hostSlot]).toBe('example.com');
  });

  it('applies RequestHeaderModifier (set replaces, add appends, remove deletes) and a hostname rewrite', () => {
    const h = buildUpstreamHeaders(req(['Host', 'a.com', 'X-A', '1', 'x-b', '2', 'X-C', '3']), {
      requestId: 'rid',
      host: 'internal.svc',
      modifier: {
        set: [{ name: 'x-a', value: 'one' }],
        add: [{ name: 'X-B', value: 'two' }],
        remove: ['X-C'],
      },
    });
    const p = pairs(h.list);
    expect(p.filter(([n]) => n === 'x-a')).toEqual([['x-a', 'one']]);
    expect(p.filter(([n]) => n === 'x-b')).toEqual([
      ['x-b', '2'],
      ['x-b', 'two'],
    ]);
    expect(p.some(([n]) => n === 'x-c')).toBe(false);
    expect(h.list[h.hostSlot]).toBe('internal.svc');
  });
});

describe('shadowHost', () => {
  it.each([
    ['example.com', 'example.com-shadow'],
    ['example.com:8080', 'example.com-shadow:8080'],
    ['[::1]:80', '[::1]-shadow:80'],
  ])('%s → %s', (host, want) => {
    expect(shadowHost(host)).toBe(want);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop headers, adds x-request-id, optionally drops content-length', () => {
    const up = {
      'content-type': 'application/json',
      'content-length': '10',
      connection: 'keep-alive',
      'keep-alive': 'timeout=4',
      'set-cookie': ['a', 'b'],
    };
    expect(clientResponseHeaders(up, 'rid', false)).toEqual([
      'content-type',
      'application/json',
      'content-length',
      '10',
      'set-cookie',
      ['a', 'b'],
      'x-request-id',
      'rid',
    ]);
    expect(clientResponseHeaders(up, 'rid', true)).not.toContain('content-length');
  });
});
