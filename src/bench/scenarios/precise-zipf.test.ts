import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlanFromText } from '../../config/index.js';
import { validatePickerConfig } from '../../scheduling/index.js';
import { parseKvEventsConfig } from '../../sim/kv/kv-events-config.js';
import { scenarioByName } from './index.js';
import { QUALITY_ZIPF } from './peer-quality.js';
import { QUALITY_ZIPF_PRECISE } from './precise-zipf.js';
import { planScenario, simArgs } from './run.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('quality-zipf-precise (issue 14’s skewed workload)', () => {
  it('sends quality-zipf’s stream, with replicas that publish KV events', () => {
    expect(scenarioByName('quality-zipf-precise')).toBe(QUALITY_ZIPF_PRECISE);
    for (const quick of [true, false]) {
      const plan = planScenario(QUALITY_ZIPF_PRECISE, quick, {});
      const base = planScenario(QUALITY_ZIPF, quick, {});
      expect(plan.options.dataset).toEqual(base.options.dataset);
      expect(plan.options.load).toEqual(base.options.load);
      const args = simArgs(plan.run, 'pods.yaml');
      const config = args[args.indexOf('--kv-events-config') + 1]!;
      expect(parseKvEventsConfig(config).enableKvCacheEvents).toBe(true);
      expect(plan.targets.map((t) => t.name)).toEqual(['least-request', 'infergate', 'infergate-precise']);
    }
  });

  it('the precise target’s picker config is valid and is the one its pool picks', () => {
    const manifests = QUALITY_ZIPF_PRECISE.manifests.map((m) => readFileSync(`${ROOT}${m}`, 'utf8'));
    const overlay = QUALITY_ZIPF_PRECISE.overlays.find((o) => o.name === 'precise-picker-config.yaml')!;
    const r = loadPlanFromText([...manifests, overlay.yaml].join('\n---\n'), 'scenario.yaml', {
      validatePickerConfig,
    });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const pool = [...r.plan!.pools.values()].find((p) => p.name === 'vllm-qwen-pool')!;
    const types = pool.pickerConfig?.plugins.map((p) => p.type);
    expect(types).toContain('precise-prefix-cache-scorer');
    // cost-aware: prefill-cost-scorer reads the precise scorer's match, so it comes after it
    expect(types!.indexOf('prefill-cost-scorer')).toBeGreaterThan(
      types!.indexOf('precise-prefix-cache-scorer'),
    );
    const target = QUALITY_ZIPF_PRECISE.targets.find((t) => t.name === 'infergate-precise')!;
    expect(target.scheduler).toBe('config');
  });

  it('checks the issue’s goals against least-request', () => {
    expect(QUALITY_ZIPF_PRECISE.goals).toEqual([
      expect.objectContaining({ key: 'ttft.p99', kind: 'at-most', value: 1, against: 'least-request' }),
      expect.objectContaining({ key: 'ttft.mean', kind: 'at-most', value: 0.6, against: 'least-request' }),
    ]);
  });
});
