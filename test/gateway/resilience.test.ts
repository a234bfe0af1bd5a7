/**
 * Failure handling end to end: retries only before the first response byte (connect errors, resets,
 * 503), timeouts (route request / backendRequest / BackendTrafficPolicy / idle; streams end with an
 * SSE error event), client aborts cancelling the upstream request, outlier ejection, and the two
 * Service balancing policies.
 */
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../src/util/ports.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { call, chatBody, errorOf } from './helpers/http.js';
import { PlanBuilder } from './helpers/plan.js';
import { type RecordingRegistry, recordingRegistry } from './helpers/routers.js';
import { fakeOpenAi, json, startUpstream, type TestUpstream, waitFor } from './helpers/upstream.js';

describe('resilience', () => {
  let good: TestUpstream;
  let good2: TestUpstream;
  let unavailable: TestUpstream;
  let broken: TestUpstream;
  let slow: TestUpstream;
  let deadPort: number;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    good = await startUpstream('good', fakeOpenAi());
    good2 = await startUpstream('good2', fakeOpenAi());
    unavailable = await startUpstream('unavailable', (_req, res) =>
      json(res, 503, {
        error: { message: 'overloaded', type: 'ServiceUnavailableError', param: null, code: 503 },
      }),
    );
    broken = await startUpstream('broken', (_req, res) =>
      json(res, 500, { error: { message: 'boom', code: 500 } }),
    );
    slow = await startUpstream('slow', fakeOpenAi({ tokens: 40, chunkDelayMs: 50 }));
    deadPort = await reservePort(); // nothing listens there: connection refused
  });

  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  afterAll(async () => {
    await Promise.all([good, good2, unavailable, broken, slow].map((u) => u?.close()));
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

  describe('retries before the first response byte', () => {
    it('retries a refused connection on another Service endpoint', async () => {
      const g = await serve(
        (b) => {
          b.service('s', [{ port: deadPort }, { port: good.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
        },
        { serviceLb: 'round-robin' },
      );
      for (let i = 0; i < 4; i++) {
        const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody() });
        expect(r.status).toBe(200);
        expect(r.headers['x-upstream-name']).toBe('good');
      }
      const logs = await g.waitForAccess(4);
      expect(logs.map((l) => l.retries).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
      const m = await (await fetch(`${g.admin}/metrics`)).text();
      expect(m).toMatch(
        new RegExp(
          `infergate_upstream_attempts_total\\{[^}]*endpoint="127.0.0.1:${deadPort}",result="connect_error"\\}`,
        ),
      );
      expect(m).toMatch(/infergate_upstream_retries_total\{backend="Service default\/s:8000"\} [1-9]/);
    });

    it('retries across the pool decision’s endpoints, reporting each attempt once', async () => {
      const registry: RecordingRegistry = recordingRegistry();
      const g = await serve(
        (b) => {
          b.pool('p', [{ port: deadPort }, { port: unavailable.port }, { port: good.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ kind: 'InferencePool', name: 'p' }] }] });
        },
        { poolRegistryFactory: () => registry },
      );
      const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody() });
      expect(r.status).toBe(200);
      expect(r.headers['x-upstream-name']).toBe('good');
      const id = String(r.headers['x-request-id']);
      expect(registry.dispatched.filter((d) => d.id === id).map((d) => d.endpoint)).toEqual([
        `127.0.0.1:${deadPort}`,
        `127.0.0.1:${unavailable.port}`,
        `127.0.0.1:${good.port}`,
      ]);
      expect(
        registry.completed.filter((c) => c.id === id).map((c) => [c.outcome.status, c.outcome.error]),
      ).toEqual([
        [0, 'connect'],
        [503, 'status-503'],
        [200, undefined],
      ]);
      expect((await g.waitForAccess(1))[0]).toMatchObject({
        retries: 2,
        status: 200,
        endpoint: `127.0.0.1:${good.port}`,
      });
    });

    it('passes the last 503 through when no other endpoint is left; 502 in OpenAI shape when none connects', async () => {
      const g = await serve((b) => {
        b.service('u', [{ port: unavailable.port }]);
        b.service('dead', [{ port: deadPort }]);
        b.route({ name: 'r', rules: [{ backends: [{ name: 'u' }] }] });
        b.route({
          name: 'd',
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/dead' } }], backends: [{ name: 'dead' }] },
          ],
        });
      });
      const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody() });
      expect(r.status).toBe(503);
      expect(r.headers['x-upstream-name']).toBe('unavailable');
      expect(errorOf(r).message).toBe('overloaded');
      const d = await call(g.url(80), '/dead', { headers: { 'x-request-id': 'dead-1' } });
      expect(d.status).toBe(502);
      expect(d.headers['x-request-id']).toBe('dead-1');
      // The client is not told the address or errno (issue 12); the access log is.
      expect(errorOf(d).message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    });

    it('does not retry once the response started: the stream ends with an SSE error event', async () => {
      const g = await serve(
        (b) => {
          b.service('s', [{ port: good.port }, { port: good2.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
        },
        { serviceLb: 'round-robin' },
      );
      const before = good.requests.length + good2.requests.length;
      const r = await call(g.url(80), '/v1/chat/completions', {
        headers: { 'x-test': 'cut' },
        json: chatBody({ stream: true }),
      });
      expect(r.status).toBe(200);
      const events = r.text.split('\n\n').filter((e) => e.startsWith('data: '));
      expect(events.length).toBe(4); // role + 2 tokens + error
      expect(JSON.parse(events.at(-1)!.slice(6)).error).toMatchObject({ code: 502 });
      expect(good.requests.length + good2.requests.length - before).toBe(1);
      expect((await g.waitForAccess(1))[0]).toMatchObject({ retries: 0, error: 'reset' });
    });

    it('retries a reset before any response byte', async () => {
      const g = await serve(
        (b) => {
          b.service('s', [{ port: good.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
        },
        { maxAttempts: 3 },
      );
      // The only endpoint resets every time: three attempts, then 502.
      const before = good.requests.length;
      const r = await call(g.url(80), '/v1/chat/completions', {
        headers: { 'x-test': 'reset' },
        json: chatBody(),
      });
      expect(r.status).toBe(502);
      expect(good.requests.length - before).toBe(1); // single endpoint: no other to retry on
    });

    it('retries a reset before any response byte on the next endpoint: [resetting, good] → 200, one retry each', async () => {
      // Reads the whole request, then drops the connection without a response byte.
      const resetting = await startUpstream('resetting', (_req, res) => {
        res.socket?.destroy();
      });
      try {
        const g = await serve(
          (b) => {
            b.service('s', [{ port: resetting.port }, { port: good.port }]);
            b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
          },
          { serviceLb: 'round-robin', maxAttempts: 2 },
        );
        const n = 4;
        for (let i = 0; i < n; i++) {
          const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody() });
          expect(r.status).toBe(200);
          expect(r.headers['x-upstream-name']).toBe('good');
        }
        const resets = resetting.requests.length;
        expect(resets).toBeGreaterThanOrEqual(1); // round-robin put some first attempts on it
        const logs = await g.waitForAccess(n);
        // Exactly the requests that met the reset were retried, once each, and all ended on good.
        expect(logs.map((l) => l.retries).sort()).toEqual([
          ...Array<number>(n - resets).fill(0),
          ...Array<number>(resets).fill(1),
        ]);
        for (const l of logs) expect(l).toMatchObject({ status: 200, endpoint: `127.0.0.1:${good.port}` });
        const m = await (await fetch(`${g.admin}/metrics`)).text();
        expect(m).toMatch(
          new RegExp(`infergate_upstream_retries_total\\{backend="Service default/s:8000"\\} ${resets}\\b`),
        );
        expect(m).toMatch(
          new RegExp(
            `infergate_upstream_attempts_total\\{[^}]*endpoint="127.0.0.1:${resetting.port}",result="reset"\\} ${resets}\\b`,
          ),
        );
      } finally {
        await resetting.close();
      }
    });
  });

  describe('timeouts', () => {
    it('answers 504 when the route request timeout passes before the upstream answers', async () => {
      const g = await serve((b) => {
        b.service('s', [{ port: good.port }]);
        b.route({ name: 'r', rules: [{ backends: [{ name: 's' }], timeouts: { requestMs: 200 } }] });
      });
      const before = good.aborted;
      const r = await call(g.url(80), '/v1/chat/completions', {
        headers: { 'x-test': 'hang', 'x-request-id': 't-1' },
        json: chatBody(),
      });
      expect(r.status).toBe(504);
      expect(r.headers['x-request-id']).toBe('t-1');
      expect(errorOf(r)).toMatchObject({ type: 'GatewayTimeoutError', code: 504 });
      await good.waitFor(() => good.aborted > before, 'the upstream request to be aborted');
    });

    it('uses the Gateway’s BackendTrafficPolicy timeout when the route has none, and backendRequest per attempt', async () => {
      const b = new PlanBuilder();
      b.listener({ port: 80, requestTimeoutMs: 200 });
      b.service('s', [{ port: good.port }]);
      b.route({
        name: 'r',
        rules: [
          { backends: [{ name: 's' }] },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/attempt' } }],
            backends: [{ name: 's' }],
            timeouts: { requestMs: 0, backendRequestMs: 150 },
          },
        ],
      });
      const g = await startGateway(b.build());
      gateways.push(g);
      const r = await call(g.url(80), '/v1/chat/completions', {
        headers: { 'x-test': 'hang' },
        json: chatBody(),
      });
      expect(r.status).toBe(504);
      const a = await call(g.url(80), '/attempt', { headers: { 'x-test': 'hang' } });
      expect(a.status).toBe(504);
      expect(errorOf(a).message).toMatch(/did not answer in time/);
    });

    it('answers 504 when the upstream goes silent past --idle-timeout', async () => {
      const g = await serve(
        (b) => {
          b.service('s', [{ port: good.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
        },
        { idleTimeoutMs: 200 },
      );
      const r = await call(g.url(80), '/v1/chat/completions', {
        headers: { 'x-test': 'hang' },
        json: chatBody(),
      });
      expect(r.status).toBe(504);
    });

    it('ends a stream that outlives the request timeout with an SSE error event', async () => {
      const g = await serve((b) => {
        b.service('s', [{ port: slow.port }]);
        b.route({ name: 'r', rules: [{ backends: [{ name: 's' }], timeouts: { requestMs: 400 } }] });
      });
      const before = slow.aborted;
      const r = await call(g.url(80), '/v1/chat/completions', { json: chatBody({ stream: true }) });
      expect(r.status).toBe(200);
      const events = r.text.split('\n\n').filter((e) => e.startsWith('data: '));
      const last = JSON.parse(events.at(-1)!.slice(6));
      expect(last.error).toMatchObject({ code: 504, type: 'GatewayTimeoutError' });
      expect(events.length).toBeLessThan(42); // cut before the 40 tokens + [DONE]
      expect(r.text).not.toContain('[DONE]');
      await slow.waitFor(() => slow.aborted > before, 'the upstream stream to be aborted');
      expect((await g.waitForAccess(1))[0]).toMatchObject({ status: 504, error: 'timeout' });
    });
  });

  describe('client aborts', () => {
    it('aborts the upstream request at once when the client goes away (Service, non-streamed)', async () => {
      const g = await serve((b) => {
        b.service('s', [{ port: good.port }]);
        b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
      });
      const before = good.aborted;
      const ctl = new AbortController();
      const p = request(`${g.url(80)}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-test': 'hang', 'content-type': 'application/json' },
        body: JSON.stringify(chatBody()),
        signal: ctl.signal,
      }).catch(() => undefined);
      await good.waitFor(() => good.open > 0, 'the request to arrive');
      ctl.abort();
      await p;
      await good.waitFor(() => good.aborted > before, 'the upstream to see the abort');
      const log = (await g.waitForAccess(1))[0]!;
      expect(log).toMatchObject({ status: 499, error: 'client-abort' });
    });

    it('aborts a stream mid-way and tells the pool router (onComplete error client-abort)', async () => {
      const registry = recordingRegistry();
      const g = await serve(
        (b) => {
          b.pool('p', [{ port: slow.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ kind: 'InferencePool', name: 'p' }] }] });
        },
        { poolRegistryFactory: () => registry },
      );
      const before = slow.aborted;
      const ctl = new AbortController();
      const r = await request(`${g.url(80)}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify(chatBody({ stream: true })),
        signal: ctl.signal,
      });
      const it = r.body[Symbol.asyncIterator]();
      await it.next(); // the stream has started
      ctl.abort();
      await it.next().catch(() => undefined);
      await slow.waitFor(() => slow.aborted > before, 'the upstream stream to be aborted');
      await waitFor(() => registry.completed.length === 1, 'onComplete');
      expect(registry.completed[0]!.outcome).toMatchObject({ status: 200, ok: false, error: 'client-abort' });
      expect((await g.waitForAccess(1))[0]).toMatchObject({ status: 499 });
    });
  });

  describe('Service balancing', () => {
    it('ejects an endpoint after consecutive 5xx (passive outlier detection)', async () => {
      const g = await serve(
        (b) => {
          b.service('s', [{ port: broken.port }, { port: good.port }]);
          b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
        },
        {
          serviceLb: 'round-robin',
          outlier: {
            consecutive5xx: 2,
            baseEjectionMs: 60_000,
            maxEjectionMs: 60_000,
            maxEjectionPercent: 10,
          },
        },
      );
      const before = broken.requests.length;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call(g.url(80), '/v1/models')).status);
      expect(broken.requests.length - before).toBe(2);
      expect(statuses.filter((s) => s === 500)).toHaveLength(2);
      const m = await (await fetch(`${g.admin}/metrics`)).text();
      expect(m).toMatch(
        new RegExp(
          `infergate_outlier_ejections_total\\{backend="Service default/s:8000",endpoint="127.0.0.1:${broken.port}"\\} 1`,
        ),
      );
    });

    it.each([
      ['least-request', (n: number) => expect(n).toBeLessThanOrEqual(1)],
      ['round-robin', (n: number) => expect(n).toBe(5)],
    ] as const)('%s: how many of 10 requests go to an endpoint that holds them', async (policy, check) => {
      const held: ServerResponse[] = [];
      const holder = await startUpstream('holder', (_req, res) => {
        held.push(res);
      });
      try {
        const g = await serve(
          (b) => {
            b.service('s', [{ port: holder.port }, { port: good.port }]);
            b.route({ name: 'r', rules: [{ backends: [{ name: 's' }] }] });
          },
          { serviceLb: policy },
        );
        const pending: Promise<unknown>[] = [];
        for (let i = 0; i < 10; i++) {
          const h0 = holder.requests.length;
          const g0 = good.requests.length;
          const p = call(g.url(80), '/v1/models');
          await waitFor(
            () => holder.requests.length > h0 || good.requests.length > g0,
            'the request to arrive',
          );
          // Answered at once by `good` (its in-flight count back to 0), or held by `holder`.
          if (good.requests.length > g0) await p;
          else pending.push(p);
        }
        check(holder.requests.length);
        for (const res of held) json(res, 200, { released: true });
        await Promise.all(pending);
      } finally {
        for (const res of held) if (!res.writableEnded) res.destroy();
        await holder.close();
      }
    });
  });
});
