/**
 * End to end against the product's simulator (in-process replicas): the benchmark's numbers must
 * agree with what the simulated vLLM did, and a shared prefix must show up as prefix-cache hits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runBench, type TargetResult } from '../../src/bench/bench.js';
import type { BenchOptions } from '../../src/bench/options.js';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { benchOptions } from './helpers.js';

const clusters: SimCluster[] = [];
afterEach(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});

async function runAgainstFreshSim(over: Partial<BenchOptions>, replicas = 2): Promise<TargetResult> {
  const sim = await startSimCluster({ replicas, timeScale: 0.05, servedModelNames: ['sim-model'], seed: 1 });
  clusters.push(sim);
  const urls = sim.replicas.map((r) => r.url);
  // Round-robin is not the point here: one target per replica would split the workload, so the
  // benchmark talks to replica 0 and reads every replica's /metrics.
  const report = await runBench(
    benchOptions(urls[0]!, { model: 'sim-model', scrapeUrls: urls, timeScale: 0.05, ...over }),
  );
  return report.targets[0]!;
}

describe('against the simulator', () => {
  it('a shared prefix raises the prefix-cache hit rate; the figures match what the replicas served', async () => {
    const load = {
      requestRate: Number.POSITIVE_INFINITY,
      maxConcurrency: 4,
      numPrompts: 24,
      requestTimeoutS: 600,
    };
    const noPrefix = await runAgainstFreshSim({
      dataset: {
        name: 'random',
        inputLen: 256,
        outputLen: 8,
        rangeRatio: 0,
        rangeMode: 'centered',
        prefixLen: 0,
      },
      load,
    });
    const withPrefix = await runAgainstFreshSim({
      dataset: {
        name: 'random',
        inputLen: 64,
        outputLen: 8,
        rangeRatio: 0,
        rangeMode: 'centered',
        prefixLen: 512,
      },
      load,
    });
    for (const t of [noPrefix, withPrefix]) {
      expect(t.metrics.completed).toBe(24);
      expect(t.metrics.failed).toBe(0);
      // ignore_eos: exactly the asked-for output length, as the simulator reports it in usage.
      expect(t.metrics.totalOutputTokens).toBe(24 * 8);
      expect(t.prefixCache!.source).toBe('v1-counters');
      // Replica 0 served every request; replica 1 none.
      expect(t.prefixCache!.replicas.map((r) => r.requests)).toEqual([24, 0]);
    }
    expect(withPrefix.prefixCache!.hitRate!).toBeGreaterThan(0.5);
    expect(withPrefix.prefixCache!.hitRate!).toBeGreaterThan(noPrefix.prefixCache!.hitRate! + 0.3);
  });

  it('warns when --time-scale does not match the simulated replicas', async () => {
    const t = await runAgainstFreshSim(
      { timeScale: 1, load: { requestRate: Number.POSITIVE_INFINITY, numPrompts: 2, requestTimeoutS: 600 } },
      1,
    );
    expect(t.metrics.completed).toBe(2);
    expect(t.warnings.join('\n')).toContain('pass --time-scale 0.05');
  });

  it('multi-round chat: later rounds hit the cache of the conversation so far', async () => {
    const t = await runAgainstFreshSim(
      {
        endpoint: '/v1/chat/completions',
        dataset: {
          name: 'multi-round',
          numUsers: 3,
          numRounds: 4,
          qps: 4,
          systemPromptLen: 64,
          userHistoryLen: 256,
          answerLen: 16,
          questionLen: 16,
        },
        load: { requestRate: Number.POSITIVE_INFINITY, numPrompts: 18, requestTimeoutS: 600 },
      },
      1,
    );
    expect(t.metrics.completed).toBe(18);
    expect(t.prefixCache!.hitRate!).toBeGreaterThan(0.3);
  });
});
