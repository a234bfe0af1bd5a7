/**
 * Routing quality through Envoy + `infergate epp` against `infergate serve` (issue 10): quality-003
 * (seed 003's multi-round chat, 5 simulated replicas) with the `infergate` target (serve, default
 * profile) and the `infergate-envoy` target (the same profile behind Envoy, envoy-front.ts), one run
 * of bench/quality.ts per seed, then one table over the seeds.
 *
 *   npx tsx bench/quality-envoy-epp.ts --seeds 0,1,2 [--quick] [--time-scale S] [--duration S]
 *                                          (≈ 4 min per seed at full size and the scenario's scale 0.05)
 *   npx tsx bench/quality-envoy-epp.ts --summarize DIR…              (the table again, from finished runs)
 *
 * Each seed's run goes to bench/results/quality-envoy-epp/s<seed>[-ts<S>]/ (quality.md,
 * quality-003.json); the table to bench/results/quality-envoy-epp[-ts<S>].md (-ts<S> with --time-scale). `--seeds` varies the workload's seed (the
 * simulator and the pickers keep the scenario's). On a shared machine, run each seed through the
 * bench lock; every seed is its own bench/quality.ts process.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench/results/quality-envoy-epp');
const TARGETS = ['infergate', 'infergate-envoy'] as const;

const { values, positionals } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    quick: { type: 'boolean', default: false },
    'time-scale': { type: 'string' },
    duration: { type: 'string' },
    summarize: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

interface TargetFigures {
  name: string;
  completed: number;
  failed: number;
  ttft: { mean: number; p99: number };
  prefix_cache_hit_rate: number;
  output_token_throughput: number;
}

interface SeedRun {
  dir: string;
  seed: string;
  startedAt: string;
  timeScale: number;
  targets: TargetFigures[];
}

function readRun(dir: string): SeedRun {
  const json = JSON.parse(readFileSync(join(dir, 'quality-003.json'), 'utf8')) as {
    started_at: string;
    time_scale: number;
    config: { workload: { seed?: number | string } };
    targets: TargetFigures[];
  };
  return {
    dir,
    seed: String(json.config.workload.seed ?? '?'),
    startedAt: json.started_at,
    timeScale: json.time_scale,
    targets: json.targets,
  };
}

function figure(run: SeedRun, target: string): TargetFigures {
  const t = run.targets.find((x) => x.name === target);
  if (!t) throw new Error(`${run.dir}: no target ${target}`);
  return t;
}

function fmt(x: number, d: number): string {
  return Number.isFinite(x) ? x.toFixed(d) : '–';
}

function table(runs: readonly SeedRun[]): string {
  const lines = [
    '| seed | hit rate serve (%) | hit rate Envoy + epp (%) | mean TTFT serve (ms) | mean TTFT Envoy + epp (ms) | ratio | P99 TTFT serve / Envoy + epp (ms) | completed / failed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const s = figure(r, TARGETS[0]);
    const e = figure(r, TARGETS[1]);
    lines.push(
      `| ${r.seed} | ${fmt(s.prefix_cache_hit_rate * 100, 1)} | ${fmt(e.prefix_cache_hit_rate * 100, 1)} | ${fmt(s.ttft.mean, 0)} | ${fmt(e.ttft.mean, 0)} | ${fmt(e.ttft.mean / s.ttft.mean, 2)}× | ${fmt(s.ttft.p99, 0)} / ${fmt(e.ttft.p99, 0)} | ${s.completed}/${s.failed} · ${e.completed}/${e.failed} |`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  // Runs at another time scale than the scenario's go beside the default ones, not over them.
  const tag = values['time-scale'] !== undefined ? `-ts${values['time-scale']}` : '';
  let dirs: string[];
  if (values.summarize) dirs = positionals;
  else {
    dirs = [];
    for (const seed of values.seeds.split(',')) {
      const dir = join(OUT, `s${seed}${tag}`);
      mkdirSync(dir, { recursive: true });
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'bench/quality.ts'),
          '--only',
          '003',
          '--strategy',
          TARGETS.join(','),
          '--seed',
          seed,
          '--out',
          dir,
          ...(values.quick ? ['--quick'] : []),
          ...(values['time-scale'] !== undefined ? ['--time-scale', values['time-scale']] : []),
          ...(values.duration !== undefined ? ['--duration', values.duration] : []),
        ],
        { cwd: ROOT, stdio: 'inherit' },
      );
      dirs.push(dir);
    }
  }
  const runs = dirs.map(readRun);
  const scales = [...new Set(runs.map((r) => r.timeScale))].join(', ');
  const md = [
    '# Routing quality through Envoy + infergate epp against serve (quality-003)',
    '',
    `bench/quality-envoy-epp.ts: one bench/quality.ts run per workload seed, targets \`infergate\` (serve, default profile) and \`infergate-envoy\` (the same profile behind Envoy 1.40 with \`infergate epp\`), 5 simulated replicas at time scale ${scales}: figures in simulated time (a millisecond of wall time is ${fmt(1 / runs[0]!.timeScale, 0)} ms here). Runs: ${runs.map((r) => `seed ${r.seed} ${r.startedAt}`).join('; ')}. Each run's report (machine, load average, warnings): ${runs.map((r) => `\`${r.dir.replace(`${ROOT}`, '')}/quality.md\``).join(', ')}.`,
    '',
    table(runs),
    '',
    `The hit rate says whether the picks were the same kind of picks; the TTFT also carries each front's own wall-clock latency, multiplied by ${fmt(1 / runs[0]!.timeScale, 0)} in simulated time (through Envoy + epp, a streamed answer's first chunk passes the picker: request headers and body, response headers, first body chunk — bench/results/epp-overhead.md measures the hop).`,
    '',
  ].join('\n');
  process.stdout.write(md);
  writeFileSync(join(ROOT, `bench/results/quality-envoy-epp${tag}.md`), md);
}

main();
