/**
 * The scenarios `infergate bench --scenario NAME` knows: one per user document with a comparison.
 */
import { BenchError } from '../errors.js';
import type { BenchFlags } from '../flags.js';
import { describePeer } from '../peers/index.js';
import { QUALITY_003_PEERS, QUALITY_CHAT_HEAVY, QUALITY_ZIPF } from './peer-quality.js';
import { QUALITY_ZIPF_PRECISE } from './precise-zipf.js';
import { QUALITY_002, QUALITY_003 } from './quality.js';
import { planScenario, serveFlags, simArgs } from './run.js';
import { SEED_002 } from './seed-002.js';
import { SEED_003 } from './seed-003.js';
import { SEED_004 } from './seed-004.js';
import type { ScenarioDefinition } from './types.js';

export { QUALITY_GOALS } from './quality.js';
export {
  checkGoals,
  executeScenario,
  type GoalCheck,
  planScenario,
  runScenario,
  type ScenarioOutcome,
  type ScenarioPlan,
} from './run.js';
export type { ScenarioDefinition, ScenarioGoal, ScenarioTarget } from './types.js';

export const SCENARIOS: readonly ScenarioDefinition[] = [
  SEED_002,
  SEED_003,
  SEED_004,
  QUALITY_002,
  QUALITY_003,
  QUALITY_CHAT_HEAVY,
  QUALITY_ZIPF,
  QUALITY_003_PEERS,
  QUALITY_ZIPF_PRECISE,
];

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
  return `${SCENARIOS.map((s) => `${s.name.padEnd(12)} ${s.title}`).join('\n')}\n`;
}

/** What a scenario would start and send (`--dry-run`), without starting anything. */
export function describeScenarioPlan(
  def: ScenarioDefinition,
  quick: boolean,
  flags: BenchFlags = {},
): string {
  const plan = planScenario(def, quick, flags);
  const o = plan.options;
  const lines: string[] = [
    `${def.name}${quick ? ' (quick)' : ''}: ${def.title}`,
    `source: ${def.document.file} — ${def.document.section}`,
    '',
    `simulator: infergate ${simArgs(plan.run, '<pods.yaml>').join(' ')}`,
    '           restarted before each target (fresh KV caches)',
    `manifests: ${def.manifests.join(' ')}`,
    ...def.overlays.map((x) => `overlay:   ${x.name} (added by the scenario, see notes)`),
    `gateway:   infergate serve -f <manifests> -f <pods.yaml> --port-map <every listener>=0 … (scrape interval ${plan.scrapeIntervalMs} ms wall)`,
    '',
    'targets (the first is the baseline):',
    ...plan.targets.map((t) =>
      t.peer
        ? `  ${t.name.padEnd(17)} peer router: ${t.description}\n${''.padEnd(20)}${describePeer(t.peer)} (skipped when not installed)`
        : `  ${t.name.padEnd(17)} port ${t.declaredPort} (${t.listener}): ${t.description}` +
          `\n${''.padEnd(20)}serve ${serveFlags(plan, t).slice(-4).join(' ')}` +
          (t.manifests ? `\n${''.padEnd(20)}manifests: ${t.manifests.join(' ')}` : '') +
          (t.headers ? `\n${''.padEnd(20)}headers: ${JSON.stringify(t.headers)}` : ''),
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
    ...(def.goals ?? []).map(
      (g) =>
        `goal:     ${g.label} ${g.kind === 'at-most' ? '≤' : '≥'} ${g.value} (vs ${g.against ?? plan.targets[0]?.name}${g.targets ? `; for ${g.targets.join(', ')}` : ''})`,
    ),
    '',
    ...plan.run.deviations.map((d) => `deviation: ${d}`),
    ...def.notes.map((n) => `note: ${n}`),
    `${def.documentNumbers ? 'the document' : 'the source'}: ${def.documentSays}`,
    '',
  ];
  return lines.join('\n');
}
