import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { WritePacer } from '../engine/write-pacer.js';
import { FidelityStats } from './fidelity.js';
import { Histogram, quantileFromBuckets } from './histogram.js';
import { goFloat } from './prom-format.js';
import { build125Buckets, type MetricsVersion, VllmMetrics } from './vllm-metrics.js';

interface Family {
  name: string;
  type: string;
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
  }[];
}
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Family[];

function metrics(version: MetricsVersion, maxLoras: number | null = null): VllmMetrics {
  return new VllmMetrics({
    version,
    modelName: 'qwq-32b',
    maxModelLen: 8192,
    maxLoras,
    cacheConfig: {
      blockSize: 16,
      numGpuBlocks: 4421,
      numGpuBlocksOverride: null,
      gpuMemoryUtilization: 0.95,
      enablePrefixCaching: true,
    },
  });
}

describe('goFloat (prometheus_client floatToGoString)', () => {
  it.each([
    [0, '0.0'],
    [8, '8.0'],
    [0.5, '0.5'],
    [131, '131.0'],
    [5334789, '5.334789e+06'],
    [1748231183.27, '1.74823118327e+09'],
    [0.00005, '5e-05'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [2560, '2560.0'],
  ])('%s → %s', (v, s) => {
    expect(goFloat(v)).toBe(s);
  });
});

describe('Histogram', () => {
  it('counts cumulatively with weights and estimates quantiles like histogram_quantile', () => {
    const h = new Histogram([1, 2, 4]);
    h.observe(0.5, 2);
    h.observe(3);
    h.observe(10);
    expect(h.count).toBe(4);
    expect(h.sum).toBe(14);
    expect(h.render('x', 'a="b"')).toContain('x_bucket{a="b",le="4.0"} 3.0\n');
    expect(h.render('x', 'a="b"')).toContain('x_bucket{a="b",le="+Inf"} 4.0\n');
    expect(quantileFromBuckets([1, 2, 4], [2, 2, 3, 4], 0.5)).toBe(1);
    expect(h.quantile(0.75)).toBe(4);
  });

  it('builds vLLM 1-2-5 buckets', () => {
    expect(build125Buckets(100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(build125Buckets(8192).at(-1)).toBe(5000);
  });
});

describe('VllmMetrics rendering', () => {
  it('v1: vLLM V1 names, types and labels; parses with a real Prometheus text parser', () => {
    const m = metrics('v1', 2);
    m.prefixQueries = 100;
    m.prefixHits = 64;
    m.success.length = 3;
    m.ttft.observe(0.2);
    m.setLoraInfo('sql-lora', '', 1_700_000_000);
    m.setLoraInfo('sql-lora', 'tweet', 1_700_000_001);
    const text =
      m.render({ running: 3, waiting: 2, kvUsage: 0.25 }) +
      new FidelityStats().render(m.labelPairs, 0.01, new WritePacer(2.5));
    const fams = new Map(parseProm(text).map((f) => [f.name, f]));
    const expectTypes: [string, string][] = [
      ['vllm:num_requests_running', 'GAUGE'],
      ['vllm:num_requests_waiting', 'GAUGE'],
      ['vllm:kv_cache_usage_perc', 'GAUGE'],
      ['vllm:prefix_cache_queries_total', 'COUNTER'],
      ['vllm:prefix_cache_hits_total', 'COUNTER'],
      ['vllm:prompt_tokens_total', 'COUNTER'],
      ['vllm:generation_tokens_total', 'COUNTER'],
      ['vllm:request_success_total', 'COUNTER'],
      ['vllm:time_to_first_token_seconds', 'HISTOGRAM'],
      ['vllm:inter_token_latency_seconds', 'HISTOGRAM'],
      ['vllm:e2e_request_latency_seconds', 'HISTOGRAM'],
      ['vllm:request_queue_time_seconds', 'HISTOGRAM'],
      ['vllm:lora_requests_info', 'GAUGE'],
      ['vllm:cache_config_info', 'GAUGE'],
      ['sim_token_emit_error_seconds', 'HISTOGRAM'],
      ['sim_event_loop_lag_seconds', 'SUMMARY'],
      ['sim_engine_busy_seconds_total', 'COUNTER'],
      ['sim_engine_stall_seconds_total', 'COUNTER'],
      ['sim_engine_stretch', 'GAUGE'],
      ['sim_socket_writes_total', 'COUNTER'],
      ['sim_process_cpu_seconds_total', 'COUNTER'],
      ['sim_write_interval_seconds', 'GAUGE'],
      ['sim_event_loop_utilization', 'GAUGE'],
    ];
    for (const [name, type] of expectTypes) expect(fams.get(name)?.type, name).toBe(type);
    expect(fams.has('vllm:gpu_cache_usage_perc')).toBe(false);
    expect(fams.get('sim_write_interval_seconds')!.metrics[0]!.value).toBe('0.0025');
    expect(fams.get('sim_engine_stretch')!.metrics[0]!.value).toBe('1.0');
    const running = fams.get('vllm:num_requests_running')!.metrics[0]!;
    expect(running.labels).toEqual({ model_name: 'qwq-32b', engine: '0' });
    expect(running.value).toBe('3.0');
    expect(fams.get('vllm:prefix_cache_hits_total')!.metrics[0]!.value).toBe('64.0');
    const reasons = fams.get('vllm:request_success_total')!.metrics.map((s) => s.labels?.finished_reason);
    expect(reasons).toEqual(['stop', 'length', 'abort']);
    const ttft = fams.get('vllm:time_to_first_token_seconds')!.metrics[0]!;
    expect(Object.keys(ttft.buckets!)).toHaveLength(23); // 22 bounds + +Inf
    expect(ttft.buckets!['0.25']).toBe('1.0');
    const lora = fams.get('vllm:lora_requests_info')!.metrics;
    expect(lora).toHaveLength(2);
    expect(lora[1]!.labels).toEqual({
      max_lora: '2',
      waiting_lora_adapters: 'tweet',
      running_lora_adapters: 'sql-lora',
    });
    const cache = fams.get('vllm:cache_config_info')!.metrics[0]!.labels!;
    expect(cache).toMatchObject({
      block_size: '16',
      num_gpu_blocks: '4421',
      enable_prefix_caching: 'True',
      engine: '0',
    });
  });

  it('v0: the older names and buckets, model_name only', () => {
    const m = metrics('v0');
    m.prefixQueries = 10;
    m.prefixHits = 5;
    m.setLoraInfo('', '', 1_700_000_000);
    const fams = new Map(
      parseProm(m.render({ running: 1, waiting: 0, kvUsage: 0.5 })).map((f) => [f.name, f]),
    );
    for (const name of [
      'vllm:gpu_cache_usage_perc',
      'vllm:num_requests_swapped',
      'vllm:cpu_cache_usage_perc',
      'vllm:gpu_prefix_cache_hit_rate',
      'vllm:time_per_output_token_seconds',
      'vllm:tokens_total',
      'vllm:lora_requests_info',
    ]) {
      expect(fams.has(name), name).toBe(true);
    }
    expect(fams.has('vllm:kv_cache_usage_perc')).toBe(false);
    expect(fams.has('vllm:prefix_cache_hits_total')).toBe(false);
    expect(fams.get('vllm:gpu_cache_usage_perc')!.metrics[0]!.labels).toEqual({ model_name: 'qwq-32b' });
    expect(fams.get('vllm:gpu_prefix_cache_hit_rate')!.metrics[0]!.value).toBe('0.5');
    expect(Object.keys(fams.get('vllm:time_to_first_token_seconds')!.metrics[0]!.buckets!)).toHaveLength(17);
    expect(fams.get('vllm:lora_requests_info')!.metrics[0]!.labels).toEqual({
      running_lora_adapters: '',
      max_lora: '0',
      waiting_lora_adapters: '',
    });
  });

  it('keeps a bounded number of lora_requests_info series, newest last', () => {
    const m = metrics('v1', 1);
    for (let i = 0; i < 100; i++) m.setLoraInfo(`a${i}`, '', i);
    const fam = parseProm(m.render({ running: 0, waiting: 0, kvUsage: 0 })).find(
      (f) => f.name === 'vllm:lora_requests_info',
    )!;
    expect(fam.metrics).toHaveLength(64);
    expect(fam.metrics.at(-1)!.labels!.running_lora_adapters).toBe('a99');
  });
});
