/**
 * The benchmark's public surface, for other rooms (the scheduling quality benchmark, the demo) and
 * scripts under bench/: run a workload against targets, then print or save the figures.
 * docs/benchmark.md describes the workloads, the statistics and the outputs.
 */
export { type BenchReport, buildWorkload, runBench, runTarget, type TargetResult } from './bench.js';
export { BenchError, type BenchErrorCode } from './errors.js';
export { type BenchFlags, optionsFromFlags } from './flags.js';
export type { BenchOptions, DatasetOptions, LoadOptions, TargetSpec } from './options.js';
export { figureValues } from './report/figures.js';
export { reportHtml } from './report/html.js';
export { reportJson } from './report/json.js';
export { comparisonTable, extrasTable, servingTable } from './report/table.js';
export { SCENARIOS, scenarioByName } from './scenarios/index.js';
export { calculateMetrics, type Distribution, percentile, type ServingMetrics } from './stats.js';
