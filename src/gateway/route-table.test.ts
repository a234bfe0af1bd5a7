import { describe, expect, it } from 'vitest';
import { PlanBuilder, type RouteSpec } from '../../test/gateway/helpers/plan.js';
import { normalizeHost } from './hostnames.js';
import { type MatchInput, RouteTable } from './route-table.js';

/** Builds a table for routes on one listener (port 80, optional hostname) and returns a matcher. */
function table(routes: RouteSpec[], listenerHostname?: string) {
  const b = new PlanBuilder();
  b.listener({ port: 80, hostname: listenerHostname });
  b.service('svc', [{ port: 1 }]);
  for (const r of routes) b.route(r);
  const t = new RouteTable(b.build(), (route, rule) => `${route.name}#${rule.index}`);
  return (req: Partial<MatchInput> & { url?: string }) => {
    const url = req.url ?? req.path ?? '/';
    const q = url.indexOf('?');
    return t.match(80, {
      host: normalizeHost(req.host ?? 'example.com'),
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      headers: req.headers ?? {},
    })?.data;
  };
}

const svc = [{ name: 'svc' }];
const prefix = (value: string) => ({ path: { type: 'PathPrefix' as const, value } });
const exact = (value: string) => ({ path: { type: 'Exact' as const, value } });
const regex = (value: string) => ({ path: { type: 'RegularExpression' as const, value } });

describe('RouteTable path precedence', () => {
  const match = table([
    {
      name: 'a',
      rules: [
        { matches: [prefix('/')], backends: svc },
        { matches: [prefix('/v1')], backends: svc },
        { matches: [prefix('/v1/chat/')], backends: svc },
        { matches: [exact('/v1/chat/completions')], backends: svc },
        { matches: [regex('/v1/models/[a-z]+')], backends: svc },
      ],
    },
  ]);
  it.each([
    ['/', 'a#0'],
    ['/v1', 'a#1'],
    ['/v1/', 'a#1'],
    ['/v1/completions', 'a#1'],
    ['/v10', 'a#0'], // element-wise: /v1 does not match /v10
    ['/v1/chat', 'a#2'], // trailing slash of a prefix is ignored
    ['/v1/chat/completions', 'a#3'], // Exact beats every prefix
    ['/v1/chat/completions/x', 'a#2'],
    ['/v1/chat/completions?x=1', 'a#3'], // query string is not part of the path
    ['/v1/models/abc', 'a#1'], // a matching prefix beats a regex (regex comes after every prefix)
  ])('%s → %s', (url, want) => {
    expect(match({ url })).toBe(want);
  });
});

describe('RouteTable regex paths come after prefixes but match when no prefix does', () => {
  const match = table([
    {
      name: 'a',
      rules: [
        { matches: [regex('/models/[a-z]+')], backends: svc },
        { matches: [prefix('/v1')], backends: svc },
      ],
    },
  ]);
  it.each([
    ['/models/abc', 'a#0'],
    ['/models/abc/x', undefined], // full match only
    ['/models/ABC', undefined],
    ['/v1/x', 'a#1'],
  ])('%s → %s', (url, want) => {
    expect(match({ url })).toBe(want);
  });
});

describe('RouteTable method, header and query precedence', () => {
  const match = table([
    {
      name: 'a',
      rules: [
        { matches: [prefix('/x')], backends: svc },
        {
          matches: [{ ...prefix('/x'), headers: [{ type: 'Exact', name: 'X-Env', value: 'canary' }] }],
          backends: svc,
        },
        {
          matches: [
            {
              ...prefix('/x'),
              headers: [
                { type: 'Exact', name: 'x-env', value: 'canary' },
                { type: 'RegularExpression', name: 'x-user', value: 'u[0-9]+' },
              ],
            },
          ],
          backends: svc,
        },
        { matches: [{ ...prefix('/x'), method: 'POST' }], backends: svc },
        {
          matches: [{ ...prefix('/x'), queryParams: [{ type: 'Exact', name: 'v', value: '2' }] }],
          backends: svc,
        },
      ],
    },
  ]);
  it.each([
    [{ url: '/x' }, 'a#0'],
    [{ url: '/x', headers: { 'x-env': 'canary' } }, 'a#1'],
    [{ url: '/x', headers: { 'x-env': 'canary', 'x-user': 'u42' } }, 'a#2'],
    [{ url: '/x', headers: { 'x-env': 'canary', 'x-user': 'bob' } }, 'a#1'],
    [{ url: '/x', method: 'POST', headers: { 'x-env': 'canary', 'x-user': 'u1' } }, 'a#3'], // method beats headers
    [{ url: '/x?v=2' }, 'a#4'],
    [{ url: '/x?v=3' }, 'a#0'],
    [{ url: '/x?v=2', headers: { 'x-env': 'canary' } }, 'a#1'], // headers beat query params
  ])('%j → %s', (req, want) => {
    expect(match(req)).toBe(want);
  });
});

describe('RouteTable ties between routes', () => {
  it('goes to the oldest route by creationTimestamp', () => {
    const match = table([
      {
        name: 'young',
        creationTimestamp: '2024-05-01T00:00:00Z',
        rules: [{ matches: [prefix('/a')], backends: svc }],
      },
      {
        name: 'old',
        creationTimestamp: '2023-01-01T00:00:00Z',
        rules: [{ matches: [prefix('/a')], backends: svc }],
      },
    ]);
    expect(match({ url: '/a' })).toBe('old#0');
  });
  it('goes to namespace/name alphabetically on equal timestamps', () => {
    const ts = '2024-01-01T00:00:00Z';
    const match = table([
      { name: 'zeta', creationTimestamp: ts, rules: [{ matches: [prefix('/a')], backends: svc }] },
      { name: 'alpha', creationTimestamp: ts, rules: [{ matches: [prefix('/a')], backends: svc }] },
    ]);
    expect(match({ url: '/a' })).toBe('alpha#0');
  });
  it('goes to load order without timestamps, and to the first rule within a route', () => {
    const match = table([
      {
        name: 'first',
        rules: [
          { matches: [prefix('/a')], backends: svc },
          { matches: [prefix('/a')], backends: svc },
        ],
      },
      { name: 'second', rules: [{ matches: [prefix('/a')], backends: svc }] },
    ]);
    expect(match({ url: '/a' })).toBe('first#0');
  });
  it('still prefers the more specific match of a younger route', () => {
    const match = table([
      {
        name: 'old',
        creationTimestamp: '2020-01-01T00:00:00Z',
        rules: [{ matches: [prefix('/a')], backends: svc }],
      },
      { name: 'new', rules: [{ matches: [prefix('/a/b')], backends: svc }] },
    ]);
    expect(match({ url: '/a/b/c' })).toBe('new#0');
    expect(match({ url: '/a/c' })).toBe('old#0');
  });
});

describe('RouteTable hostnames', () => {
  const match = table([
    { name: 'any', rules: [{ matches: [prefix('/')], backends: svc }] },
    { name: 'wild', hostnames: ['*.example.com'], rules: [{ matches: [prefix('/')], backends: svc }] },
    {
      name: 'deepwild',
      hostnames: ['*.api.example.com'],
      rules: [{ matches: [prefix('/')], backends: svc }],
    },
    { name: 'exact', hostnames: ['foo.example.com'], rules: [{ matches: [prefix('/only')], backends: svc }] },
  ]);
  it.each([
    ['foo.example.com', '/only/x', 'exact#0'],
    ['FOO.example.com:8080', '/only', 'exact#0'], // case and port ignored
    ['foo.example.com', '/other', 'wild#0'], // no rule of the exact host matches: the wildcard's may
    ['bar.example.com', '/', 'wild#0'],
    ['a.b.example.com', '/', 'wild#0'], // a wildcard matches several labels
    ['x.api.example.com', '/', 'deepwild#0'], // the longer wildcard wins
    ['example.com', '/', 'any#0'], // *.example.com does not match example.com
    ['other.org', '/', 'any#0'],
  ])('%s%s → %s', (host, url, want) => {
    expect(match({ host, url })).toBe(want);
  });

  it('intersects route hostnames with the listener hostname', () => {
    const m = table(
      [
        { name: 'narrow', hostnames: ['a.example.com', 'a.example.net'], rules: [{ backends: svc }] },
        { name: 'nohost', rules: [{ matches: [prefix('/n')], backends: svc }] },
      ],
      '*.example.com',
    );
    expect(m({ host: 'a.example.com' })).toBe('narrow#0');
    expect(m({ host: 'a.example.net' })).toBeUndefined(); // outside the listener's hostname
    expect(m({ host: 'b.example.com', url: '/n' })).toBe('nohost#0'); // inherits *.example.com
    expect(m({ host: 'other.org', url: '/n' })).toBeUndefined();
  });
});

describe('RouteTable first-match routes (Istio VirtualService, ASM LLMRoute)', () => {
  it('tries their rules in order, after the Gateway API entries', () => {
    const b = new PlanBuilder();
    b.listener({ port: 80 });
    b.service('svc', [{ port: 1 }]);
    b.route({
      name: 'vs',
      rules: [
        { matches: [prefix('/')], backends: svc },
        { matches: [exact('/v1/models')], backends: svc },
      ],
    });
    b.route({ name: 'gw', rules: [{ matches: [prefix('/gw')], backends: svc }] });
    const plan = b.build();
    const routes = plan.routes.map((r) => (r.name === 'vs' ? { ...r, firstMatch: true } : r));
    const listeners = plan.listeners.map((l) => ({ ...l, routeKeys: routes.map((r) => r.key) }));
    const t = new RouteTable({ ...plan, routes, listeners }, (route, rule) => `${route.name}#${rule.index}`);
    const m = (path: string) => t.match(80, { host: '', method: 'GET', path, query: '', headers: {} })?.data;
    expect(m('/v1/models')).toBe('vs#0'); // first match wins within the VirtualService
    expect(m('/gw/x')).toBe('gw#0');
  });
});

describe('RouteTable compile problems', () => {
  it('skips a rule whose regex does not compile and says why', () => {
    const b = new PlanBuilder();
    b.listener({ port: 80 });
    b.service('svc', [{ port: 1 }]);
    b.route({ name: 'r', rules: [{ matches: [regex('/(unclosed')], backends: svc }, { backends: svc }] });
    const t = new RouteTable(b.build(), (_r, rule) => rule.index);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]!.message).toMatch(/does not compile/);
    expect(t.match(80, { host: '', method: 'GET', path: '/(unclosed', query: '', headers: {} })?.data).toBe(
      1,
    );
  });
});
