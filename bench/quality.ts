/**
 * The quality benchmark of issue 5: infergate's scheduler against round-robin and least-request on
 * the same seeded workloads, 5 simulated replicas, fresh simulator and gateway per target.
 *
 *   npx tsx bench/quality.ts [--quick] [--only 002|003] [--strategy NAME[=PROFILE],…]
 *                            [--manifest FILE …] [--seed N] [--out DIR] [--html]
 *
 * Runs the scenarios quality-002 (seed 002's workload as the issue states it, concurrency 60) and
 * quality-003 (seed 003's multi-round chat) — `infergate bench --scenario quality-00x` runs one of
 * them alone — and checks every target against the issue's goals versus least-request: mean TTFT
 * ≤ 0.6×, P99 TTFT ≤ 0.3×, output throughput ≥ 1.0×, prefix-cache hit rate ≥ 90 % of the ideal
 * bound (src/bench/ideal-prefix.ts).
 *
 * For tuning: `--quick` (about a minute per workload), `--strategy least-request,infergate` runs
 * only those targets, `--strategy infergate=prefix-cache` picks the scheduler profile of a pool
 * target (`infergate serve --scheduler`), `--manifest epp.yaml` adds manifests (an
 * EndpointPickerConfig) to every gateway.
 *
 * Writes bench/results/quality-00x.json and quality.md (`--quick`: quality-quick-*); with
 * --strategy or --manifest the files go to a temporary folder unless --out is given, so a partial
 * run never replaces the committed results. Timing depends on the machine: docs/results.md says how
 * to read the figures and how they were produced.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFlags } from '../src/bench/flags.js';
import { type GoalCheck, type ScenarioOutcome, scenarioByName } from '../src/bench/scenarios/index.js';
import {
  type FigureRowSpec,
  figureTable,
  runScript,
  runSeries,
  seriesHeader,
} from '../src/bench/scenarios/series.js';
import { VERSION } from '../src/cli/version.js';

interface Args {
  quick: boolean;
  only: string[];
  strategy: string | undefined;
  manifests: string[];
  seed: string | undefined;
  timeScale: string | undefined;
  duration: string | undefined;
  out: string | undefined;
  html: boolean;
}

const USAGE =
  'usage: npx tsx bench/quality.ts [--quick] [--only 002|003] [--strategy NAME[=PROFILE],…] [--manifest FILE …] [--seed N] [--time-scale S] [--duration S] [--out DIR] [--html]';

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    quick: false,
    only: ['002', '003'],
    strategy: undefined,
    manifests: [],
    seed: undefined,
    timeScale: undefined,
    duration: undefined,
    out: undefined,
    html: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--quick') a.quick = true;
    else if (flag === '--html') a.html = true;
    else if (flag === '--only') a.only = value().split(',');
    else if (flag === '--strategy') a.strategy = value();
    else if (flag === '--manifest') a.manifests.push(value());
    else if (flag === '--seed') a.seed = value();
    else if (flag === '--time-scale') a.timeScale = value();
    else if (flag === '--duration') a.duration = value();
    else if (flag === '--out') a.out = value();
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  for (const w of a.only) {
    if (w !== '002' && w !== '003') throw new Error(`--only takes 002 and/or 003, got "${w}"\n${USAGE}`);
  }
  return a;
}

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Rows of the markdown table: figure key, label, decimals. */
const ROWS: readonly FigureRowSpec[] = [
  ['completed', 'requests completed', 0],
  ['failed', 'requests failed', 0],
  ['ttft.mean', 'mean TTFT (ms)', 0],
  ['ttft.median', 'median TTFT (ms)', 0],
  ['ttft.p99', 'P99 TTFT (ms)', 0],
  ['tpot.mean', 'mean TPOT (ms)', 1],
  ['tpot.median', 'median TPOT (ms)', 1],
  ['tpot.p99', 'P99 TPOT (ms)', 1],
  ['output_token_throughput', 'output throughput (tok/s)', 1],
  ['prefix_cache_hit_rate', 'prefix-cache hit rate, replica counters (%)', 1],
  ['request_cache_hit_rate', 'cached prompt tokens, first lookup (%)', 1],
  ['prefix_cache_ideal_hit_rate', 'ideal hit rate (%)', 1],
  ['prefix_cache_vs_ideal', 'achieved / ideal', 2],
];

function goalCell(c: GoalCheck | undefined): string {
  if (!c) return '–';
  const v =
    c.value === null ? '–' : `${c.value.toFixed(2)}${c.goal.key === 'prefix_cache_vs_ideal' ? '' : '×'}`;
  return `${v} ${c.met ? 'met' : '**missed**'}`;
}

/** One workload's section of quality.md. */
function markdownSection(outcome: ScenarioOutcome, jsonFile: string): string {
  const { plan, report, checks } = outcome;
  const def = plan.def;
  const out: string[] = [`## ${def.name}: ${def.title}`, ''];
  if (!report) return `${out.join('\n')}No target finished.\n`;
  const o = plan.options;
  const dataset = JSON.stringify(o.dataset);
  out.push(
    `Workload: \`${dataset}\`, ${o.endpoint}, seed ${o.seed}` +
      `${o.load.maxConcurrency ? `, concurrency ${o.load.maxConcurrency}` : ''}` +
      `${o.load.numPrompts !== undefined ? `, ${o.load.numPrompts} requests` : ''}` +
      `${o.load.durationS !== undefined ? `, ${o.load.durationS} s` : ''}; ` +
      `${plan.run.sim.replicas} replicas (${plan.run.sim.profile}) at time scale ${plan.run.sim.timeScale}, ` +
      `gateway scrape interval ${plan.scrapeIntervalMs} ms wall. Figures in simulated time. JSON: \`${jsonFile}\`.`,
    '',
  );
  for (const d of plan.run.deviations) out.push(`- ${d}`);
  out.push('');
  const targets = report.targets;
  const base = targets[0]!;
  out.push(...figureTable(targets, ROWS, base.name), '');
  if (checks.length > 0) {
    const names = targets.slice(1).map((t) => t.name);
    out.push(`Goals of issue 5, against ${base.name}:`, '');
    out.push(`| goal | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`);
    for (const goal of def.goals ?? []) {
      const cells = names.map((n) => goalCell(checks.find((c) => c.goal === goal && c.target === n)));
      const bound = `${goal.kind === 'at-most' ? '≤' : '≥'} ${goal.value}${goal.key === 'prefix_cache_vs_ideal' ? '' : '×'}${goal.tolerance ? ` (within ${goal.tolerance * 100} %)` : ''}`;
      out.push(`| ${goal.label} ${bound} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  const warned = targets.filter((t) => t.warnings.length > 0);
  if (warned.length === 0) {
    out.push('Warnings: none (generator lag and simulator schedule within bounds).');
  } else {
    out.push('Warnings (the run may be distorted; see docs/results.md):', '');
    for (const t of warned) for (const w of t.warnings) out.push(`- ${t.name}: ${w}`);
  }
  const cpu = targets
    .filter((t) => t.processCpuS)
    .map((t) => {
      const c = t.processCpuS!;
      return `${t.name} ${Object.entries(c)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(' / ')}`;
    });
  if (cpu.length > 0)
    out.push('', `CPU seconds per process (sim / gateway / generator / wall): ${cpu.join('; ')}.`);
  out.push('');
  return out.join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const partial = args.strategy !== undefined || args.manifests.length > 0;
  const outDir = resolve(args.out ?? (partial ? join(tmpdir(), 'infergate-quality') : RESULTS_DIR));
  mkdirSync(outDir, { recursive: true });
  const prefix = args.quick ? 'quality-quick' : 'quality';
  const started = new Date();
  const load = loadavg();
  const jsonFileOf = (w: string): string => join(outDir, `${prefix}-${w}.json`);
  const runs = args.only.map((w) => ({
    def: scenarioByName(`quality-${w}`),
    flags: {
      progress: 'lines',
      json: jsonFileOf(w),
      ...(args.html ? { html: join(outDir, `${prefix}-${w}.html`) } : {}),
      ...(args.strategy !== undefined ? { strategy: args.strategy } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.timeScale !== undefined ? { timeScale: args.timeScale } : {}),
      ...(args.duration !== undefined ? { duration: args.duration } : {}),
    } satisfies BenchFlags,
  }));
  const { outcomes, code } = await runSeries(runs, {
    quick: args.quick,
    version: VERSION,
    manifests: args.manifests,
  });
  const sections = outcomes.map(({ outcome }, i) => {
    const w = args.only[i]!;
    return markdownSection(
      outcome,
      partial || args.out ? jsonFileOf(w) : `bench/results/${prefix}-${w}.json`,
    );
  });
  const command = `npx tsx bench/quality.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const md = [
    `# Quality benchmark (issue 5)${args.quick ? ' — quick form' : ''}`,
    '',
    seriesHeader(command, VERSION, started, load),
    '',
    ...sections,
  ].join('\n');
  const mdFile = join(outDir, `${prefix}.md`);
  writeFileSync(mdFile, md);
  process.stderr.write(`wrote ${mdFile}\n`);
  return code;
}

runScript('bench/quality.ts', main);
