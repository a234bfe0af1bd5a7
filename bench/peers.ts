/**
 * Issue 16's side-by-side benchmark: infergate's scheduler against SGLang's router (cache_aware;
 * power_of_two on request) and least-request, on the same fresh simulated fleet per target, over
 * several workload seeds:
 *
 *   npx tsx bench/peers.ts [--only chat-heavy,zipf,003] [--seeds 0,1,2] [--quick]
 *                          [--strategy NAME[=PROFILE],…] [--manifest FILE …] [--save-detailed] [--out DIR]
 *
 * Workloads: quality-chat-heavy and quality-zipf (src/bench/scenarios/peer-quality.ts) and
 * quality-003-peers (seed 003's chat with ten times the users at the document's per-user pace, so
 * that 240 s of simulated time (120 with --quick) send ≈ 240 requests at the issue-16 time scale
 * (PEER_TIME_SCALE, 0.5; bench/peer-overhead.ts says why); quality-003 itself sends 0.1 req/s). Default targets: least-request,
 * infergate (and infergate-prefix on quality-003), sglang-cache-aware; `--strategy` picks others
 * (e.g. add sglang-power-of-two). A peer that is not installed is skipped with a message.
 *
 * Writes bench/results/peers-<workload>-s<seed>.json and peers.md (`--quick`: peers-quick-*); with
 * --strategy or --manifest the files go to a temporary folder unless --out is given. Every run is a
 * separate scenario execution; wrap the whole command in the machine's benchmark lock on a shared
 * machine and keep --only/--seeds small enough for ≤ 10 minutes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFlags } from '../src/bench/flags.js';
import { type FloorGoal, floorSection } from '../src/bench/report/floor-table.js';
import { type ScenarioOutcome, scenarioByName } from '../src/bench/scenarios/index.js';
import { SGLANG_CACHE_AWARE } from '../src/bench/scenarios/peer-quality.js';
import {
  type FigureRowSpec,
  figureTable,
  runScript,
  runSeries,
  seriesHeader,
} from '../src/bench/scenarios/series.js';
import { VERSION } from '../src/cli/version.js';

interface Workload {
  key: string;
  scenario: string;
  /** Default `--strategy` (targets) for this workload. */
  strategy: string;
  /** Extra scenario flags (quality-003 is shortened and run at the peer time scale). */
  flags: BenchFlags;
  /** Extra scenario flags of the quick form. */
  quickFlags?: BenchFlags;
}

const WORKLOADS: readonly Workload[] = [
  {
    key: 'chat-heavy',
    scenario: 'quality-chat-heavy',
    strategy: `least-request,infergate,infergate-load-aware,${SGLANG_CACHE_AWARE}`,
    flags: {},
  },
  {
    key: 'zipf',
    scenario: 'quality-zipf',
    strategy: `least-request,infergate,infergate-load-aware,${SGLANG_CACHE_AWARE}`,
    flags: {},
  },
  {
    key: '003',
    scenario: 'quality-003-peers',
    strategy: `least-request,infergate,infergate-load-aware,${SGLANG_CACHE_AWARE}`,
    flags: {},
  },
];

interface Args {
  only: string[];
  seeds: string[];
  quick: boolean;
  strategy: string | undefined;
  manifests: string[];
  /** Keep per-request records with their evidence (bench/excess-by-queue.ts reads them). */
  saveDetailed: boolean;
  out: string | undefined;
}

const USAGE =
  'usage: npx tsx bench/peers.ts [--only chat-heavy,zipf,003] [--seeds 0,1] [--quick] [--strategy NAME[=PROFILE],…] [--manifest FILE …] [--save-detailed] [--out DIR]';

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    only: WORKLOADS.map((w) => w.key),
    seeds: ['0'],
    quick: false,
    strategy: undefined,
    manifests: [],
    saveDetailed: false,
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--only') a.only = value().split(',');
    else if (flag === '--seeds') a.seeds = value().split(',');
    else if (flag === '--quick') a.quick = true;
    else if (flag === '--strategy') a.strategy = value();
    else if (flag === '--manifest') a.manifests.push(value());
    else if (flag === '--out') a.out = value();
    else if (flag === '--save-detailed') a.saveDetailed = true;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  for (const w of a.only)
    if (!WORKLOADS.some((x) => x.key === w)) throw new Error(`--only: unknown workload "${w}"\n${USAGE}`);
  return a;
}

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const ROWS: readonly FigureRowSpec[] = [
  ['completed', 'requests completed', 0],
  ['ttft.mean', 'mean TTFT (ms)', 0],
  ['ttft.median', 'median TTFT (ms)', 0],
  ['ttft.p99', 'P99 TTFT (ms)', 0],
  ['tpot.mean', 'mean TPOT (ms)', 1],
  ['output_token_throughput', 'output throughput (tok/s)', 1],
  ['request_cache_hit_rate', 'cached prompt tokens (%)', 1],
  ['prefix_cache_vs_ideal', 'hit rate / ideal', 2],
];

function section(outcome: ScenarioOutcome, seed: string, jsonFile: string): string {
  const { plan, report, checks } = outcome;
  const out = [`### ${plan.def.name}, workload seed ${seed}`, ''];
  if (!report) return `${out.join('\n')}No target finished.\n`;
  out.push(
    `Time scale ${plan.run.sim.timeScale}, gateway scrape interval ${plan.scrapeIntervalMs} ms wall; figures in simulated time. JSON: \`${jsonFile}\`.`,
    '',
  );
  const targets = report.targets;
  out.push(...figureTable(targets, ROWS, SGLANG_CACHE_AWARE, 'sglang'), '');
  if (checks.length > 0) {
    out.push('Goals:', '');
    for (const c of checks) {
      const bound = `${c.goal.kind === 'at-most' ? '≤' : '≥'} ${c.goal.value}× of ${c.goal.against ?? targets[0]!.name}`;
      out.push(
        `- ${c.target}: ${c.goal.label} ${bound}: ${c.value === null ? '–' : `${c.value.toFixed(2)}×`} ${c.met ? 'met' : '**missed**'}`,
      );
    }
    out.push('');
  }
  // The scenario's TTFT goals against cache_aware, held against each target's floor.
  const ttftGoals = (plan.def.goals ?? []).filter(
    (g) => g.against === SGLANG_CACHE_AWARE && (g.key === 'ttft.mean' || g.key === 'ttft.p99'),
  );
  const floorGoals: FloorGoal[] = ttftGoals.map((g) => ({
    figure: g.key === 'ttft.mean' ? 'mean' : 'p99',
    atMost: g.value,
  }));
  const goalTargets = [...new Set(ttftGoals.flatMap((g) => g.targets ?? []))];
  out.push(...floorSection(targets, SGLANG_CACHE_AWARE, goalTargets, floorGoals));
  for (const t of targets) {
    const tail = t.tail;
    if (!tail) continue;
    const parts = [
      `P99 ${tail.p99_ttft_ms.toFixed(0)} ms`,
      `${tail.requests.length} tail request(s)`,
      tail.mostly_uncached_share === null
        ? ''
        : `${Math.round(tail.mostly_uncached_share * 100)} % of them had < half their prompt cached`,
    ].filter(Boolean);
    if (tail.by_decisive) parts.push(`decided by ${JSON.stringify(tail.by_decisive)}`);
    out.push(`- tail of ${t.name}: ${parts.join('; ')}`);
  }
  const warned = targets.filter((t) => t.warnings.length > 0).map((t) => t.name);
  out.push(
    '',
    warned.length === 0 ? 'Warnings: none.' : `Warnings (see the JSON): ${warned.join(', ')}.`,
    '',
  );
  for (const s of outcome.skipped) out.push(`Skipped: ${s.target} — ${s.why}`, '');
  return out.join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const partial = args.strategy !== undefined || args.manifests.length > 0;
  const outDir = resolve(args.out ?? (partial ? join(tmpdir(), 'infergate-peers') : RESULTS_DIR));
  mkdirSync(outDir, { recursive: true });
  const prefix = args.quick ? 'peers-quick' : 'peers';
  const started = new Date();
  const load = loadavg();
  const runs = args.only.flatMap((key) => {
    const w = WORKLOADS.find((x) => x.key === key)!;
    return args.seeds.map((seed) => ({
      seed,
      def: scenarioByName(w.scenario),
      flags: {
        progress: 'none',
        json: join(outDir, `${prefix}-${w.key}-s${seed}.json`),
        seed,
        strategy: args.strategy ?? w.strategy,
        saveDetailed: args.saveDetailed,
        ...(args.quick ? (w.quickFlags ?? w.flags) : w.flags),
      } satisfies BenchFlags,
    }));
  });
  const { outcomes, code } = await runSeries(runs, {
    quick: args.quick,
    version: VERSION,
    manifests: args.manifests,
  });
  // relative paths: a report names no machine's paths
  const sections = outcomes.map(({ run, outcome }, i) =>
    section(outcome, runs[i]!.seed, relative(process.cwd(), run.flags.json!)),
  );
  const md = [
    `# Peer routers side by side (issue 16)${args.quick ? ' — quick form' : ''}`,
    '',
    seriesHeader(`npx tsx bench/peers.ts ${process.argv.slice(2).join(' ')}`, VERSION, started, load),
    '',
    ...sections,
  ].join('\n');
  const mdFile = join(outDir, `${prefix}-${args.only.join('-')}-s${args.seeds.join('_')}.md`);
  writeFileSync(mdFile, md);
  process.stderr.write(`wrote ${mdFile}\n`);
  return code;
}

runScript('bench/peers.ts', main);
