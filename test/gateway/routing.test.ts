/**
 * Routing end to end: real upstream servers and the gateway on loopback. Which upstream answered is
 * read from the `x-upstream-name` header each test upstream sets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { call, errorOf, rawRequest } from './helpers/http.js';
import { PlanBuilder } from './helpers/plan.js';
import { fakeOpenAi, startUpstream, type TestUpstream } from './helpers/upstream.js';

const prefix = (value: string) => ({ path: { type: 'PathPrefix' as const, value } });
const exact = (value: string) => ({ path: { type: 'Exact' as const, value } });

describe('routing through the gateway', () => {
  const ups: Record<string, TestUpstream> = {};
  let gw: TestGateway;

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c', 'd', 'pool1', 'pool2', 'heavy', 'light']) {
      ups[name] = await startUpstream(name, fakeOpenAi());
    }
    const b = new PlanBuilder();
    b.listener({ name: 'http', port: 80 });
    b.listener({ name: 'inference', port: 8081 });
    for (const name of ['a', 'b', 'c', 'd', 'heavy', 'light']) b.service(name, [{ port: ups[name]!.port }]);
    b.service('empty', []);
    b.service('notready', [{ port: ups.a!.port, ready: false }]);
    b.pool('pool', [{ port: ups.pool1!.port }, { port: ups.pool2!.port }]);
    b.route({
      name: 'standard',
      listeners: ['default/gw/http'],
      rules: [
        { matches: [prefix('/')], backends: [{ name: 'a' }] },
        { matches: [prefix('/v1')], backends: [{ name: 'b' }] },
        { matches: [exact('/v1/models')], backends: [{ name: 'c' }] },
        {
          matches: [{ ...prefix('/v1'), headers: [{ type: 'Exact', name: 'x-canary', value: 'yes' }] }],
          backends: [{ name: 'd' }],
        },
        { matches: [{ ...prefix('/v1'), method: 'DELETE' }], backends: [{ name: 'c' }] },
        {
          matches: [prefix('/split')],
          backends: [
            { name: 'heavy', weight: 90 },
            { name: 'light', weight: 10 },
            { name: 'a', weight: 0 },
          ],
        },
        {
          matches: [prefix('/rewrite')],
          backends: [{ name: 'c' }],
          urlRewrite: { hostname: 'internal.svc', path: { type: 'ReplacePrefixMatch', value: '/v1' } },
          headerModifier: {
            set: [{ name: 'x-set', value: 'set-by-gateway' }],
            add: [{ name: 'x-add', value: 'added' }],
            remove: ['x-remove'],
          },
        },
        {
          matches: [prefix('/full')],
          backends: [{ name: 'c' }],
          urlRewrite: { path: { type: 'ReplaceFullPath', value: '/v1/models' } },
        },
        { matches: [prefix('/nobackends')], backends: [] },
        { matches: [prefix('/zeroweight')], backends: [{ name: 'a', weight: 0 }] },
        { matches: [prefix('/unresolved')], backends: [{ name: 'ghost' }] },
        { matches: [prefix('/empty')], backends: [{ name: 'empty' }] },
        { matches: [prefix('/notready')], backends: [{ name: 'notready' }] },
      ],
    });
    b.route({
      name: 'hosts',
      listeners: ['default/gw/http'],
      hostnames: ['*.example.com'],
      rules: [{ matches: [prefix('/v1')], backends: [{ name: 'c' }] }],
    });
    b.route({
      name: 'exact-host',
      listeners: ['default/gw/http'],
      hostnames: ['api.example.com'],
      rules: [{ matches: [prefix('/v1/chat')], backends: [{ name: 'd' }] }],
    });
    b.route({
      name: 'inference',
      listeners: ['default/gw/inference'],
      rules: [{ backends: [{ kind: 'InferencePool', name: 'pool' }] }],
    });
    gw = await startGateway(b.build(), { maxBodyBytes: 64 * 1024 });
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all(Object.values(ups).map((u) => u.close()));
  });

  const via = async (path: string, opts: Parameters<typeof call>[2] = {}) => {
    const r = await call(gw.url(80), path, opts);
    return r.headers['x-upstream-name'];
  };

  it.each([
    ['/', {}, 'a'],
    ['/v1/completions', {}, 'b'],
    ['/v1/models', {}, 'c'], // Exact beats prefix
    ['/v1/models/x', {}, 'b'],
    ['/v1/completions', { headers: { 'x-canary': 'yes' } }, 'd'], // header match beats plain prefix
    ['/v1/completions', { method: 'DELETE', headers: { 'x-canary': 'yes' } }, 'c'], // method beats headers
    ['/v1/completions', { headers: { host: 'x.example.com' } }, 'c'], // wildcard hostname beats any host
    ['/v1/chat/completions', { headers: { host: 'api.example.com' } }, 'd'], // exact hostname beats wildcard
    ['/v1/completions', { headers: { host: 'api.example.com' } }, 'c'], // …but its rules must match
    ['/v1/completions', { headers: { host: 'example.com' } }, 'b'], // *.example.com ≠ example.com
  ] as const)('%s %j → %s', async (path, opts, want) => {
    expect(await via(path, opts)).toBe(want);
  });

  it('serves the inference port from the InferencePool, spread over its endpoints by the scheduler', async () => {
    const before = ups.pool1!.requests.length + ups.pool2!.requests.length;
    // Sequential requests leave both endpoints idle, so the pick between them is a tie broken at
    // random: send until both have answered (a scheduler stuck on one fails after 32, p = 2^-31).
    const names = new Set<unknown>();
    let sent = 0;
    while (sent < 32 && names.size < 2) {
      const r = await call(gw.url(8081), '/v1/chat/completions', { json: { model: 'm', messages: [] } });
      sent++;
      expect(r.status).toBe(200);
      names.add(r.headers['x-upstream-name']);
    }
    expect(names).toEqual(new Set(['pool1', 'pool2']));
    expect(ups.pool1!.requests.length + ups.pool2!.requests.length - before).toBe(sent);
    // Without --debug-headers a client cannot ask for the endpoint's address (issue 12).
    const debug = await call(gw.url(8081), '/v1/chat/completions', {
      headers: { 'x-infergate-debug': 'endpoint' },
      json: { model: 'm', messages: [] },
    });
    expect(debug.status).toBe(200);
    expect(debug.headers['x-infergate-endpoint']).toBeUndefined();
    // The standard port does not serve the inference route.
    expect((await call(gw.url(80), '/v1/models')).headers['x-upstream-name']).toBe('c');
  });

  it('draws backendRefs by weight; a zero weight is never chosen', async () => {
    const counts: Record<string, number> = {};
    const n = 400;
    for (let i = 0; i < n; i++) {
      const name = String(await via('/split'));
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts.a).toBeUndefined();
    // 90/10 split; with n=400 the heavy share is within ±5 points with probability > 0.999.
    expect(counts.heavy! / n).toBeGreaterThan(0.85);
    expect(counts.heavy! / n).toBeLessThan(0.95);
    expect(counts.heavy! + counts.light!).toBe(n);
  });

  it('applies URLRewrite (prefix, hostname) and RequestHeaderModifier', async () => {
    const c = ups.c!;
    const before = c.requests.length;
    await call(gw.url(80), '/rewrite/chat/completions?stream=no', {
      headers: { 'x-remove': 'gone', 'x-set': 'client', 'x-add': 'client' },
      json: { model: 'm', messages: [] },
    });
    const got = c.requests[before]!;
    expect(got.url).toBe('/v1/chat/completions?stream=no');
    expect(got.headers.host).toBe('internal.svc');
    expect(got.headers['x-set']).toBe('set-by-gateway');
    expect(got.headers['x-add']).toBe('client, added');
    expect(got.headers['x-remove']).toBeUndefined();
    await call(gw.url(80), '/full/anything');
    expect(c.requests.at(-1)!.url).toBe('/v1/models');
  });

  it('behaves as a proxy: hop-by-hop headers, forwarded headers, request ids', async () => {
    const b = ups.b!;
    const reply = await rawRequest(
      gw.url(80),
      'GET /v1/x?q=1 HTTP/1.1\r\nHost: gw\r\nConnection: close, X-Private\r\nX-Private: secret\r\n' +
        'Keep-Alive: timeout=1\r\nX-Request-Id: my-id-1\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1.1 200 /);
    expect(reply).toMatch(/\r\nx-request-id: my-id-1\r\n/i);
    const got = b.requests.at(-1)!;
    expect(got.headers['keep-alive']).toBeUndefined();
    expect(got.url).toBe('/v1/x?q=1');
    expect(got.headers['x-private']).toBeUndefined();
    expect(got.headers['x-request-id']).toBe('my-id-1');
    expect(got.headers['x-forwarded-for']).toBe('10.9.9.9, 127.0.0.1');
    expect(got.headers['x-gateway-destination-endpoint']).toBe(`127.0.0.1:${b.port}`);
    // Generated when absent, and different per request.
    const r1 = await call(gw.url(80), '/v1/x');
    const r2 = await call(gw.url(80), '/v1/x');
    expect(r1.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r1.headers['x-request-id']).not.toBe(r2.headers['x-request-id']);
  });

  it.each([
    ['/nobackends', 500, 'InternalServerError', /no backendRefs/],
    ['/zeroweight', 500, 'InternalServerError', /weight 0/],
    ['/unresolved', 500, 'InternalServerError', /does not resolve/],
    ['/empty', 503, 'ServiceUnavailableError', /no ready endpoint/],
    ['/notready', 503, 'ServiceUnavailableError', /no ready endpoint/],
  ])('%s answers %i in OpenAI shape with x-request-id', async (path, status, type, message) => {
    const r = await call(gw.url(80), path, { headers: { 'x-request-id': `id-${path}` } });
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-request-id']).toBe(`id-${path}`);
    const e = errorOf(r);
    expect(e).toMatchObject({ type, code: status, param: null });
    expect(e.message).toMatch(message);
  });

  it('answers 404 for no matching rule (listener with no route for the host)', async () => {
    const b = new PlanBuilder();
    b.listener({ port: 80, hostname: 'only.example.com' });
    b.service('a', [{ port: ups.a!.port }]);
    b.route({ name: 'r', rules: [{ backends: [{ name: 'a' }] }] });
    const g = await startGateway(b.build());
    try {
      const r = await call(g.url(80), '/v1/chat/completions', { headers: { host: 'other.example.com' } });
      expect(r.status).toBe(404);
      expect(errorOf(r)).toMatchObject({ type: 'NotFoundError', code: 404 });
      expect(r.headers['x-request-id']).toBeTruthy();
      expect((await call(g.url(80), '/', { headers: { host: 'only.example.com' } })).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it('answers 400 for bad JSON on an InferencePool route, and passes it through on a Service route', async () => {
    const r = await call(gw.url(8081), '/v1/chat/completions', {
      body: '{"model": "m", ',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatchObject({ type: 'BadRequestError', code: 400 });
    expect(errorOf(r).message).toMatch(/not valid JSON/);
    expect(r.headers['x-request-id']).toBeTruthy();
    // A Service route does not judge the body: the upstream (here the fake server) answers.
    const s = await call(gw.url(80), '/v1/chat/completions', {
      body: '{"model": "m", ',
      headers: { 'content-type': 'application/json' },
    });
    expect(s.status).toBe(400);
    expect(s.headers['x-upstream-name']).toBe('b');
  });

  it('answers 413 for a body over --max-body-size, with and without Content-Length', async () => {
    const big = Buffer.alloc(65 * 1024, 'x');
    const r = await call(gw.url(8081), '/v1/completions', { body: big });
    expect(r.status).toBe(413);
    expect(errorOf(r)).toMatchObject({ type: 'RequestTooLargeError', code: 413 });
    expect(r.headers.connection).toBe('close');
    // Chunked upload (no Content-Length): refused while reading.
    const { Readable } = await import('node:stream');
    const chunked = await call(gw.url(80), '/v1/completions', {
      body: Readable.from([big.subarray(0, 40_000), big.subarray(40_000)]) as unknown as Buffer,
    });
    expect(chunked.status).toBe(413);
  });
});
