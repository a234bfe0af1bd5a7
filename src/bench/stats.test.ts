import { describe, expect, it } from 'vitest';
import {
  breakdown,
  calculateMetrics,
  parseSlo,
  percentile,
  percentileKey,
  type RequestOutcome,
  summarize,
} from './stats.js';

// Hand-computed fixture (values checked against numpy.percentile / numpy.std):
//   A: ttft 100, e2e 500, 5 tokens  → TPOT (500−100)/4 = 100
//   B: ttft 200, e2e 800, 4 tokens  → TPOT (800−200)/3 = 200
//   C: ttft 600, e2e 600, 1 token   → no TPOT (counts as 0 for goodput)
//   D: HTTP 503, E: aborted
const OUTCOMES: RequestOutcome[] = [
  { success: true, ttftMs: 100, latencyMs: 500, promptTokens: 10, outputTokens: 5 },
  { success: true, ttftMs: 200, latencyMs: 800, promptTokens: 20, outputTokens: 4 },
  { success: true, ttftMs: 600, latencyMs: 600, promptTokens: 30, outputTokens: 1 },
  {
    success: false,
    ttftMs: Number.NaN,
    latencyMs: Number.NaN,
    promptTokens: 40,
    outputTokens: 0,
    error: '503',
  },
  { success: false, ttftMs: 50, latencyMs: 90, promptTokens: 50, outputTokens: 3, error: 'aborted' },
];
const ITLS = [10, 20, 30, 40];

describe('percentile (numpy linear interpolation)', () => {
  it.each([
    { sample: [], p: 50, want: 0 },
    { sample: [7], p: 99, want: 7 },
    { sample: [100, 200, 600], p: 50, want: 200 },
    { sample: [100, 200, 600], p: 90, want: 520 }, // rank 1.8 → 200 + 0.8 × 400
    { sample: [100, 200, 600], p: 99, want: 592 }, // rank 1.98
    { sample: [10, 20, 30, 40], p: 50, want: 25 },
    { sample: [10, 20, 30, 40], p: 90, want: 37 }, // rank 2.7
    { sample: [10, 20, 30, 40], p: 100, want: 40 },
    { sample: [10, 20, 30, 40], p: 0, want: 10 },
  ])('p$p of $sample = $want', ({ sample, p, want }) => {
    expect(percentile(sample, p)).toBeCloseTo(want, 9);
  });
});

describe('summarize', () => {
  it('does not depend on input order and copies its input', () => {
    const input = [600, 100, 200];
    const d = summarize(input, [95]);
    expect(input).toEqual([600, 100, 200]);
    expect(d).toMatchObject({ count: 3, mean: 300, median: 200, p90: 520, p99: 592 });
    expect(d.std).toBeCloseTo(Math.sqrt(140000 / 3), 9); // population std, as numpy.std
    expect(d.percentiles.p95).toBeCloseTo(560, 9);
  });

  it('scales every figure', () => {
    expect(summarize([1, 3], [], 10)).toMatchObject({ mean: 20, median: 20, p90: 28, p99: 29.8 });
  });

  it('summarises an empty sample to zeros, as vLLM prints them', () => {
    expect(summarize([])).toMatchObject({ count: 0, mean: 0, median: 0, p90: 0, p99: 0, std: 0 });
  });
});

describe('calculateMetrics', () => {
  const m = calculateMetrics(OUTCOMES, ITLS, 2000);

  it('counts successes and failures by reason', () => {
    expect(m.completed).toBe(3);
    expect(m.failed).toBe(2);
    expect(m.errors).toEqual({ '503': 1, aborted: 1 });
  });

  it('totals only successful requests and divides by the duration', () => {
    expect(m.durationS).toBe(2);
    expect(m.totalInputTokens).toBe(60);
    expect(m.totalOutputTokens).toBe(10);
    expect(m.requestThroughput).toBe(1.5);
    expect(m.inputTokenThroughput).toBe(30);
    expect(m.outputTokenThroughput).toBe(5);
    expect(m.totalTokenThroughput).toBe(35);
    expect(m.requestGoodput).toBeNull();
  });

  it('computes TTFT, TPOT (> 1 token only), ITL and E2E distributions', () => {
    expect(m.ttft).toMatchObject({ count: 3, mean: 300, median: 200, p90: 520, p99: 592 });
    expect(m.tpot).toMatchObject({ count: 2, mean: 150, median: 150 });
    expect(m.tpot.p90).toBeCloseTo(190, 9);
    expect(m.tpot.p99).toBeCloseTo(199, 9);
    expect(m.itl).toMatchObject({ count: 4, mean: 25, median: 25, p90: 37 });
    expect(m.itl.p99).toBeCloseTo(39.7, 9);
    expect(m.e2el.count).toBe(3);
    expect(m.e2el.mean).toBeCloseTo(1900 / 3, 9);
    expect(m.e2el).toMatchObject({ median: 600, p90: 760, p99: 796 });
  });

  it.each([
    { slo: { ttftMs: 250, tpotMs: 150 }, good: 1 }, // A only (B: TPOT 200; C: TTFT 600)
    { slo: { e2elMs: 600 }, good: 2 }, // A and C
    { slo: { tpotMs: 0 }, good: 1 }, // C: one token → TPOT 0
    { slo: { ttftMs: 1000, tpotMs: 1000, e2elMs: 1000 }, good: 3 },
  ])('goodput with $slo counts $good good requests', ({ slo, good }) => {
    expect(calculateMetrics(OUTCOMES, ITLS, 2000, { slo }).requestGoodput).toBe(good / 2);
  });

  it('converts to the targets time with a time scale (times ÷ scale, rates × scale)', () => {
    const s = calculateMetrics(OUTCOMES, ITLS, 2000, { timeScale: 0.5, slo: { ttftMs: 250 } });
    expect(s.durationS).toBe(4);
    expect(s.requestThroughput).toBe(0.75);
    expect(s.ttft.mean).toBe(600);
    expect(s.itl.median).toBe(50);
    expect(s.tpot.mean).toBe(300);
    // SLOs are in the targets' time: A's TTFT is 200 ms there, B's 400 ms.
    expect(s.requestGoodput).toBe(1 / 4);
  });
});

describe('breakdown', () => {
  it('groups outcomes by key, sorted, leaving undefined keys out', () => {
    const tagged = OUTCOMES.map((o, i) => ({
      ...o,
      tag: i === 4 ? undefined : i % 2 === 0 ? 'even' : 'odd',
    }));
    const b = breakdown(tagged, (o) => o.tag);
    expect(Object.keys(b)).toEqual(['even', 'odd']);
    expect(b.even).toMatchObject({ completed: 2, failed: 0 });
    expect(b.even!.ttft.mean).toBe(350);
    expect(b.odd).toMatchObject({ completed: 1, failed: 1, errors: { '503': 1 } });
  });
});

describe('parseSlo', () => {
  it.each([
    { spec: ['ttft:500', 'tpot:50'], want: { ttftMs: 500, tpotMs: 50 } },
    { spec: 'e2el:10000,ttft:1.5', want: { e2elMs: 10000, ttftMs: 1.5 } },
  ])('parses $spec', ({ spec, want }) => {
    expect(parseSlo(spec)).toEqual(want);
  });

  it.each([['ttft'], ['ttft:abc'], ['latency:5'], ['ttft:-1'], ['ttft:1:2'], ['']])('rejects %s', (spec) => {
    expect(parseSlo(spec)).toHaveProperty('error');
  });
});

describe('edges of the statistics', () => {
  it('clamps percentiles to 0–100 and names extra ones like vLLM', () => {
    expect(percentile([10, 20, 30], 150)).toBe(30);
    expect(percentile([10, 20, 30], -5)).toBe(10);
    expect(percentileKey(99)).toBe('p99');
    expect(percentileKey(99.9)).toBe('p99.9');
    expect(Object.keys(summarize([1, 2, 3], [95, 99.9]).percentiles)).toEqual(['p95', 'p99.9']);
  });

  it('sorts numerically, not as text', () => {
    expect(summarize([100, 9, 20]).median).toBe(20);
  });

  it('a failure without a reason counts as unknown; a zero duration gives zero rates', () => {
    const m = calculateMetrics(
      [
        { success: false, ttftMs: Number.NaN, latencyMs: Number.NaN, promptTokens: 1, outputTokens: 0 },
        { success: true, ttftMs: 10, latencyMs: 20, promptTokens: 3, outputTokens: 2 },
      ],
      [],
      0,
    );
    expect(m.errors).toEqual({ unknown: 1 });
    expect(m).toMatchObject({
      durationS: 0,
      requestThroughput: 0,
      outputTokenThroughput: 0,
      totalTokenThroughput: 0,
    });
  });

  it('ignores a time scale that is not positive', () => {
    for (const timeScale of [0, -2]) {
      const m = calculateMetrics(OUTCOMES, ITLS, 2000, { timeScale });
      expect(m.durationS).toBe(2);
      expect(m.ttft.mean).toBe(300);
    }
  });

  it('passes SLOs, percentiles and time scale on to each slice', () => {
    const b = breakdown(OUTCOMES, () => 'all', { percentiles: [50], timeScale: 0.5 });
    expect(b.all!.ttft.mean).toBe(600);
    expect(b.all!.ttft.percentiles).toEqual({ p50: 400 });
    expect(b.all!.tpot.count).toBe(2);
    expect(b.all!.e2el.count).toBe(3);
  });

  it('explains what is wrong with an SLO spec', () => {
    expect(parseSlo('ttft:abc')).toEqual({
      error: '"ttft:abc" is not NAME:MILLISECONDS with a non-negative number',
    });
    expect(parseSlo('latency:5')).toEqual({ error: '"latency" is not one of ttft, tpot, e2el' });
    expect(parseSlo(' , ')).toEqual({ error: 'needs at least one NAME:MILLISECONDS pair' });
    expect(parseSlo('ttft:')).toHaveProperty('error');
    expect(parseSlo('ttft:0')).toEqual({ ttftMs: 0 });
    expect(parseSlo('tpot:Infinity')).toHaveProperty('error');
  });
});

describe('statistics: edges the mutation run found unchecked', () => {
  const ok = (ttftMs: number, latencyMs: number, outputTokens: number): RequestOutcome => ({
    success: true,
    ttftMs,
    latencyMs,
    promptTokens: 1,
    outputTokens,
  });

  it('no extra percentiles unless asked for', () => {
    expect(summarize([1, 2, 3]).percentiles).toEqual({});
    const m = calculateMetrics([ok(10, 30, 3)], [5], 1000);
    for (const d of [m.ttft, m.tpot, m.itl, m.e2el]) expect(d.percentiles).toEqual({});
  });

  it('every figure is scaled, the spread too', () => {
    expect(summarize([1, 3], [50], 2)).toEqual({
      count: 2,
      mean: 4,
      std: 2,
      median: 4,
      p90: 5.6,
      p99: 5.96,
      percentiles: { p50: 4 },
    });
  });

  it('without an SLO: every request counted, no goodput', () => {
    const m = calculateMetrics([ok(10, 30, 3), ok(20, 60, 5)], [], 2000);
    expect(m.completed).toBe(2);
    expect(m.requestGoodput).toBeNull();
    expect(m.ttft.mean).toBe(15);
  });

  // The SLO is in the targets' time: with timeScale 0.5 a wall millisecond is two target ones.
  // Request: TTFT 50, E2E 150 wall ms, 3 tokens → TPOT 50; in target time 100, 300, 100.
  it.each([
    [{ ttftMs: 100, tpotMs: 100, e2elMs: 300 }, 1],
    [{ ttftMs: 99 }, 0],
    [{ tpotMs: 99 }, 0],
    [{ e2elMs: 299 }, 0],
  ])('goodput compares in the targets’ time, the bound included: %j → %i good', (slo, good) => {
    const m = calculateMetrics([ok(50, 150, 3)], [], 1000, { timeScale: 0.5, slo });
    expect(m.requestGoodput).toBe(good / 2);
  });

  it('a goodput spec with more than one colon is refused', () => {
    expect(parseSlo('ttft:1:2')).toEqual({
      error: '"ttft:1:2" is not NAME:MILLISECONDS with a non-negative number',
    });
  });

  it('breakdown keys come out sorted', () => {
    const tagged = [
      { ...ok(1, 2, 1), tag: 'b' },
      { ...ok(1, 2, 1), tag: 'a' },
      { ...ok(1, 2, 1), tag: 'c' },
    ];
    expect(Object.keys(breakdown(tagged, (o) => o.tag))).toEqual(['a', 'b', 'c']);
  });
});
