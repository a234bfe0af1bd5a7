import { describe, expect, it } from 'vitest';
import { nextInterval, WritePacer } from './write-pacer.js';

describe('nextInterval (the auto write-interval controller)', () => {
  it.each([
    // current ms, loop utilisation, fraction of time lost to stalls, expected ms
    [0, 0.9, 0, 0.5], // busy: starts coalescing
    [2, 0.9, 0, 3], // busy: ×1.5
    [7, 1, 0, 8], // capped at max (8)
    [2, 0.3, 0.2, 3], // idle loop but the engines stall (CPU taken by other processes): grows
    [8, 0.6, 0, 8], // between the thresholds: holds
    [2, 0.6, 0.03, 2],
    [4, 0.2, 0.03, 4], // idle but some stall: holds
    [4, 0.2, 0, 2.8], // idle: ×0.7
    [0.6, 0.2, 0, 0], // below the smallest interval: every wake-up writes
    [0, 0.1, 0, 0],
  ])('from %s ms at utilisation %s, stall %s → %s ms', (current, utilization, stall, expected) => {
    expect(nextInterval(current, utilization, stall, 8)).toBeCloseTo(expected, 9);
  });
});

describe('WritePacer', () => {
  it('a fixed interval never adapts', () => {
    const p = new WritePacer(3);
    expect(p.auto).toBe(false);
    for (let i = 0; i < 5; i++) p.update(0);
    expect(p.intervalMs).toBe(3);
    expect(p.utilization).toBeGreaterThanOrEqual(0);
    expect(p.utilization).toBeLessThanOrEqual(1);
  });

  it('auto mode starts at 0 (a write per wake-up) and stays within its ceiling', () => {
    const p = new WritePacer(null, 2);
    expect(p.auto).toBe(true);
    expect(p.intervalMs).toBe(0);
    const until = performance.now() + 20;
    while (performance.now() < until); // a fully busy loop
    p.update(0);
    expect(p.utilization).toBeGreaterThan(0.75);
    expect(p.intervalMs).toBe(0.5);
    for (let i = 0; i < 10; i++) {
      const t = performance.now() + 5;
      while (performance.now() < t);
      p.update(0);
    }
    expect(p.intervalMs).toBe(2);
  });
});
