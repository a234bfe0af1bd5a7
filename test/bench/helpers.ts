/** Shared options for the benchmark's end-to-end tests: small, quiet, fast. */
import type { BenchOptions } from '../../src/bench/options.js';

export function benchOptions(url: string | string[], over: Partial<BenchOptions> = {}): BenchOptions {
  const urls = Array.isArray(url) ? url : [url];
  return {
    targets: urls.map((u, i) => ({ name: urls.length > 1 ? `t${i}` : 'fake', url: u })),
    endpoint: '/v1/completions',
    model: 'fake-model',
    dataset: {
      name: 'random',
      inputLen: 16,
      outputLen: 4,
      rangeRatio: 0,
      rangeMode: 'centered',
      prefixLen: 0,
    },
    ignoreEos: true,
    initialTest: false,
    seed: 0,
    load: { requestRate: Number.POSITIVE_INFINITY, numPrompts: 10, requestTimeoutS: 60 },
    timeScale: 1,
    tablePercentiles: [99],
    percentileMetrics: ['ttft', 'tpot', 'itl'],
    scrapeUrls: [],
    sampleIntervalS: 0.05,
    progress: 'none',
    saveDetailed: false,
    ...over,
  };
}
