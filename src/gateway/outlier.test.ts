import { describe, expect, it } from 'vitest';
import { OutlierDetector } from './outlier.js';
import { UpstreamEndpoint } from './upstream-endpoint.js';

const opts = { consecutive5xx: 3, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectionPercent: 10 };

function set(n: number): UpstreamEndpoint[] {
  return Array.from({ length: n }, (_, i) => new UpstreamEndpoint('10.0.0.2', 9000 + i));
}

describe('OutlierDetector', () => {
  it('ejects after N consecutive failures; a success resets the count', () => {
    const eps = set(4);
    const ejected: string[] = [];
    const d = new OutlierDetector(opts, (ep) => ejected.push(ep.id));
    const ep = eps[0]!;
    expect(d.failure(ep, eps, 0)).toBe(false);
    expect(d.failure(ep, eps, 0)).toBe(false);
    d.success(ep);
    expect(d.failure(ep, eps, 0)).toBe(false);
    expect(d.failure(ep, eps, 0)).toBe(false);
    expect(d.failure(ep, eps, 0)).toBe(true);
    expect(ep.isEjected(999)).toBe(true);
    expect(ep.isEjected(1000)).toBe(false);
    expect(ejected).toEqual([ep.id]);
  });

  it('ejects for longer each time (base × ejections, capped)', () => {
    const eps = set(2);
    const d = new OutlierDetector(opts);
    const ep = eps[0]!;
    const ejectAt = (now: number) => {
      for (let i = 0; i < 3; i++) d.failure(ep, eps, now);
      return ep.ejectedUntil - now;
    };
    expect(ejectAt(0)).toBe(1000);
    expect(ejectAt(2000)).toBe(2000);
    expect(ejectAt(5000)).toBe(3000);
  });

  it('always allows one ejection, but no more than maxEjectionPercent beyond that', () => {
    const eps = set(4); // 10% of 4 < 1: exactly one may be ejected at a time
    const d = new OutlierDetector(opts);
    for (let i = 0; i < 3; i++) d.failure(eps[0]!, eps, 0);
    for (let i = 0; i < 3; i++) d.failure(eps[1]!, eps, 0);
    expect(eps[0]!.isEjected(1)).toBe(true);
    expect(eps[1]!.isEjected(1)).toBe(false);
    const half = new OutlierDetector({ ...opts, maxEjectionPercent: 50 });
    const more = set(4);
    for (const ep of more) for (let i = 0; i < 3; i++) half.failure(ep, more, 0);
    expect(more.filter((e) => e.isEjected(1))).toHaveLength(2);
  });

  it('is off with consecutive5xx 0', () => {
    const eps = set(2);
    const d = new OutlierDetector({ ...opts, consecutive5xx: 0 });
    for (let i = 0; i < 10; i++) expect(d.failure(eps[0]!, eps, 0)).toBe(false);
  });
});
