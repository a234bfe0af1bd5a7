/**
 * What the decision ring costs a routing decision (issue 13): bench/scheduler-micro.ts's route()
 * latency, side by side in one run, for
 *   base       the scheduler-micro of a base commit (before the ring existed), from `git archive`
 *   none       this tree, no ring
 *   idle       this tree, a ring nobody looks at (the gateway with the page closed)
 *   recording  this tree, every decision recorded (the page open, or --debug-headers)
 * over several rounds in alternating order, each variant a fresh process.
 *
 *   npx tsx bench/decision-ring-cost.ts --base <commit> [--rounds 3]
 *     [--iterations 20000]
 *
 * Writes bench/results/decision-ring-cost.json and .md. Timings depend on the machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASE = args.get('base');
const ROUNDS = Number(args.get('rounds') ?? 3);
const ITERATIONS = Number(args.get('iterations') ?? 20_000);

interface RouteStats {
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
}
interface MicroResult {
  latency: { chat: { route: RouteStats }; completions: { route: RouteStats } };
}

const work = mkdtempSync(join(tmpdir(), 'infergate-ring-cost-'));
let baseDir: string | undefined;
if (BASE) {
  baseDir = join(work, 'base');
  mkdirSync(baseDir);
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${BASE}" | tar -x -C "${baseDir}"`]);
  symlinkSync(join(ROOT, 'node_modules'), join(baseDir, 'node_modules'));
}

/** The base commit's scheduler-micro (it writes into its own tree's bench/results). */
function runBase(round: number): MicroResult {
  process.stderr.write(`  base run ${round + 1}\n`);
  execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      'bench/scheduler-micro.ts',
      '--iterations',
      String(ITERATIONS),
      '--memory-requests',
      '1000',
    ],
    { cwd: baseDir!, stdio: ['ignore', 'ignore', 'inherit'], env: process.env },
  );
  return JSON.parse(
    readFileSync(join(baseDir!, 'bench/results/scheduler-micro.json'), 'utf8'),
  ) as MicroResult;
}

const variants = [...(BASE ? ['base'] : []), 'none', 'idle', 'recording'];
const results = new Map<string, MicroResult[]>(variants.map((v) => [v, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round so drift on a shared machine does not favour one variant.
  const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
  for (const v of order) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${v}\n`);
    results.get(v)!.push(v === 'base' ? runBase(round) : runOut(v, round));
  }
}

function runOut(variant: string, round: number): MicroResult {
  const out = join(work, `${variant}-${round}`);
  mkdirSync(out, { recursive: true });
  execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      'bench/scheduler-micro.ts',
      '--iterations',
      String(ITERATIONS),
      '--memory-requests',
      '1000',
      '--decisions',
      variant,
      '--out',
      out,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: process.env },
  );
  return JSON.parse(readFileSync(join(out, 'scheduler-micro.json'), 'utf8')) as MicroResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const summary = variants.map((v) => {
  const rs = results.get(v)!;
  const pick = (shape: 'chat' | 'completions', k: keyof RouteStats) =>
    rs.map((r) => r.latency[shape].route[k]);
  return {
    variant: v,
    chat: { p50Us: pick('chat', 'p50Us'), p99Us: pick('chat', 'p99Us'), meanUs: pick('chat', 'meanUs') },
    completions: {
      p50Us: pick('completions', 'p50Us'),
      p99Us: pick('completions', 'p99Us'),
      meanUs: pick('completions', 'meanUs'),
    },
  };
});
const result = {
  base: BASE,
  rounds: ROUNDS,
  iterations: ITERATIONS,
  environment: {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg1m: Math.round(loadavg()[0]! * 100) / 100,
    note: 'two-core machine shared with other engineers’ work',
  },
  summary,
};
const lines = [
  `route() latency, 64 endpoints, 8,000-character prompts, default profile; ${ITERATIONS} decisions per run, ${ROUNDS} rounds (µs; median of the rounds, [min–max])`,
  '',
  '| variant | chat p50 | chat p99 | completions p50 | completions p99 |',
  '|---|---:|---:|---:|---:|',
  ...summary.map((s) => {
    const cell = (xs: number[]) => `${median(xs)} [${Math.min(...xs)}–${Math.max(...xs)}]`;
    return `| ${s.variant} | ${cell(s.chat.p50Us)} | ${cell(s.chat.p99Us)} | ${cell(s.completions.p50Us)} | ${cell(s.completions.p99Us)} |`;
  }),
  '',
];
const outDir = join(ROOT, 'bench/results');
writeFileSync(join(outDir, 'decision-ring-cost.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(outDir, 'decision-ring-cost.md'), lines.join('\n'));
process.stdout.write(lines.join('\n'));
rmSync(work, { recursive: true, force: true });
