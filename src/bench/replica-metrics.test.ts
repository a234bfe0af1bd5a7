import { describe, expect, it } from 'vitest';
import { simulatorWarnings } from './bench.js';
import { metricsUrl, prefixCacheDelta, readSnapshot, type TimelineSample } from './replica-metrics.js';

const V1 = (queries: number, hits: number, success: number) => `# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} ${queries}
# TYPE vllm:prefix_cache_hits counter
vllm:prefix_cache_hits_total{model_name="m",engine="0"} ${hits}
# TYPE vllm:request_success counter
vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} ${success}
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 1
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
`;

const V0 = (rate: number) => `# TYPE vllm:gpu_prefix_cache_hit_rate gauge
vllm:gpu_prefix_cache_hit_rate{model_name="m"} ${rate}
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.5
# TYPE vllm:num_requests_swapped gauge
vllm:num_requests_swapped{model_name="m"} 2.0
# TYPE vllm:num_preemptions_total counter
vllm:num_preemptions_total{model_name="m"} 7.0
`;

describe('readSnapshot', () => {
  it('reads V1 counters (summing label sets, any label order) and gauges', () => {
    expect(readSnapshot('u', V1(100, 40, 7))).toMatchObject({
      prefixQueries: 100,
      prefixHits: 40,
      requestSuccess: 8,
      running: 3,
      waiting: 2,
      kvUsage: 0.25,
      prefixHitRateGauge: undefined,
    });
  });

  it('reads V0 names', () => {
    expect(readSnapshot('u', V0(0.3))).toMatchObject({
      prefixHitRateGauge: 0.3,
      kvUsage: 0.5,
      swapped: 2,
      preemptions: 7,
      prefixQueries: undefined,
    });
  });
});

describe('prefixCacheDelta', () => {
  it('is Δhits / Δqueries summed over replicas, with per-replica requests', () => {
    const before = [readSnapshot('a', V1(100, 10, 5)), readSnapshot('b', V1(0, 0, 0))];
    const after = [readSnapshot('a', V1(300, 110, 15)), readSnapshot('b', V1(200, 150, 4))];
    const r = prefixCacheDelta(before, after);
    expect(r.source).toBe('v1-counters');
    expect(r.hitRate).toBeCloseTo((100 + 150) / (200 + 200), 12);
    expect(r.replicas.map((x) => [x.requests, x.hitRate])).toEqual([
      [10, 0.5],
      [4, 0.75],
    ]);
  });

  it('falls back to the mean of V0 gauges, and to null without either', () => {
    expect(prefixCacheDelta([], [readSnapshot('a', V0(0.2)), readSnapshot('b', V0(0.6))])).toMatchObject({
      source: 'v0-gauge',
      hitRate: 0.4,
    });
    expect(prefixCacheDelta([{ url: 'x', error: 'down' }], [{ url: 'x', error: 'down' }])).toMatchObject({
      source: 'none',
      hitRate: null,
      replicas: [{ url: 'x', requests: null, error: 'down' }],
    });
  });
});

describe('metricsUrl', () => {
  it.each([
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000/metrics'],
    ['http://127.0.0.1:8000/', 'http://127.0.0.1:8000/metrics'],
    ['http://h:1/custom/metrics', 'http://h:1/custom/metrics'],
  ])('%s → %s', (given, want) => {
    expect(metricsUrl(given)).toBe(want);
  });
});

describe('simulatorWarnings', () => {
  const sample = (fallingBehind: (number | undefined)[]): TimelineSample => ({
    tMs: 0,
    running: [],
    waiting: [],
    kvUsage: [],
    requestSuccess: [],
    fallingBehind,
  });

  it('says when --time-scale does not match the simulators, and which replicas fell behind', () => {
    const snap = { url: 'u', simTimeScale: 0.01 };
    const w = simulatorWarnings([snap, snap], [sample([0, 0]), sample([0, 1])], 1);
    expect(w).toHaveLength(2);
    expect(w[0]).toContain('pass --time-scale 0.01');
    expect(w[1]).toContain('r1 fell behind');
    expect(simulatorWarnings([snap], [sample([0])], 0.01)).toEqual([]);
    expect(simulatorWarnings([{ url: 'real vllm' }], [sample([undefined])], 1)).toEqual([]);
  });
});
