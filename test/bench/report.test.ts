/**
 * The JSON and HTML reports of a real two-target run against fake servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, runBench } from '../../src/bench/bench.js';
import { reportHtml } from '../../src/bench/report/html.js';
import { reportJson } from '../../src/bench/report/json.js';
import { type FakeOpenAi, startFakeOpenAi } from './fake-openai.js';
import { benchOptions } from './helpers.js';

let slow: FakeOpenAi;
let fast: FakeOpenAi;
let report: BenchReport;

beforeAll(async () => {
  slow = await startFakeOpenAi((n) => (n === 3 ? { status: 503 } : { ttftMs: 30, itlMs: 2 }));
  fast = await startFakeOpenAi(() => ({ ttftMs: 5, itlMs: 1 }));
  report = await runBench(
    benchOptions([slow.url, fast.url], {
      targets: [
        { name: 'standard', url: slow.url, scrapeUrls: [slow.url] },
        { name: 'inference', url: fast.url, scrapeUrls: [fast.url] },
      ],
      goodput: { ttftMs: 20 },
      objectiveMix: [{ name: 'critical', weight: 1 }],
      saveDetailed: true,
      load: { requestRate: Infinity, maxConcurrency: 4, numPrompts: 16, requestTimeoutS: 60 },
    }),
  );
});

afterAll(async () => {
  await Promise.all([slow.close(), fast.close()]);
});

describe('JSON report', () => {
  const DIST_KEYS = ['mean', 'median', 'p90', 'p99'];

  it('has every figure per target, in stable keys', () => {
    const j = reportJson(report, '9.9.9') as {
      tool: string;
      version: string;
      schema: number;
      baseline: string;
      config: { workload: Record<string, unknown>; load: Record<string, unknown>; targets: unknown[] };
      targets: Record<string, unknown>[];
      ratios: Record<string, Record<string, number | null>>;
    };
    expect(j).toMatchObject({ tool: 'infergate bench', version: '9.9.9', schema: 1, baseline: 'standard' });
    expect(j.config.workload).toMatchObject({ dataset: 'random', seed: 0, endpoint: '/v1/completions' });
    expect(j.config.load).toMatchObject({ request_rate: 'inf', max_concurrency: 4, num_prompts: 16 });
    expect(j.targets.map((t) => t.name)).toEqual(['standard', 'inference']);
    for (const t of j.targets) {
      for (const k of ['ttft', 'tpot', 'itl', 'e2e']) {
        const d = t[k] as Record<string, number>;
        for (const stat of DIST_KEYS) expect(typeof d[stat]).toBe('number');
      }
      for (const k of [
        'request_throughput',
        'output_token_throughput',
        'total_token_throughput',
        'request_goodput',
      ]) {
        expect(typeof t[k]).toBe('number');
      }
      expect(typeof t.prefix_cache_hit_rate).toBe('number');
      expect(t.generator).toMatchObject({
        event_loop_lag_ms: { p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) },
      });
      expect(t.by_objective).toHaveProperty('critical');
      expect((t.requests as unknown[]).length).toBe(16);
      expect(t.timeline).toMatchObject({ replicas: [expect.stringMatching(/\/metrics$/)] });
    }
    expect(j.targets[0]!.errors).toEqual({ '503': 1 });
    expect(j.targets[0]!.completed).toBe(15);
    expect(j.targets[1]!.errors).toEqual({});
    // Ratios of the second target against the baseline.
    const r = j.ratios.inference!;
    expect(r['ttft.mean']).toBeCloseTo(
      (j.targets[1]!.ttft as { mean: number }).mean / (j.targets[0]!.ttft as { mean: number }).mean,
      9,
    );
    expect(r.completed).toBeCloseTo(16 / 15, 9);
  });

  it('survives a JSON round trip (no Infinity or NaN)', () => {
    const text = JSON.stringify(reportJson(report, '1'));
    expect(text).not.toMatch(/NaN|Infinity/);
    expect(JSON.parse(text)).toBeTruthy();
  });
});

describe('HTML report', () => {
  let html = '';
  beforeAll(() => {
    html = reportHtml(report, '9.9.9', 'the document says so');
  });

  it('is self-contained: nothing to fetch', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/\s(src|href)=/i);
    // The only URLs are the targets', shown as text.
    const rest = html.split(slow.url).join('').split(fast.url).join('');
    expect(rest).not.toMatch(/https?:\/\//);
  });

  it('contains the charts and the figures', () => {
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(6);
    for (const title of [
      'TTFT distribution (CDF)',
      'TTFT over time',
      'End-to-end latency over time',
      'Requests served per replica',
      'standard: running (solid) and waiting (dashed) requests per replica',
      'inference: KV-cache usage per replica',
    ]) {
      expect(html).toContain(title);
    }
    expect(html).toContain('inference / standard');
    expect(html).toContain('Mean TTFT (ms)');
    expect(html).toContain('By objective');
    expect(html).toContain('the document says so');
    // One CDF line per target.
    const cdf = html.slice(
      html.indexOf('TTFT distribution (CDF)'),
      html.indexOf('</svg>', html.indexOf('TTFT distribution (CDF)')),
    );
    expect(cdf.match(/<path /g)).toHaveLength(2);
  });
});
