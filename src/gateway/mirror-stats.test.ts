import { describe, expect, it } from 'vitest';
import { MirrorStats, RingSamples, type SideOutcome } from './mirror-stats.js';

const side = (status: number, latencyMs: number, extra: Partial<SideOutcome> = {}): SideOutcome => ({
  status,
  latencyMs,
  ttftMs: undefined,
  promptTokens: undefined,
  completionTokens: undefined,
  error: undefined,
  ...extra,
});

describe('RingSamples', () => {
  it('keeps only the most recent samples', () => {
    const r = new RingSamples(3);
    for (const v of [1, 2, 3, 4, 5]) r.push(v);
    expect([...r.sorted()]).toEqual([3, 4, 5]);
  });
});

describe('MirrorStats', () => {
  it('summarises status agreement and both sides’ distributions', () => {
    const s = new MirrorStats('k', {
      route: 'HTTPRoute default/r',
      rule: 0,
      mirror: 'Service default/m:8000',
    });
    s.sent = 4;
    s.completed = 4;
    for (let i = 0; i < 3; i++) {
      s.recordPair(
        side(200, 100, { ttftMs: 20, completionTokens: 10 }),
        side(200, 150, { ttftMs: 40, completionTokens: 12 }),
      );
    }
    s.recordPair(side(200, 100), side(500, 5));
    const sum = s.summary();
    expect(sum.sameStatus).toBe(3);
    expect(sum.differentStatus).toBe(1);
    expect(sum.statusDifferences).toEqual({ '200→500': 1 });
    expect(sum.primary.latencyMs).toEqual({ n: 4, mean: 100, p50: 100, p95: 100 });
    expect(sum.mirrorSide.latencyMs?.p50).toBe(150);
    expect(sum.mirrorSide.ttftMs).toEqual({ n: 3, mean: 40, p50: 40, p95: 40 });
    expect(sum.text).toContain('75% same status as primary');
    expect(sum.text).toContain('TTFT p50 mirror 40 ms vs primary 20 ms (2.00×)');
  });
});
