/**
 * Issue 16's summary over seeds: reads the JSON reports bench/peers.ts wrote into a folder
 * (`peers-*-s<seed>.json`) and writes `summary.md` there — per workload and seed, each target's mean
 * and P99 TTFT and throughput, infergate's ratios to SGLang cache_aware and to least-request with
 * their spread over the seeds, the TTFT floor (src/bench/ttft-floor.ts) and, per goal against
 * cache_aware, the smallest ratio any router could reach on that stream; then the P99 requests of
 * each target with their reusable tokens and floors (the per-request evidence).
 *
 *   npx tsx bench/peers-summary.ts [DIR]     (default bench/results/peers-16/final)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from '../src/bench/scenarios/series.js';
import type { TailEvidence } from '../src/bench/tail.js';
import type { TtftFloorEvidence } from '../src/bench/ttft-floor.js';

interface TargetJson {
  name: string;
  completed: number;
  output_token_throughput: number;
  ttft: { mean: number; p99: number };
  warnings: string[];
  tail?: TailEvidence;
  ttft_floor?: TtftFloorEvidence;
}

interface ReportJson {
  started_at: string;
  scenario: { name: string };
  config: { workload: { seed: number } };
  targets: TargetJson[];
}

const PEER = 'sglang-cache-aware';
const OURS = 'infergate';
const BASELINE = 'least-request';
/** Issue 16's goals: infergate ÷ cache_aware (mean, P99), infergate ÷ least-request (mean, cache-bound). */
const MEAN_GOAL = 0.95;
const P99_GOAL = 0.9;

const r2 = (v: number): string => v.toFixed(2);
const ms = (v: number): string => v.toFixed(0);

function spread(values: readonly number[]): string {
  if (values.length === 0) return '–';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.length === 1 ? `${r2(lo)}×` : `${r2(lo)}–${r2(hi)}× (spread ${r2(hi - lo)})`;
}

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(
      'usage: npx tsx bench/peers-summary.ts [DIR]   (default bench/results/peers-16/final)\n',
    );
    return 0;
  }
  const dir = arg ?? 'bench/results/peers-16/final';
  const reports = readdirSync(dir)
    .filter((f) => /^peers-.*-s\d+\.json$/.test(f))
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as ReportJson }))
    .sort(
      (a, b) =>
        a.json.scenario.name.localeCompare(b.json.scenario.name) ||
        a.json.config.workload.seed - b.json.config.workload.seed,
    );
  const out = [
    '# Issue 16 side by side — summary over seeds',
    '',
    `From the JSON reports in \`${dir}\` (bench/peers.ts; the commands, uptime before and after, in its run.log). Simulated replicas (5 × qwen2.5-7b-l20) at time scale 0.5: every figure is in simulated time. Ratios are infergate's default profile over the named target. Floor: each request alone on an idle replica holding every token the workload lets it reuse, on the simulator's own engine (docs/benchmark.md, "TTFT floor").`,
    '',
    '| workload | seed | requests | mean TTFT least-request / infergate / cache_aware / floor (ms) | infergate ÷ cache_aware | floor ÷ cache_aware | P99 TTFT least-request / infergate / cache_aware / floor (ms) | infergate ÷ cache_aware | floor ÷ cache_aware | infergate ÷ least-request (mean) | throughput infergate ÷ cache_aware | excess over floor: cache misses / load (infergate; cache_aware) | warnings |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const byWorkload = new Map<
    string,
    { mean: number[]; p99: number[]; lr: number[]; floorMean: number[]; floorP99: number[] }
  >();
  for (const { json } of reports) {
    const t = (name: string): TargetJson | undefined => json.targets.find((x) => x.name === name);
    const ours = t(OURS);
    const peer = t(PEER);
    const base = t(BASELINE);
    if (!ours || !peer) continue;
    const floor = ours.ttft_floor;
    const w = json.scenario.name;
    const agg = byWorkload.get(w) ?? { mean: [], p99: [], lr: [], floorMean: [], floorP99: [] };
    byWorkload.set(w, agg);
    const meanRatio = ours.ttft.mean / peer.ttft.mean;
    const p99Ratio = ours.ttft.p99 / peer.ttft.p99;
    agg.mean.push(meanRatio);
    agg.p99.push(p99Ratio);
    if (base) agg.lr.push(ours.ttft.mean / base.ttft.mean);
    if (floor) {
      agg.floorMean.push(floor.floor_mean_ms / peer.ttft.mean);
      agg.floorP99.push(floor.floor_p99_ms / peer.ttft.p99);
    }
    const share = (f: TtftFloorEvidence | undefined): string =>
      f?.excess_share
        ? `${Math.round(f.excess_share.cache_miss * 100)} / ${Math.round(f.excess_share.load * 100)} %`
        : '–';
    const warned = json.targets.filter((x) => x.warnings.length > 0).map((x) => x.name);
    out.push(
      `| ${w} | ${json.config.workload.seed} | ${ours.completed} | ${base ? ms(base.ttft.mean) : '–'} / ${ms(ours.ttft.mean)} / ${ms(peer.ttft.mean)} / ${floor ? ms(floor.floor_mean_ms) : '–'} | ${r2(meanRatio)}× | ${floor ? `${r2(floor.floor_mean_ms / peer.ttft.mean)}×` : '–'} | ${base ? ms(base.ttft.p99) : '–'} / ${ms(ours.ttft.p99)} / ${ms(peer.ttft.p99)} / ${floor ? ms(floor.floor_p99_ms) : '–'} | ${r2(p99Ratio)}× | ${floor ? `${r2(floor.floor_p99_ms / peer.ttft.p99)}×` : '–'} | ${base ? `${r2(ours.ttft.mean / base.ttft.mean)}×` : '–'} | ${r2(ours.output_token_throughput / peer.output_token_throughput)}× | ${share(floor)}; ${share(peer.ttft_floor)} | ${warned.length > 0 ? warned.join(', ') : 'none'} |`,
    );
  }
  out.push('', '## Over the seeds', '');
  out.push(
    '| workload | infergate ÷ cache_aware, mean (goal ≤ 0.95) | floor ÷ cache_aware, mean | infergate ÷ cache_aware, P99 (goal ≤ 0.9) | floor ÷ cache_aware, P99 | infergate ÷ least-request, mean |',
    '|---|---|---|---|---|---|',
  );
  for (const [w, a] of byWorkload) {
    const reach = (floors: number[], goal: number): string =>
      floors.length === 0
        ? ''
        : floors.every((f) => f > goal)
          ? ' — **out of reach for any router**'
          : floors.some((f) => f > goal)
            ? ' — out of reach on some seeds'
            : '';
    out.push(
      `| ${w} | ${spread(a.mean)} | ${spread(a.floorMean)}${reach(a.floorMean, MEAN_GOAL)} | ${spread(a.p99)} | ${spread(a.floorP99)}${reach(a.floorP99, P99_GOAL)} | ${spread(a.lr)} |`,
    );
  }
  out.push('', '## The P99 requests, each with its floor', '');
  out.push(
    'Per target, the requests at or above its P99 TTFT: index, sent at (s), prompt tokens, tokens the workload let it reuse (ideal hit), tokens it found cached, measured TTFT and its floor (ms). A request with 0 reusable tokens is a cold prompt for every router.',
    '',
  );
  for (const { json } of reports) {
    out.push(`**${json.scenario.name}, seed ${json.config.workload.seed}**`, '');
    for (const t of json.targets) {
      const reqs = (t.tail?.requests ?? []).map(
        (r) =>
          `#${r.index} @${r.sent_s}s ${r.prompt_tokens} tok, reusable ${r.reusable_tokens ?? '?'}, cached ${r.cached_tokens ?? 0}: ${ms(r.ttft_ms)} ms (floor ${r.floor_ms === undefined ? '?' : ms(r.floor_ms)})`,
      );
      out.push(`- ${t.name}: ${reqs.join('; ')}`);
    }
    out.push('');
  }
  writeFileSync(join(dir, 'summary.md'), `${out.join('\n')}\n`);
  process.stderr.write(`wrote ${join(dir, 'summary.md')}\n`);
  return 0;
}

runScript('bench/peers-summary.ts', main);
