import { describe, expect, it } from 'vitest';
import type { TargetResult } from '../bench.js';
import { BenchError } from '../errors.js';
import type { Distribution, ServingMetrics } from '../stats.js';
import { scenarioByName } from './index.js';
import { QUALITY_GOALS, qualityGoals } from './quality.js';
import {
  behindSummary,
  checkGoals,
  planScenario,
  scaledScrapeIntervalMs,
  serveFlags,
  simArgs,
} from './run.js';

describe('scaledScrapeIntervalMs (50 ms of real time, scaled like the simulator, floored)', () => {
  it.each([
    [1, 50],
    [0.5, 25],
    [0.1, 5],
    [0.05, 5],
    [0.01, 5],
  ])('time scale %s → %s ms', (scale, ms) => {
    expect(scaledScrapeIntervalMs(scale)).toBe(ms);
  });
});

describe('planScenario', () => {
  const seed002 = scenarioByName('seed-002');

  it('applies the overrides a scenario accepts', () => {
    const plan = planScenario(seed002, true, { timeScale: '0.2', numPrompts: '50', seed: '7' });
    expect(plan.run.sim.timeScale).toBe(0.2);
    expect(plan.options.timeScale).toBe(0.2);
    expect(plan.options.load.numPrompts).toBe(50);
    expect(plan.options.seed).toBe(7);
    expect(plan.scrapeIntervalMs).toBe(10);
    expect(plan.targets.map((t) => t.name)).toEqual(['standard', 'round-robin', 'inference']);
    // The definition itself is untouched.
    expect(seed002.quick.sim.timeScale).not.toBe(0.2);
  });

  it('--sim-arg appends to the fleet’s sim arguments, after the scenario’s own', () => {
    const plan = planScenario(seed002, true, { simArg: ['--metrics-refresh=live'] });
    const args = simArgs(plan.run, 'pods.yaml');
    expect(args.at(-1)).toBe('--metrics-refresh=live');
    expect(simArgs(planScenario(seed002, true, {}).run, 'pods.yaml')).not.toContain('--metrics-refresh=live');
  });

  it('notes name the time scale that ran, not the preset’s, under --time-scale', () => {
    const preset = seed002.quick.sim.timeScale;
    const plan = planScenario(seed002, true, { timeScale: '0.2' });
    const said = plan.run.deviations.filter((d) => d.includes('time scale'));
    expect(said.length).toBeGreaterThan(0);
    for (const d of said) {
      expect(d).toContain(`time scale 0.2 (--time-scale; the preset's is ${preset})`);
      expect(d).not.toMatch(new RegExp(`time scale ${preset}[;,)]`));
    }
    expect(planScenario(seed002, true, {}).run.deviations).toEqual(seed002.quick.deviations);
  });

  it('--full runs the document’s 3000 prompts on the V0 engine the document deployed', () => {
    const plan = planScenario(seed002, false, { full: true });
    expect(plan.options.load.numPrompts).toBe(3000);
    const args = simArgs(plan.run, 'pods.yaml');
    expect(args.join(' ')).toContain('--engine v0');
    expect(args.join(' ')).toContain('--gpu-memory-utilization 0.95');
    expect(args).not.toContain('--enable-prefix-caching');
    expect(() => planScenario(seed002, true, { full: true })).toThrow('--full and --quick exclude');
    expect(() => planScenario(scenarioByName('seed-003'), false, { full: true })).toThrow('no larger form');
  });

  it('the quality benchmark keeps seed 002’s replicas on the V1 engine', () => {
    const plan = planScenario(scenarioByName('quality-002'), true, {});
    expect(simArgs(plan.run, 'pods.yaml')).not.toContain('v0');
  });

  it('a duration override replaces the scenario’s own bound', () => {
    const plan = planScenario(scenarioByName('seed-003'), true, { duration: '120' });
    expect(plan.options.load.durationS).toBe(120);
  });

  it.each([
    [{ randomInputLen: '10' }, '--random-input-len does not apply with --scenario'],
    [{ url: 'http://127.0.0.1:1' }, '--url does not apply with --scenario'],
    [{ ignoreEos: false }, '--ignore-eos does not apply'],
    [{ strategy: 'inference=warp' }, 'the scheduler must be one of'],
    [{ strategy: ',' }, '--strategy must name targets'],
  ])('rejects %j', (flags, says) => {
    expect(() => planScenario(seed002, false, flags)).toThrow(BenchError);
    expect(() => planScenario(seed002, false, flags)).toThrow(says);
  });

  it('--strategy keeps the scenario’s order and sets each target’s policy', () => {
    const plan = planScenario(scenarioByName('quality-003'), true, {
      strategy: 'infergate-prefix,least-request=round-robin,infergate=prefix-cache',
    });
    expect(plan.targets.map((t) => t.name)).toEqual(['least-request', 'infergate', 'infergate-prefix']);
    const [lr, inf] = plan.targets;
    expect(serveFlags(plan, lr!)).toEqual(expect.arrayContaining(['--service-lb', 'round-robin']));
    expect(serveFlags(plan, inf!).slice(-2)).toEqual(['--scheduler', 'prefix-cache']);
  });

  it('starts the simulator with the scenario’s explicit choices', () => {
    const args = simArgs(planScenario(seed002, true, {}).run, '/tmp/pods.yaml');
    expect(args).toEqual(expect.arrayContaining(['--no-spin-wait', '--enable-prompt-tokens-details']));
    expect(args.join(' ')).toContain('--emit-pods /tmp/pods.yaml --pod-labels app=qwq-32b');
  });
});

function dist(mean: number, median: number, p99: number): Distribution {
  return { count: 1, mean, median, p90: 0, p99, std: 0, percentiles: {} };
}

function result(
  name: string,
  f: { ttftMean: number; ttftP99: number; output: number; hit: number; ideal: number },
): TargetResult {
  const metrics: ServingMetrics = {
    completed: 10,
    failed: 0,
    durationS: 1,
    totalInputTokens: 1,
    totalOutputTokens: 1,
    requestThroughput: 1,
    requestGoodput: null,
    inputTokenThroughput: 1,
    outputTokenThroughput: f.output,
    totalTokenThroughput: 1,
    ttft: dist(f.ttftMean, f.ttftMean, f.ttftP99),
    tpot: dist(1, 1, 1),
    itl: dist(1, 1, 1),
    e2el: dist(1, 1, 1),
    errors: {},
  };
  return {
    name,
    url: 'http://127.0.0.1:1',
    metrics,
    prefixCache: { hitRate: f.hit + 0.05, source: 'v1-counters', replicas: [] },
    requestCache: { hitRate: f.hit, cachedTokens: 1, promptTokens: 1, requests: 10 },
    idealPrefixCache: { hitRate: f.ideal, blockSize: 16, requests: 10, queryTokens: 1, hitTokens: 1 },
    timeline: [],
    scrapeUrls: [],
    generator: { lag: { p50Ms: 0, p99Ms: 0, maxMs: 0, utilization: 0, cpuPercent: 0 }, connections: 1 },
    unsent: 0,
    aborted: 0,
    byModel: undefined,
    byObjective: undefined,
    records: [],
    warnings: [],
    notes: [],
  };
}

describe('checkGoals (issue 5: ratios against the baseline, hit rate against the ideal)', () => {
  const base = result('least-request', { ttftMean: 1000, ttftP99: 10000, output: 100, hit: 0.2, ideal: 0.8 });
  const good = result('infergate', { ttftMean: 600, ttftP99: 2900, output: 101, hit: 0.73, ideal: 0.8 });
  const poor = result('round-robin', { ttftMean: 610, ttftP99: 3100, output: 99.9, hit: 0.71, ideal: 0.8 });

  it('judges every goal for every target but the baseline', () => {
    const checks = checkGoals(QUALITY_GOALS, [base, good, poor]);
    const verdict = (target: string) =>
      Object.fromEntries(checks.filter((c) => c.target === target).map((c) => [c.goal.key, c.met]));
    expect(verdict('infergate')).toEqual({
      'ttft.mean': true,
      'ttft.p99': true,
      output_token_throughput: true,
      prefix_cache_vs_ideal: true, // 0.73 / 0.8 = 0.9125, on the requests' own first-lookup rate
    });
    expect(verdict('round-robin')).toEqual({
      'ttft.mean': false,
      'ttft.p99': false,
      output_token_throughput: false,
      prefix_cache_vs_ideal: false, // 0.71 / 0.8 = 0.8875
    });
    expect(checks.find((c) => c.target === 'infergate' && c.goal.key === 'ttft.mean')!.value).toBeCloseTo(
      0.6,
    );
    expect(checkGoals(QUALITY_GOALS, [base])).toEqual([]);
    // An open-loop workload's goals give throughput 2 % of slack (every target serves the offered
    // load); the issue's own goals give none.
    const equal = result('equal', { ttftMean: 1000, ttftP99: 10000, output: 98.5, hit: 0.2, ideal: 0.8 });
    const throughput = (goals: typeof QUALITY_GOALS) =>
      checkGoals(goals, [base, equal]).find((c) => c.goal.key === 'output_token_throughput');
    expect(throughput(qualityGoals(0.02))).toMatchObject({ met: true, value: 0.985 });
    expect(throughput(QUALITY_GOALS)).toMatchObject({ met: false, value: 0.985 });
  });
});

describe('behindSummary (the simulator’s falling-behind log lines)', () => {
  it('keeps the worst of each number it knows, whatever the log format', () => {
    const lines = [
      '{"level":40,"stretch":1.58,"eventLoopLagP99Ms":6.17,"cpuPercent":16,"msg":"simulator falling behind"}',
      '{"level":40,"stretch":2.1,"eventLoopLagP99Ms":3,"cpuPercent":31,"msg":"simulator falling behind"}',
      'simulator falling behind (not JSON)',
    ];
    expect(behindSummary(lines)).toBe(
      ' (engine time stretched up to 2.1×, its event-loop lag p99 up to 6.17 ms (wall), its CPU ≤ 31 %)',
    );
    expect(behindSummary(['{"maxFirstTokenErrorMs":12.5}'])).toBe(
      ' (first tokens up to 12.5 ms late (wall))',
    );
    expect(behindSummary(['plain text'])).toBe('');
  });
});
