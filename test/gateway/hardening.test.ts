/**
 * Issue 12, defects 2–5 end to end (in-process gateway, real sockets on loopback): a stream cut
 * mid-way shows in /metrics and the access log; the gateway answers /v1/models on a pool route;
 * no internal address reaches a client unless the operator asked; slow and idle clients are bounded.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultGatewayOptions } from '../../src/gateway/index.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePort } from '../../src/util/ports.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { call, chatBody, errorOf } from './helpers/http.js';
import { PlanBuilder } from './helpers/plan.js';
import { fakeOpenAi, startUpstream, type TestUpstream } from './helpers/upstream.js';

let up: TestUpstream;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  up = await startUpstream('up', fakeOpenAi());
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  await up?.close();
});

async function serve(
  build: (b: PlanBuilder) => void,
  opts: Parameters<typeof startGateway>[1] = {},
): Promise<TestGateway> {
  const b = new PlanBuilder();
  b.listener({ port: 80 });
  build(b);
  const g = await startGateway(b.build(), opts);
  gateways.push(g);
  return g;
}

const serviceRoute = (b: PlanBuilder, port = up.port) => {
  b.service('s', [{ port }]);
  b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
};

async function metrics(g: TestGateway): Promise<string> {
  return (await call(g.admin, '/metrics')).text;
}

/** Resolves when the server closes `s` (true), or false after `boundMs`. */
function closedWithin(s: Socket, boundMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), boundMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function openSocket(base: string): Promise<Socket> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
    s.on('data', () => undefined);
  });
}

describe('(2) a stream cut mid-way is visible', () => {
  it('counts a stream error by reason in /metrics and logs a failure status', async () => {
    const g = await serve((b) => serviceRoute(b));
    const r = await call(g.url(80), '/v1/chat/completions', {
      headers: { 'x-test': 'cut' },
      json: chatBody({ stream: true }),
    });
    expect(r.status).toBe(200); // the head was already sent
    const [rec] = await g.waitForAccess(1);
    expect(rec).toMatchObject({ status: 502, error: 'reset' });
    const text = await metrics(g);
    expect(text).toMatch(/infergate_stream_errors_total\{[^}]*reason="reset"[^}]*\} 1/);
    expect(text).toMatch(/infergate_requests_total\{[^}]*status="502"[^}]*\} 1/);
    expect(text).not.toMatch(/infergate_requests_total\{[^}]*status="200"[^}]*\} 1/);
  });
});

describe('(3) /v1/models on a pool route', () => {
  it('is answered by the gateway with the names the route serves, in vLLM’s list format', async () => {
    const g = await serve((b) => {
      b.pool(
        'p',
        [{ port: up.port }],
        [
          { name: 'food', modelName: 'food-review', targetModels: [{ name: 'food-review-v1', weight: 1 }] },
          { name: 'chat', modelName: 'chat' },
        ],
      );
      b.route({ name: 'r', rules: [{ backends: [{ name: 'p', kind: 'InferencePool' }] }] });
    });
    const before = up.requests.length;
    const list = await call(g.url(80), '/v1/models');
    expect(list.status).toBe(200);
    const body = list.json() as { object: string; data: { id: string; object: string; root: string }[] };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id).sort()).toEqual(['chat', 'food-review']);
    expect(body.data.every((m) => m.object === 'model')).toBe(true);
    const one = await call(g.url(80), '/v1/models/food-review');
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ id: 'food-review', object: 'model' });
    const missing = await call(g.url(80), '/v1/models/nope');
    expect(missing.status).toBe(404);
    expect(errorOf(missing)).toMatchObject({ param: 'model', code: 404 });
    expect(up.requests.length).toBe(before); // no replica was asked
  });
});

describe('(4) no internal addresses leak', () => {
  it('ignores x-infergate-debug without --debug-headers', async () => {
    const g = await serve((b) => serviceRoute(b));
    const r = await call(g.url(80), '/v1/chat/completions', {
      headers: { 'x-infergate-debug': 'endpoint' },
      json: chatBody(),
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-infergate-endpoint']).toBeUndefined();
  });

  it('answers a Service 502 without the upstream address or errno; the access log keeps them', async () => {
    const dead = await reservePort();
    const g = await serve((b) => serviceRoute(b, dead));
    const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody() });
    expect(r.status).toBe(502);
    expect(r.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:\d{4,5}/);
    const [rec] = await g.waitForAccess(1);
    expect(rec?.endpoint).toContain(String(dead));
    expect(JSON.stringify(rec)).toMatch(/ECONNREFUSED/);
  });

  it('binds the admin port to 127.0.0.1 by default, whatever --host says', async () => {
    expect(defaultGatewayOptions(silentLogger()).adminHost).toBe('127.0.0.1');
    const g = await serve((b) => serviceRoute(b), { host: '127.0.0.2', adminHost: '127.0.0.1' });
    expect(new URL(g.admin).hostname).toBe('127.0.0.1');
    expect(new URL(g.url(80)).hostname).toBe('127.0.0.2');
  });

  it('refuses an admin port bound elsewhere without a token, and then requires the bearer token', async () => {
    await expect(serve((b) => serviceRoute(b), { adminHost: '127.0.0.2' })).rejects.toThrow(/--admin-token/);
    const g = await serve((b) => serviceRoute(b), { adminHost: '127.0.0.2', adminToken: 's3cret' });
    expect((await call(g.admin, '/admin/plan')).status).toBe(401);
    expect((await call(g.admin, '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    const ok = await call(g.admin, '/metrics', { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
  });
});

describe('(5) slow and idle clients are bounded', () => {
  const limits = { headersTimeoutMs: 500, bodyTimeoutMs: 1000, keepAliveTimeoutMs: 500, maxConnections: 2 };

  it('closes a connection whose headers do not finish in time', async () => {
    const g = await serve((b) => serviceRoute(b), limits);
    const s = await openSocket(g.url(80));
    s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    expect(await closedWithin(s, 8000)).toBe(true);
  });

  it('closes a connection whose body trickles in', async () => {
    const g = await serve((b) => serviceRoute(b), limits);
    const s = await openSocket(g.url(80));
    s.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n',
    );
    const closed = closedWithin(s, 8000);
    const drip = setInterval(() => {
      if (!s.destroyed) s.write('{');
    }, 100); // 200 bytes at 10 B/s would take 20 s
    try {
      expect(await closed).toBe(true);
    } finally {
      clearInterval(drip);
    }
  });

  it('closes an idle keep-alive connection', async () => {
    const g = await serve((b) => serviceRoute(b), limits);
    const s = await openSocket(g.url(80));
    s.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await closedWithin(s, 8000)).toBe(true);
  });

  it('accepts at most --max-connections connections per listener', async () => {
    const g = await serve((b) => serviceRoute(b), {
      ...limits,
      keepAliveTimeoutMs: 30_000,
      headersTimeoutMs: 30_000,
    });
    const a = await openSocket(g.url(80));
    const b = await openSocket(g.url(80));
    const c = await openSocket(g.url(80));
    expect(await closedWithin(c, 3000)).toBe(true);
    expect(a.destroyed || b.destroyed).toBe(false);
    a.destroy();
    b.destroy();
  });
});
