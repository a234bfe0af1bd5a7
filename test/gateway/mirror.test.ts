/**
 * RequestMirror end to end: the candidate receives a copy (Host with `-shadow`), the client sees only
 * the primary, a hung mirror does not hold up the primary, copies beyond the concurrency bound are
 * dropped and counted, an InferencePool can be the mirror, and comparisons are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './helpers/gateway.js';
import { call } from './helpers/http.js';
import { PlanBuilder } from './helpers/plan.js';
import { fakeOpenAi, startUpstream, type TestUpstream, waitFor } from './helpers/upstream.js';

const chat = (model = 'm', extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'introduce yourself' }],
  ...extra,
});

describe('request mirroring', () => {
  let primary: TestUpstream;
  let candidate: TestUpstream;
  let hung: TestUpstream;
  let poolMirror: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    primary = await startUpstream('primary', fakeOpenAi({ tokens: 8 }));
    candidate = await startUpstream('candidate', fakeOpenAi({ tokens: 5 }));
    hung = await startUpstream('hung', () => undefined); // accepts, never answers
    poolMirror = await startUpstream('pool-mirror', fakeOpenAi({ tokens: 3 }));
    const b = new PlanBuilder();
    b.listener({ port: 80 });
    b.pool('prod', [{ port: primary.port }]);
    b.pool('candidates', [{ port: poolMirror.port }]);
    b.service('candidate', [{ port: candidate.port }]);
    b.service('hung', [{ port: hung.port }]);
    const prefix = (value: string) => [{ path: { type: 'PathPrefix' as const, value } }];
    b.route({
      name: 'mirror-route',
      hostnames: ['example.com'],
      rules: [
        {
          backends: [{ kind: 'InferencePool', name: 'prod' }],
          mirrors: [{ backend: { name: 'candidate' } }],
        },
        {
          matches: prefix('/hung'),
          urlRewrite: { path: { type: 'ReplacePrefixMatch', value: '/v1' } },
          backends: [{ kind: 'InferencePool', name: 'prod' }],
          mirrors: [{ backend: { name: 'hung' } }],
        },
        {
          matches: prefix('/half'),
          urlRewrite: { path: { type: 'ReplacePrefixMatch', value: '/v1' } },
          backends: [{ kind: 'InferencePool', name: 'prod' }],
          mirrors: [{ backend: { name: 'candidate' }, fraction: 0.5 }],
        },
        {
          matches: prefix('/to-pool'),
          urlRewrite: { path: { type: 'ReplacePrefixMatch', value: '/v1' } },
          backends: [{ kind: 'InferencePool', name: 'prod' }],
          mirrors: [{ backend: { kind: 'InferencePool', name: 'candidates' } }],
        },
      ],
    });
    gw = await startGateway(b.build(), { mirrorConcurrency: 2, mirrorTimeoutMs: 60_000 });
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([primary, candidate, hung, poolMirror].map((u) => u?.close()));
  });

  const host = { host: 'example.com' };

  it('sends a copy to the candidate while the client sees only the primary (seed 000 flow)', async () => {
    const p0 = primary.requests.length;
    const c0 = candidate.requests.length;
    for (let i = 0; i < 2; i++) {
      const r = await call(gw.url(80), '/v1/chat/completions', {
        headers: host,
        json: chat('/model/llama2'),
      });
      expect(r.status).toBe(200);
      expect(r.headers['x-upstream-name']).toBe('primary');
      expect((r.json() as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(8);
    }
    await candidate.waitFor(() => candidate.requests.length - c0 === 2, 'two mirrored requests');
    expect(primary.requests.length - p0).toBe(2);
    const copy = candidate.requests.at(-1)!;
    expect(copy.url).toBe('/v1/chat/completions');
    expect(copy.headers.host).toBe('example.com-shadow');
    expect(JSON.parse(copy.body.toString())).toEqual(chat('/model/llama2'));
    expect(copy.headers['x-request-id']).toBe(primary.requests.at(-1)!.headers['x-request-id']);
  });

  it('reports primary-vs-mirror comparisons in /admin/mirrors and /metrics', async () => {
    const c0 = candidate.requests.length;
    await call(gw.url(80), '/v1/chat/completions', { headers: host, json: chat('m', { stream: true }) });
    await candidate.waitFor(() => candidate.requests.length > c0, 'the streamed copy');
    // The mirror asked for usage too (so tokens can be compared), though the client did not.
    expect(JSON.parse(candidate.requests.at(-1)!.body.toString()).stream_options).toEqual({
      include_usage: true,
    });
    const key = 'HTTPRoute default/mirror-route#0 → Service default/candidate:8000';
    let m: Record<string, unknown> | undefined;
    // The pair is recorded when both sides have finished; poll the summary until it is.
    await waitFor(
      () => m !== undefined && (m.sameStatus as number) >= 3,
      'three comparisons',
      10_000,
      async () => {
        const all = (await (await fetch(`${gw.admin}/admin/mirrors`)).json()) as {
          mirrors: Record<string, unknown>[];
        };
        m = all.mirrors.find((x) => x.key === key);
      },
    );
    expect(m).toMatchObject({
      sent: 3,
      dropped: 0,
      completed: 3,
      failed: 0,
      sameStatus: 3,
      differentStatus: 0,
    });
    const sides = m as {
      primary: Record<string, { mean: number } | undefined>;
      mirrorSide: Record<string, { mean: number } | undefined>;
    };
    expect(sides.primary.completionTokens?.mean).toBeCloseTo((8 + 8 + 8) / 3);
    expect(sides.mirrorSide.completionTokens?.mean).toBeCloseTo(5);
    expect(sides.mirrorSide.ttftMs).toBeDefined(); // from the streamed pair
    expect(String(m!.text)).toContain('100% same status as primary');
    const text = await (await fetch(`${gw.admin}/admin/mirrors?format=text`)).text();
    expect(text).toContain(key);
    const metrics = await (await fetch(`${gw.admin}/metrics`)).text();
    expect(metrics).toMatch(
      /infergate_mirror_requests_total\{route="HTTPRoute default\/mirror-route",mirror="Service default\/candidate:8000",result="completed"\} 3/,
    );
    expect(metrics).toMatch(/infergate_mirror_status_comparisons_total\{[^}]*agreement="same"\} 3/);
    expect(metrics).toMatch(/infergate_mirror_tokens_total\{[^}]*side="mirror",kind="completion"\} 15/);
  });

  it('answers the client while the mirror is still hung, and drops copies beyond the concurrency bound', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call(gw.url(80), '/hung/chat/completions', { headers: host, json: chat() });
      expect(r.status).toBe(200);
      expect(r.headers['x-upstream-name']).toBe('primary');
    }
    // The mirror has never answered anything…
    await hung.waitFor(() => hung.requests.length === 2, 'two copies held');
    expect(hung.open).toBe(2);
    // …and the third copy was dropped (mirrorConcurrency 2) and counted.
    const all = (await (await fetch(`${gw.admin}/admin/mirrors`)).json()) as {
      mirrors: { mirror: string; sent: number; dropped: number }[];
    };
    const h = all.mirrors.find((x) => x.mirror === 'Service default/hung:8000')!;
    expect(h).toMatchObject({ sent: 2, dropped: 1 });
    const log = gw.access.at(-1)!;
    expect(log.mirrors).toEqual(['Service default/hung:8000:dropped']);
  });

  it('honours the mirror fraction (seeded; statistical bound)', async () => {
    const c0 = candidate.requests.length;
    const n = 200;
    for (let i = 0; i < n; i++)
      await call(gw.url(80), '/half/completions', { headers: host, json: { model: 'm', prompt: 'x' } });
    let half: { sent: number; completed: number; failed: number } | undefined;
    await waitFor(
      () => half !== undefined && half.completed + half.failed === half.sent,
      'copies to finish',
      10_000,
      async () => {
        const all = (await (await fetch(`${gw.admin}/admin/mirrors`)).json()) as {
          mirrors: { key: string; sent: number; completed: number; failed: number }[];
        };
        half = all.mirrors.find((x) => x.key.startsWith('HTTPRoute default/mirror-route#2'));
      },
    );
    const copies = candidate.requests.length - c0;
    expect(copies).toBe(half!.sent);
    // Binomial(200, 0.5): within [70, 130] with probability > 0.9999.
    expect(copies).toBeGreaterThan(70);
    expect(copies).toBeLessThan(130);
  });

  it('mirrors to an InferencePool through its own router', async () => {
    const m0 = poolMirror.requests.length;
    const r = await call(gw.url(80), '/to-pool/chat/completions', { headers: host, json: chat() });
    expect(r.headers['x-upstream-name']).toBe('primary');
    await poolMirror.waitFor(() => poolMirror.requests.length > m0, 'the pool copy');
    const copy = poolMirror.requests.at(-1)!;
    expect(copy.headers['x-gateway-destination-endpoint']).toBe(`127.0.0.1:${poolMirror.port}`);
    expect(copy.headers.host).toBe('example.com-shadow');
  });

  it('abandons copies with the client only when --mirror-follow-client-abort says so', async () => {
    const b = new PlanBuilder();
    b.listener({ port: 80 });
    b.pool('prod', [{ port: primary.port }]);
    b.service('hung', [{ port: hung.port }]);
    b.route({
      name: 'r',
      rules: [
        { backends: [{ kind: 'InferencePool', name: 'prod' }], mirrors: [{ backend: { name: 'hung' } }] },
      ],
    });
    const g = await startGateway(b.build(), { mirrorFollowsClientAbort: true });
    try {
      const abortedBefore = hung.aborted;
      const ctl = new AbortController();
      const p = call(
        g.url(80),
        '/v1/chat/completions',
        { headers: { 'x-test': 'hang' }, json: chat() },
        ctl.signal,
      ).catch(() => undefined);
      await hung.waitFor(() => hung.open >= 3, 'the copy to arrive'); // two held from the earlier test
      ctl.abort();
      await p;
      await hung.waitFor(() => hung.aborted > abortedBefore, 'the copy to be abandoned with the client');
    } finally {
      await g.close();
    }
  });
});
