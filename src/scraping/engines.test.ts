import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ENGINE_MAPPINGS, engineByName, metricsPortOf, resolveEngine } from './engines.js';
import type { ModelServerMetrics } from './model-server-metrics.js';
import { parseSelectedSamples } from './promtext.js';

// An independent parser (dev dependency, CommonJS, untyped) to prove the fixtures are valid text.
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => unknown[];

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function mapWith(engine: string, text: string): ModelServerMetrics | undefined {
  const m = engineByName(engine);
  if (!m) throw new Error(`no engine ${engine}`);
  return m.map(parseSelectedSamples(text, m.sampleNames));
}

describe('engine mappings against recorded /metrics pages', () => {
  const cases: { engine: string; file: string; want: Partial<ModelServerMetrics> }[] = [
    {
      engine: 'vllm',
      file: 'vllm-v1.txt',
      want: {
        running: 12,
        waiting: 3,
        kvUsage: 0.625,
        activeLoras: ['travel-helper-v1'],
        waitingLoras: ['travel-helper-v2'],
        maxLoras: 2,
        blockSize: 16,
        numBlocks: 6250,
        models: ['qwq-32b'],
      },
    },
    {
      engine: 'vllm',
      file: 'vllm-v0.txt',
      want: {
        running: 12,
        waiting: 4, // 3 waiting + 1 swapped
        kvUsage: 0.92,
        activeLoras: ['sql-lora', 'tweet-summary'],
        waitingLoras: [],
        maxLoras: 4,
        blockSize: 16,
        numBlocks: 4096,
        models: ['meta-llama/Llama-2-7b-hf'],
      },
    },
    {
      engine: 'sglang',
      file: 'sglang.txt',
      want: { running: 9, waiting: 4, kvUsage: 0.31, blockSize: 1, numBlocks: 200000, maxLoras: undefined },
    },
    {
      engine: 'trtllm-serve',
      file: 'trtllm-serve.txt',
      want: { running: 6, waiting: 0, kvUsage: 0.27, models: ['llama-3.1-8b'] },
    },
    {
      engine: 'triton',
      file: 'triton.txt',
      want: { running: 11, waiting: 2, kvUsage: 0.3, blockSize: 64, numBlocks: 1000 },
    },
    { engine: 'tgi', file: 'tgi.txt', want: { running: 8, waiting: 3, kvUsage: undefined } },
    { engine: 'llama.cpp', file: 'llamacpp.txt', want: { running: 2, waiting: 1, kvUsage: 0.55 } },
  ];

  for (const c of cases) {
    it(`${c.engine} reads ${c.file}`, () => {
      const got = mapWith(c.engine, fixture(c.file));
      expect(got).toBeDefined();
      expect(got).toMatchObject(c.want);
    });
  }

  it('every fixture is valid Prometheus text for an independent parser', () => {
    for (const c of cases) {
      const families = parsePrometheusTextFormat(fixture(c.file));
      expect(families.length, c.file).toBeGreaterThan(0);
    }
  });

  it('a page of another engine maps to undefined, not to zeros', () => {
    expect(mapWith('vllm', fixture('sglang.txt'))).toBeUndefined();
    expect(mapWith('sglang', fixture('vllm-v1.txt'))).toBeUndefined();
    expect(mapWith('tgi', '')).toBeUndefined();
  });

  it('label order and extra labels do not matter', () => {
    const a =
      'vllm:num_requests_running{model_name="m",engine="0"} 2\nvllm:num_requests_waiting{engine="0",model_name="m",x="y"} 1\n';
    expect(mapWith('vllm', a)).toMatchObject({ running: 2, waiting: 1, kvUsage: undefined, models: ['m'] });
  });

  it('out-of-range KV readings are clamped and NaN ignored', () => {
    const a = 'vllm:num_requests_running 1\nvllm:kv_cache_usage_perc 1.2\n';
    expect(mapWith('vllm', a)?.kvUsage).toBe(1);
    const b = 'vllm:num_requests_running NaN\nvllm:num_requests_waiting 2\nvllm:kv_cache_usage_perc NaN\n';
    expect(mapWith('vllm', b)).toMatchObject({ running: 0, waiting: 2, kvUsage: undefined });
  });

  it('each engine type and alias resolves, names are unique', () => {
    const names = new Set<string>();
    for (const m of ENGINE_MAPPINGS) {
      for (const n of [m.type, ...m.aliases]) {
        expect(names.has(n), n).toBe(false);
        names.add(n);
        expect(engineByName(n.toUpperCase())).toBe(m);
      }
    }
  });
});

describe('resolveEngine', () => {
  const label = 'inference.networking.k8s.io/engine-type';
  it.each([
    [{}, undefined, 'vllm', undefined],
    [{ [label]: 'sglang' }, undefined, 'sglang', undefined],
    [{}, { [label]: 'tgi' }, 'tgi', undefined],
    [{ [label]: 'llama.cpp' }, { [label]: 'tgi' }, 'llamacpp', undefined],
    [{ [label]: 'mystery' }, undefined, 'vllm', 'mystery'],
  ] as const)('pod %j pool %j → %s', (pod, pool, want, unknown) => {
    const got = resolveEngine(pod, pool);
    expect(got.mapping.type).toBe(want);
    expect(got.unknown).toBe(unknown);
  });

  it('metrics port label overrides the serving port only when valid', () => {
    expect(metricsPortOf({}, 8000)).toBe(8000);
    expect(metricsPortOf({ 'infergate.io/metrics-port': '8002' }, 8000)).toBe(8002);
    expect(metricsPortOf({ 'infergate.io/metrics-port': 'x' }, 8000)).toBe(8000);
  });
});
