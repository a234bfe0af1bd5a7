import { describe, expect, it } from 'vitest';
import { SeededRng } from '../util/rng.js';
import { ServiceTarget } from './service-balancer.js';
import { UpstreamEndpoint } from './upstream-endpoint.js';

function target(n: number): { t: ServiceTarget; eps: UpstreamEndpoint[] } {
  const eps = Array.from({ length: n }, (_, i) => new UpstreamEndpoint('10.0.0.1', 8000 + i));
  return { t: new ServiceTarget('default/s:80', 'Service default/s:80', eps), eps };
}

describe('ServiceTarget', () => {
  it('round-robin visits every endpoint in turn', () => {
    const { t, eps } = target(3);
    const rng = new SeededRng(1);
    const picks = Array.from({ length: 6 }, () => t.pick('round-robin', rng, 0, undefined));
    expect(picks).toEqual([eps[0], eps[1], eps[2], eps[0], eps[1], eps[2]]);
  });

  it('least-request (power of two choices) never picks the busiest of two when another is idle', () => {
    const { t, eps } = target(2);
    eps[0]!.inFlight = 5;
    const rng = new SeededRng(2);
    for (let i = 0; i < 50; i++) expect(t.pick('least-request', rng, 0, undefined)).toBe(eps[1]);
  });

  it('least-request spreads load: the endpoint with most in flight is picked least', () => {
    const { t, eps } = target(4);
    eps.forEach((e, i) => {
      e.inFlight = i * 3;
    });
    const rng = new SeededRng(3);
    const counts = new Map<UpstreamEndpoint, number>();
    for (let i = 0; i < 4000; i++) {
      const e = t.pick('least-request', rng, 0, undefined)!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    // P2C: the busiest endpoint can only win when paired with itself, which distinct picks exclude.
    expect(counts.get(eps[3]!) ?? 0).toBe(0);
    expect(counts.get(eps[0]!)!).toBeGreaterThan(counts.get(eps[1]!)!);
    expect(counts.get(eps[1]!)!).toBeGreaterThan(counts.get(eps[2]!)!);
  });

  it('random is roughly uniform (seeded)', () => {
    const { t, eps } = target(4);
    const rng = new SeededRng(4);
    const counts = new Map<UpstreamEndpoint, number>();
    for (let i = 0; i < 8000; i++) {
      const e = t.pick('random', rng, 0, undefined)!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const e of eps) expect(Math.abs(counts.get(e)! - 2000)).toBeLessThan(200);
  });

  it('skips tried and ejected endpoints, and uses ejected ones when nothing else is left', () => {
    const { t, eps } = target(3);
    const rng = new SeededRng(5);
    eps[0]!.ejectedUntil = 100;
    for (let i = 0; i < 20; i++) expect(t.pick('round-robin', rng, 50, [eps[1]!])).toBe(eps[2]);
    // At t=150 the ejection is over.
    const seen = new Set(Array.from({ length: 6 }, () => t.pick('round-robin', rng, 150, undefined)));
    expect(seen.has(eps[0]!)).toBe(true);
    // Everything else tried: the ejected endpoint is used (panic).
    expect(t.pick('least-request', rng, 50, [eps[1]!, eps[2]!])).toBe(eps[0]);
    expect(t.pick('least-request', rng, 50, eps)).toBeUndefined();
  });

  it('returns undefined without endpoints', () => {
    const { t } = target(0);
    expect(t.pick('least-request', new SeededRng(1), 0, undefined)).toBeUndefined();
  });
});
