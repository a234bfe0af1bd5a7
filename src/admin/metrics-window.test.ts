import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../telemetry/fast-histogram.js';
import { bucketIncreaseBy, histogramQuantile, increaseBy, MetricsWindow } from './metrics-window.js';

describe('histogramQuantile', () => {
  it('interpolates inside the bucket as Prometheus does', () => {
    // 10 observations ≤ 0.1, 10 more in (0.1, 0.5], none above.
    const b = new Map([
      [0.1, 10],
      [0.5, 20],
      [Number.POSITIVE_INFINITY, 20],
    ]);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1, 9);
    expect(histogramQuantile(0.75, b)).toBeCloseTo(0.3, 9);
    expect(histogramQuantile(0.25, b)).toBeCloseTo(0.05, 9);
  });

  it('answers the highest finite bound for the +Inf bucket and undefined without observations', () => {
    expect(
      histogramQuantile(
        0.99,
        new Map([
          [1, 1],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
    ).toBe(1);
    expect(histogramQuantile(0.5, new Map([[Number.POSITIVE_INFINITY, 0]]))).toBeUndefined();
  });
});

describe('MetricsWindow', () => {
  it('turns registry samples into increases and bucket increases', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'x_total', help: 'x', labelNames: ['route'], registers: [registry] });
    const h = new FastHistogram('y_seconds', 'y', ['route'], [0.1, 1], registry);
    const w = new MetricsWindow({ registry, families: ['x_total', 'y_seconds'] });
    c.inc({ route: 'a' }, 5);
    await w.sample();
    c.inc({ route: 'a' }, 3);
    c.inc({ route: 'b' }, 2); // born between the two samples: counts from 0
    const child = h.child('a', { route: 'a' });
    child.observe(0.05);
    child.observe(0.5);
    await w.sample();
    const [from, to] = w.history;
    const inc = increaseBy(from!, to!, 'x_total', (l) => l.route);
    expect(Object.fromEntries(inc)).toEqual({ a: 3, b: 2 });
    const buckets = bucketIncreaseBy(from!, to!, 'y_seconds', (l) => l.route).get('a')!;
    expect([...buckets].sort((x, y) => x[0] - y[0])).toEqual([
      [0.1, 1],
      [1, 2],
      [Number.POSITIVE_INFINITY, 2],
    ]);
    w.stop();
  });

  it('samples only while watched and keeps a bounded history', async () => {
    const registry = new Registry();
    const w = new MetricsWindow({ registry, keepSeconds: 2, families: [] });
    expect(w.running).toBe(false);
    await w.watch();
    expect(w.running).toBe(true);
    for (let i = 0; i < 6; i++) await w.sample();
    expect(w.history.length).toBe(3);
    w.stop();
    expect(w.running).toBe(false);
  });
});
