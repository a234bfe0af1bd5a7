/**
 * The scenarios `infergate bench --scenario NAME` knows: one per user document with a comparison.
 */
import { BenchError } from '../errors.js';
import { runScenario, scenarioOptions } from './run.js';
import { SEED_002 } from './seed-002.js';
import { SEED_003 } from './seed-003.js';
import { SEED_004 } from './seed-004.js';
import type { ScenarioDefinition } from './types.js';

export type { ScenarioDefinition } from './types.js';
export { runScenario };

export const SCENARIOS: readonly ScenarioDefinition[] = [SEED_002, SEED_003, SEED_004];

export function scenarioByName(name: string): ScenarioDefinition {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) {
    throw new BenchError(
      'UNKNOWN_SCENARIO',
      `--scenario must be one of ${SCENARIOS.map((x) => x.name).join(', ')}, got "${name}"`,
      '--scenario',
    );
  }
  return s;
}

export function listScenarios(): string {
  return `${SCENARIOS.map((s) => `${s.name.padEnd(10)} ${s.title}`).join('\n')}\n`;
}

/** What a scenario would start and send (`--dry-run`), without starting anything. */
export function describeScenarioPlan(def: ScenarioDefinition, quick: boolean): string {
  const run = quick ? def.quick : def.full;
  const o = scenarioOptions(def, quick, {});
  const s = run.sim;
  const lines: string[] = [
    `${def.name}${quick ? ' (quick)' : ''}: ${def.title}`,
    `document: ${def.document.file} — ${def.document.section}`,
    '',
    `simulator: infergate sim --replicas ${s.replicas} --profile ${s.profile} --time-scale ${s.timeScale} --seed ${s.seed} --served-model-name ${s.servedModelName} --pod-labels ${s.podLabels}${s.extraArgs.length ? ` ${s.extraArgs.join(' ')}` : ''}`,
    `           restarted before each target (fresh KV caches)`,
    `manifests: ${def.manifests.join(' ')}`,
    ...def.overlays.map((x) => `overlay:   ${x.name} (added by the scenario, see notes)`),
    '',
    'targets:',
    ...def.targets.map(
      (t) =>
        `  ${t.name.padEnd(10)} port ${t.declaredPort} (${t.listener}): ${t.description}` +
        (t.manifests ? `\n             manifests: ${t.manifests.join(' ')}` : '') +
        (t.headers ? `\n             headers: ${JSON.stringify(t.headers)}` : ''),
    ),
    '',
    `workload: ${o.dataset.name} on ${o.endpoint}, model ${o.model}, seed ${o.seed}, time scale ${o.timeScale}`,
    `          ${JSON.stringify(o.dataset)}`,
    `load:     ${
      o.dataset.name === 'multi-round'
        ? `qps ${o.dataset.qps} over ${o.dataset.numUsers} users × ${o.dataset.numRounds} rounds`
        : `${Number.isFinite(o.load.requestRate) ? `rate ${o.load.requestRate}/s` : 'rate inf'}` +
          `${o.load.maxConcurrency ? `, concurrency ${o.load.maxConcurrency}` : ''}`
    }${o.load.numPrompts !== undefined ? `, ${o.load.numPrompts} requests` : ''}${o.load.durationS !== undefined ? `, ${o.load.durationS} s` : ''}`,
    ...(o.modelMix ? [`models:   ${o.modelMix.map((e) => `${e.name}:${e.weight}`).join(',')}`] : []),
    '',
    ...run.deviations.map((d) => `deviation: ${d}`),
    ...def.notes.map((n) => `note: ${n}`),
    `the document: ${def.documentSays}`,
    '',
  ];
  return lines.join('\n');
}
