import { describe, expect, it } from 'vitest';
import type { TargetResult } from '../bench.js';
import type { Distribution, ServingMetrics } from '../stats.js';
import { centre, comparisonTable, extrasTable, servingTable } from './table.js';

function dist(mean: number, median: number, p99: number): Distribution {
  return { count: 1, mean, median, p90: 0, p99, std: 0, percentiles: {} };
}

// The user's seed-002 "standard" run, as its vLLM printed it.
const DOC_METRICS: ServingMetrics = {
  completed: 2990,
  failed: 10,
  durationS: 5822.6,
  totalInputTokens: 10071917,
  totalOutputTokens: 5334789,
  requestThroughput: 0.5135,
  requestGoodput: null,
  inputTokenThroughput: 1729.8,
  outputTokenThroughput: 916.22,
  totalTokenThroughput: 2646.02,
  ttft: dist(2456.44, 1366.07, 23509.43),
  tpot: dist(63.5, 63.33, 75.22),
  itl: dist(63.47, 55.49, 59.16),
  e2el: dist(1, 1, 1),
  errors: { '503': 10 },
};

// The document's text with vLLM's trailing padding restored ({:<40} {:<10}).
const DOC_TABLE = `============ Serving Benchmark Result ============
Successful requests:                     2990
Benchmark duration (s):                  5822.60
Total input tokens:                      10071917
Total generated tokens:                  5334789
Request throughput (req/s):              0.51
Output token throughput (tok/s):         916.22
Total Token throughput (tok/s):          2646.02
---------------Time to First Token----------------
Mean TTFT (ms):                          2456.44
Median TTFT (ms):                        1366.07
P99 TTFT (ms):                           23509.43
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          63.50
Median TPOT (ms):                        63.33
P99 TPOT (ms):                           75.22
---------------Inter-token Latency----------------
Mean ITL (ms):                           63.47
Median ITL (ms):                         55.49
P99 ITL (ms):                            59.16
==================================================`;

const VLLM_DEFAULTS = {
  percentileMetrics: ['ttft', 'tpot', 'itl'] as const,
  percentiles: [99],
  goodput: false,
};

describe('servingTable', () => {
  it("reproduces vLLM's benchmark_serving block line for line", () => {
    const out = servingTable(DOC_METRICS, VLLM_DEFAULTS);
    const lines = out.split('\n');
    expect(lines.map((l) => l.trimEnd()).join('\n')).toBe(DOC_TABLE);
    // vLLM pads values to 10 characters after a 40-character label and a space.
    expect(lines[1]).toBe(`${'Successful requests:'.padEnd(40)} ${'2990'.padEnd(10)}`);
  });

  it('adds the goodput line, extra percentiles and the E2EL section when asked', () => {
    const out = servingTable(
      {
        ...DOC_METRICS,
        requestGoodput: 0.25,
        ttft: { ...DOC_METRICS.ttft, p90: 4000, percentiles: { 'p99.9': 30000 } },
      },
      { percentileMetrics: ['ttft', 'e2el'], percentiles: [90, 99, 99.9], goodput: true },
    );
    expect(out).toContain('Request goodput (req/s):                 0.25');
    expect(out).toContain('P90 TTFT (ms):                           4000.00');
    expect(out).toContain('P99.9 TTFT (ms):                         30000.00');
    expect(out).toContain('----------------End-to-end Latency----------------');
    expect(out).not.toContain('Inter-token');
  });
});

describe('centre', () => {
  it.each([
    [' Serving Benchmark Result ', '=', '============ Serving Benchmark Result ============'],
    ['Time to First Token', '-', '---------------Time to First Token----------------'],
  ])('centres %s like Python format ^', (text, fill, want) => {
    expect(centre(text, fill)).toBe(want);
  });
});

function result(name: string, metrics: ServingMetrics, hitRate: number | null): TargetResult {
  return {
    name,
    url: `http://127.0.0.1/${name}`,
    metrics,
    prefixCache: {
      hitRate,
      source: 'v1-counters',
      replicas: [{ url: 'u', requests: 7, prefixQueries: 1, prefixHits: 1, hitRate }],
    },
    timeline: [],
    scrapeUrls: ['u'],
    generator: { lag: { p50Ms: 0.1, p99Ms: 0.5, maxMs: 2, utilization: 0.1, cpuPercent: 5 }, connections: 4 },
    unsent: 0,
    aborted: 2,
    requestCache: null,
    idealPrefixCache: null,
    byModel: undefined,
    byObjective: undefined,
    records: [],
    warnings: ['something to say'],
    notes: [],
  };
}

describe('comparisonTable', () => {
  const base = result('standard', DOC_METRICS, 0.2);
  const better = result(
    'inference',
    { ...DOC_METRICS, ttft: dist(1796.93, 1470.97, 8857.07), outputTokenThroughput: 926.53 },
    0.5,
  );

  it('puts targets side by side with ratios against the first', () => {
    const out = comparisonTable([base, better], VLLM_DEFAULTS);
    const header = out.split('\n')[1]!;
    expect(header).toMatch(/standard\s+inference\s+inference\/standard$/);
    expect(out).toMatch(/Mean TTFT \(ms\)\s+2456\.44\s+1796\.93\s+0\.73x/);
    expect(out).toMatch(/P99 TTFT \(ms\)\s+23509\.43\s+8857\.07\s+0\.38x/);
    expect(out).toMatch(/Output token throughput \(tok\/s\)\s+916\.22\s+926\.53\s+1\.01x/);
    expect(out).toMatch(/Prefix cache hit rate \(%\)\s+20\.00\s+50\.00\s+2\.50x/);
  });

  it('adds reference columns (a document) with their own ratio, "-" where they have no figure', () => {
    const out = comparisonTable([base, better], {
      ...VLLM_DEFAULTS,
      references: [
        { name: 'doc standard', values: { 'ttft.mean': 2456.44 } },
        { name: 'doc inference', values: { 'ttft.mean': 1796.93 } },
      ],
      referenceTitle: 'document',
    });
    expect(out).toMatch(/Mean TTFT \(ms\)\s+2456\.44\s+1796\.93\s+0\.73x\s+2456\.44\s+1796\.93\s+0\.73x/);
    expect(out).toMatch(/Median TTFT \(ms\)\s+1366\.07\s+1470\.97\s+1\.08x\s+-\s+-\s+-/);
    expect(out).toContain('document');
  });
});

describe('extrasTable', () => {
  it('reports failures by reason, prefix cache, per-replica requests, generator lag and warnings', () => {
    const out = extrasTable(result('t', DOC_METRICS, 0.625));
    expect(out).toMatch(/^Failed requests:\s+10\s*$/m);
    expect(out).toMatch(/^Errors:\s+503×10\s*$/m);
    expect(out).toMatch(/^Aborted at the end \(grace over\):\s+2\s*$/m);
    expect(out).toMatch(/^Prefix cache hit rate \(%\):\s+62\.50\s*$/m);
    expect(out).toMatch(/^Requests per replica:\s+7\s*$/m);
    expect(out).toMatch(/^Generator loop lag p99\/max \(ms\):\s+0\.50 \/ 2\.00$/m);
    // Same label column as vLLM's block above it.
    for (const line of out.split('\n').slice(1, -2)) expect(line.charAt(40)).toBe(' ');
    expect(out).toContain('WARNING: something to say');
  });
});
