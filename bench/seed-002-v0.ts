/**
 * Seed 002 as the document ran it (vLLM 0.7.2's V0 engine, 0.95 memory, prefix caching off) —
 * standard (least-request Service) vs inference (infergate's pool scheduler), several workload
 * seeds — with each replica's engine history (`infergate sim --trace`) to explain the TTFT tail.
 *
 *   npx tsx bench/seed-002-v0.ts [--seeds 0,1,2] [--num-prompts 600 | --full]
 *       [--time-scale 0.1] [--targets standard,inference] [--out bench/results/seed-002-v0]
 *       [--keep DIR]   # keep each run's engine trace and client records (DIR/seed<S>-<target>.*.jsonl)
 *   npx tsx bench/seed-002-v0.ts --merge a.json,b.json --out bench/results/seed-002-v0   # one table
 *       [--keep DIR]   # and recompute each run's analysis from the files kept in DIR
 *
 * Writes <out>.json (figures, per-replica and tail analysis per run) and <out>.md (the tables).
 * Each run is `infergate bench --scenario seed-002 --strategy <target> --seed <s>` with the
 * simulator's trace switched on; simulated time throughout.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RequestRecord } from '../src/bench/client.js';
import { figureValues } from '../src/bench/report/figures.js';
import { executeScenario } from '../src/bench/scenarios/run.js';
import { SEED_002 } from '../src/bench/scenarios/seed-002.js';
import type { ScenarioDefinition, ScenarioRun } from '../src/bench/scenarios/types.js';
import { percentile } from '../src/bench/stats.js';
import { VERSION } from '../src/cli/version.js';

interface Args {
  seeds: number[];
  numPrompts: number | undefined;
  full: boolean;
  timeScale: number | undefined;
  targets: string[];
  out: string;
  /** Reports of earlier runs to merge into one (no new runs). */
  merge: string[];
  /** Where each run's trace and per-request client records are kept (otherwise deleted). */
  keep: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seeds: [0, 1, 2],
    numPrompts: undefined,
    full: false,
    timeScale: undefined,
    targets: ['standard', 'inference'],
    out: 'bench/results/seed-002-v0',
    merge: [],
    keep: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--seeds') a.seeds = v().split(',').map(Number);
    else if (k === '--num-prompts') a.numPrompts = Number(v());
    else if (k === '--full') a.full = true;
    else if (k === '--time-scale') a.timeScale = Number(v());
    else if (k === '--targets') a.targets = v().split(',');
    else if (k === '--out') a.out = v();
    else if (k === '--merge') a.merge = v().split(',');
    else if (k === '--keep') a.keep = v();
    else throw new Error(`unknown argument ${k} (see the header of bench/seed-002-v0.ts)`);
  }
  return a;
}

interface TraceRequest {
  r: number;
  arr: number;
  q: number;
  sch: number;
  ft: number;
  fin: number;
  p: number;
  o: number;
  pre: number;
}

interface TraceSample {
  r: number;
  t: number;
  run: number;
  wait: number;
  kv: number;
  pre: number;
  pfS: number;
}

function readTrace(path: string): { reqs: TraceRequest[]; samples: TraceSample[][] } {
  const reqs: TraceRequest[] = [];
  const samples: TraceSample[][] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    const o = JSON.parse(line) as { k: string } & TraceRequest & TraceSample;
    if (o.k === 'r') reqs.push(o);
    else {
      samples[o.r] ??= [];
      samples[o.r]!.push(o);
    }
  }
  return { reqs, samples };
}

/** The replica's last sample at or before t (samples are in time order). */
function sampleAt(samples: readonly TraceSample[], t: number): TraceSample | undefined {
  let lo = 0;
  let hi = samples.length - 1;
  let best: TraceSample | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.t <= t) {
      best = samples[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** What the engines did: per replica, and for the slowest 1 % of first tokens against the rest. */
export function analyseTrace(path: string) {
  const { reqs, samples } = readTrace(path);
  const ttft = reqs.map((q) => q.ft - q.arr);
  const sorted = [...ttft].sort((x, y) => x - y);
  const p99 = percentile(sorted, 99);
  const replicas = samples.map((ss, r) => {
    const mine = reqs.filter((q) => q.r === r);
    const last = ss[ss.length - 1];
    const span = last ? last.t - ss[0]!.t : 0;
    return {
      replica: r,
      requests: mine.length,
      tokens: mine.reduce((s, q) => s + q.p + q.o, 0),
      preemptions: last?.pre ?? 0,
      preemptedRequests: mine.filter((q) => q.pre > 0).length,
      meanRunning: r2(mean(ss.map((s) => s.run))),
      maxWaiting: Math.max(0, ...ss.map((s) => s.wait)),
      waitingShare: r2(ss.filter((s) => s.wait > 0).length / Math.max(1, ss.length)),
      kvAbove95Share: r2(ss.filter((s) => s.kv >= 0.95).length / Math.max(1, ss.length)),
      prefillStepShare: r2(span > 0 ? (last?.pfS ?? 0) / span : 0),
      ttftP99S: r2(
        percentile(
          mine.map((q) => q.ft - q.arr).sort((x, y) => x - y),
          99,
        ),
      ),
    };
  });
  const describe = (set: readonly TraceRequest[]) => {
    const at = set.map((q) => sampleAt(samples[q.r] ?? [], q.arr));
    return {
      count: set.length,
      ttftMeanS: r2(mean(set.map((q) => q.ft - q.arr))),
      /** Waiting for the scheduler (KV above the watermark, or behind other prefills) vs in the prefill step. */
      queuedMeanS: r2(mean(set.map((q) => q.sch - q.q))),
      prefillMeanS: r2(mean(set.map((q) => q.ft - q.sch))),
      promptMean: Math.round(mean(set.map((q) => q.p))),
      atArrival: {
        runningMean: r2(mean(at.map((s) => s?.run ?? 0))),
        waitingMean: r2(mean(at.map((s) => s?.wait ?? 0))),
        kvMean: r2(mean(at.map((s) => s?.kv ?? 0))),
        kvAbove95Share: r2(at.filter((s) => (s?.kv ?? 0) >= 0.95).length / Math.max(1, set.length)),
      },
      /** Share whose replica preempted something within 30 s before their first token. */
      preemptionNearbyShare: r2(
        set.filter((q) => {
          const a = sampleAt(samples[q.r] ?? [], q.ft - 30);
          const b = sampleAt(samples[q.r] ?? [], q.ft);
          return a !== undefined && b !== undefined && b.pre > a.pre;
        }).length / Math.max(1, set.length),
      ),
      byReplica: samples.map((_, r) => set.filter((q) => q.r === r).length),
    };
  };
  const tail = reqs.filter((q) => q.ft - q.arr >= p99);
  const rest = reqs.filter((q) => q.ft - q.arr < p99);
  // The opening wave: the first OPENING_WAVE requests to reach any replica.
  const byArrival = [...reqs].sort((x, y) => x.arr - y.arr);
  const waveEnd = byArrival[Math.min(OPENING_WAVE, byArrival.length) - 1]?.arr ?? 0;
  const afterWave = byArrival
    .slice(OPENING_WAVE)
    .map((q) => q.ft - q.arr)
    .sort((x, y) => x - y);
  const afterWaveP99 = percentile(afterWave, 99);
  const tailAfterWave = byArrival.slice(OPENING_WAVE).filter((q) => q.ft - q.arr >= afterWaveP99);
  const tpots = reqs.filter((q) => q.o > 1).map((q) => ((q.fin - q.ft) / (q.o - 1)) * 1000);
  const spanS = Math.max(...reqs.map((q) => q.fin)) - Math.min(...reqs.map((q) => q.arr));
  return {
    requests: reqs.length,
    /** Engine view of decode speed: mean TPOT (ms) and output tokens per engine second over the run. */
    engineTpotMeanMs: Math.round(mean(tpots) * 10) / 10,
    engineOutputTokS: Math.round(reqs.reduce((n, q) => n + q.o, 0) / Math.max(spanS, 1e-9)),
    engineTtft: {
      meanS: r2(mean(ttft)),
      p50S: r2(percentile(sorted, 50)),
      p99S: r2(p99),
      maxS: r2(sorted[sorted.length - 1] ?? 0),
      /** P99 of the requests after the opening wave. */
      afterWaveP99S: r2(afterWaveP99),
      /** Requests after the opening wave whose first token took more than 10 s. */
      afterWaveOver10s: afterWave.filter((x) => x > 10).length,
    },
    /** Share of the slowest 1 % that were in the opening wave. */
    tailInWave: r2(tail.filter((q) => q.arr <= waveEnd).length / Math.max(1, tail.length)),
    balance: balanceOverTime(samples),
    preemptions: replicas.reduce((s, x) => s + x.preemptions, 0),
    replicas,
    tail: describe(tail),
    /** The slowest 1 % of the requests after the opening wave. */
    tailAfterWave: describe(tailAfterWave),
    rest: describe(rest),
  };
}

/**
 * The client's TTFT split at the gateway (joined on x-request-id = bench-<index>): the access log's
 * ttft_ms runs from the gateway receiving the request to it relaying the first token, so client −
 * gateway is the load generator, the sockets and the gateway's intake. Simulated seconds; the
 * opening wave (the first 60 requests, sent at once) apart from the rest.
 */
type ClientTtft = Pick<RequestRecord, 'index' | 'ttftMs' | 'success'>;

export function threeViews(records: readonly ClientTtft[], accessLogPath: string, timeScale: number) {
  const gatewayTtft = new Map<number, number>();
  for (const line of readFileSync(accessLogPath, 'utf8').split('\n')) {
    if (!line.includes('"msg":"access"')) continue;
    const o = JSON.parse(line) as { id?: string; ttft_ms?: number };
    const m = /^bench-(\d+)$/.exec(o.id ?? '');
    if (m && typeof o.ttft_ms === 'number') gatewayTtft.set(Number(m[1]), o.ttft_ms);
  }
  const split = (set: readonly ClientTtft[]) => {
    const pairs = set.flatMap((r) => {
      const g = gatewayTtft.get(r.index);
      return g === undefined || !Number.isFinite(r.ttftMs) ? [] : [{ client: r.ttftMs, gateway: g }];
    });
    const s = (xs: number[]) => xs.map((x) => x / timeScale / 1000).sort((a, b) => a - b);
    const before = s(pairs.map((p) => p.client - p.gateway));
    const gw = s(pairs.map((p) => p.gateway));
    return {
      count: pairs.length,
      gatewayTtft: { meanS: r2(mean(gw)), p50S: r2(percentile(gw, 50)), p99S: r2(percentile(gw, 99)) },
      beforeGateway: {
        meanS: r2(mean(before)),
        p50S: r2(percentile(before, 50)),
        p99S: r2(percentile(before, 99)),
      },
    };
  };
  const ok = records.filter((r) => r.success);
  return {
    all: split(ok),
    openingWave: split(ok.filter((r) => r.index < OPENING_WAVE)),
    rest: split(ok.filter((r) => r.index >= OPENING_WAVE)),
  };
}

/**
 * How many endpoints the inference route's scheduler still had after its filters (the access log's
 * reason says "k/5 candidates"; the saturation filter drops endpoints with a queue, a KV cache
 * ≥ its threshold, or stale metrics): picks per k, over the run and in the opening wave; and how
 * many opening-wave requests went to the busiest endpoint. Null for a route without that reason.
 */
export function candidateCounts(accessLogPath: string) {
  const all: Record<string, number> = {};
  const wave: Record<string, number> = {};
  const waveEndpoints = new Map<string, number>();
  let seen = 0;
  for (const line of readFileSync(accessLogPath, 'utf8').split('\n')) {
    if (!line.includes('"msg":"access"')) continue;
    const o = JSON.parse(line) as { id?: string; reason?: string; endpoint?: string };
    const k = /(\d+)\/\d+ candidates/.exec(o.reason ?? '')?.[1];
    if (k === undefined) continue;
    seen++;
    all[k] = (all[k] ?? 0) + 1;
    const index = Number(/^bench-(\d+)$/.exec(o.id ?? '')?.[1] ?? Number.NaN);
    if (index < OPENING_WAVE) {
      wave[k] = (wave[k] ?? 0) + 1;
      if (o.endpoint) waveEndpoints.set(o.endpoint, (waveEndpoints.get(o.endpoint) ?? 0) + 1);
    }
  }
  if (seen === 0) return null;
  return { all, openingWave: wave, openingWaveMostOnOneEndpoint: Math.max(0, ...waveEndpoints.values()) };
}

/** The benchmark's concurrency: its first this-many requests leave together. */
const OPENING_WAVE = 60;

/** One JSON line per request as the client saw it, in wall ms (÷ time scale = simulated ms). */
function writeClientRecords(path: string, records: readonly RequestRecord[]): void {
  const lines = records.map((r) =>
    JSON.stringify({
      i: r.index,
      sentMs: Math.round(r.startMs * 1000) / 1000,
      ok: r.success,
      ttftMs: Number.isFinite(r.ttftMs) ? Math.round(r.ttftMs * 1000) / 1000 : null,
      latencyMs: Math.round(r.latencyMs * 1000) / 1000,
      p: r.promptTokens,
      o: r.outputTokens,
    }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * How evenly the replicas were loaded, once per engine second: each replica's requests (running +
 * waiting, from its last sample) and the spread max − min across replicas; and the share of seconds
 * in which some replica's KV cache was ≥ 95 % full.
 */
function balanceOverTime(samples: readonly TraceSample[][]) {
  const all = samples.flat();
  if (all.length === 0) return { spreadMean: 0, spreadP95: 0, maxRequests: 0, kvFullShare: 0 };
  const start = Math.min(...samples.map((ss) => ss[0]?.t ?? Number.POSITIVE_INFINITY));
  const end = Math.max(...samples.map((ss) => ss[ss.length - 1]?.t ?? 0));
  const spreads: number[] = [];
  let maxRequests = 0;
  let kvFull = 0;
  for (let t = start + 1; t <= end; t += 1) {
    const now = samples.map((ss) => sampleAt(ss, t));
    const load = now.map((x) => (x ? x.run + x.wait : 0));
    spreads.push(Math.max(...load) - Math.min(...load));
    maxRequests = Math.max(maxRequests, ...load);
    if (now.some((x) => (x?.kv ?? 0) >= 0.95)) kvFull++;
  }
  const sortedSpreads = [...spreads].sort((a, b) => a - b);
  return {
    spreadMean: r2(mean(spreads)),
    spreadP95: percentile(sortedSpreads, 95),
    maxRequests,
    kvFullShare: r2(kvFull / Math.max(1, spreads.length)),
  };
}

function withTrace(def: ScenarioDefinition, tracePath: string): ScenarioDefinition {
  const add = (run: ScenarioRun): ScenarioRun => ({
    ...run,
    sim: { ...run.sim, extraArgs: [...run.sim.extraArgs, '--trace', tracePath] },
  });
  return {
    ...def,
    full: add(def.full),
    quick: add(def.quick),
    ...(def.documentSize ? { documentSize: add(def.documentSize) } : {}),
  };
}

const FIGURES = [
  'ttft.mean',
  'ttft.median',
  'ttft.p99',
  'tpot.mean',
  'tpot.median',
  'itl.median',
  'output_token_throughput',
  'completed',
] as const;

/** Client records written by writeClientRecords, in the shape threeViews reads. */
function readClientRecords(path: string): ClientTtft[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const o = JSON.parse(l) as { i: number; ok: boolean; ttftMs: number | null };
      return { index: o.i, success: o.ok, ttftMs: o.ttftMs ?? Number.NaN };
    });
}

/** Recomputes a run's analysis and TTFT split from the files `--keep` left in `dir`, when present. */
function reanalyse(run: Record<string, unknown>, dir: string, timeScale: number): Record<string, unknown> {
  const base = join(dir, `seed${String(run.seed)}-${String(run.target)}`);
  const out = { ...run };
  if (existsSync(`${base}.jsonl`)) out.analysis = analyseTrace(`${base}.jsonl`);
  if (existsSync(`${base}.client.jsonl`) && existsSync(`${base}.access.log`))
    out.views = threeViews(readClientRecords(`${base}.client.jsonl`), `${base}.access.log`, timeScale);
  if (existsSync(`${base}.access.log`)) out.candidates = candidateCounts(`${base}.access.log`);
  return out;
}

/** Several reports (e.g. one per seed, each run under its own lock) as one. */
function mergeReports(files: readonly string[], keptDir: string | undefined): Report {
  const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
  const first = reports[0]!;
  return {
    ...first,
    startedAt: reports.map((r) => r.startedAt).join(', '),
    machine: {
      loadAverageAtStart: reports.map((r) => r.machine.loadAverageAtStart.join(' / ')),
    },
    command: reports.map((r) => r.command).join('; '),
    runs: reports.flatMap((r) => (keptDir ? r.runs.map((x) => reanalyse(x, keptDir, r.timeScale)) : r.runs)),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.merge.length > 0) {
    const merged = mergeReports(args.merge, args.keep);
    writeFileSync(`${args.out}.json`, `${JSON.stringify(merged, null, 2)}\n`);
    writeFileSync(`${args.out}.md`, markdown(merged));
    process.stdout.write(markdown(merged));
    return;
  }
  const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'seed-002-v0-'));
  mkdirSync(dir, { recursive: true });
  const startedAt = new Date().toISOString();
  const load = loadavg().map((x) => x.toFixed(2));
  const runs: Record<string, unknown>[] = [];
  let timeScale = 0;
  for (const seed of args.seeds) {
    for (const target of args.targets) {
      const trace = join(dir, `seed${seed}-${target}.jsonl`);
      const log: string[] = [];
      process.stderr.write(`seed ${seed}, ${target}: running\n`);
      const t0 = Date.now();
      const outcome = await executeScenario(withTrace(SEED_002, trace), {
        quick: false,
        flags: {
          strategy: target,
          seed: String(seed),
          progress: 'none',
          ...(args.full ? { full: true } : {}),
          ...(args.numPrompts !== undefined ? { numPrompts: String(args.numPrompts) } : {}),
          ...(args.timeScale !== undefined ? { timeScale: String(args.timeScale) } : {}),
        },
        io: { stdout: { write: (s: string) => log.push(s) }, stderr: process.stderr },
        version: VERSION,
      });
      const result = outcome.report?.targets[0];
      if (!result) throw new Error(`seed ${seed} ${target}: no result`);
      timeScale = outcome.plan.run.sim.timeScale;
      const v = figureValues(result);
      const figures = Object.fromEntries(FIGURES.map((k) => [k, v[k] ?? null]));
      const analysis = analyseTrace(trace);
      if (args.keep) writeClientRecords(join(dir, `seed${seed}-${target}.client.jsonl`), result.records);
      // The scenario keeps its log directory only when a run warned; then the access log joins in.
      const logDir = outcome.report?.scenario?.log_dir;
      const accessLog = typeof logDir === 'string' ? join(logDir, `${target}.access.log`) : undefined;
      if (accessLog && existsSync(accessLog) && args.keep)
        copyFileSync(accessLog, join(dir, `seed${seed}-${target}.access.log`));
      const haveLog = accessLog !== undefined && existsSync(accessLog);
      const views = haveLog ? threeViews(result.records, accessLog, timeScale) : null;
      const candidates = haveLog ? candidateCounts(accessLog) : null;
      runs.push({
        seed,
        target,
        wallS: Math.round((Date.now() - t0) / 1000),
        numPrompts: outcome.plan.options.load.numPrompts,
        figures,
        warnings: result.warnings,
        processCpuS: result.processCpuS ?? null,
        generatorLag: result.generator.lag,
        analysis,
        /** The gateway's view of the slowest requests (access log: endpoint, decisive scorer, load seen). */
        gatewayTail: result.tail ?? null,
        /** Where the client's TTFT went (simulated s): sent → gateway start, gateway → first token. */
        views,
        candidates,
      });
      process.stderr.write(
        `seed ${seed}, ${target}: TTFT mean ${Math.round(v['ttft.mean'] ?? 0)} ms, P99 ${Math.round(v['ttft.p99'] ?? 0)} ms, ` +
          `${analysis.preemptions} preemptions, ${Math.round((Date.now() - t0) / 1000)} s wall\n`,
      );
    }
  }
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  const doc = SEED_002.documentNumbers!;
  const report = {
    startedAt,
    machine: { loadAverageAtStart: load, note: 'two cores shared with other engineers’ work' },
    timeScale,
    command: `npx tsx bench/seed-002-v0.ts ${process.argv.slice(2).join(' ')}`.trim(),
    document: { standard: doc.standard!, inference: doc.inference! },
    runs,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(`${args.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${args.out}.md`, markdown(report));
  process.stdout.write(markdown(report));
}

type Report = {
  startedAt: string;
  machine: { loadAverageAtStart: string[] };
  timeScale: number;
  command: string;
  document: Record<string, Record<string, number | null | undefined>>;
  runs: Record<string, unknown>[];
};

function markdown(rep: Report): string {
  const runs = rep.runs as {
    seed: number;
    target: string;
    numPrompts: number;
    figures: Record<string, number | null>;
    warnings: string[];
    analysis: ReturnType<typeof analyseTrace>;
    views?: ReturnType<typeof threeViews> | null;
    candidates?: ReturnType<typeof candidateCounts>;
  }[];
  const fmt = (x: number | null | undefined, d = 0): string => (x == null ? '–' : x.toFixed(d));
  const lines: string[] = [];
  lines.push(
    `Measured ${rep.startedAt} (simulated replicas, time scale ${rep.timeScale}; load average at start ${rep.machine.loadAverageAtStart.join(', ')}, two cores shared with other engineers' work). Command: \`${rep.command}\`.`,
    '',
    '| run | prompts | mean TTFT (ms) | median TTFT | P99 TTFT | mean TPOT | median TPOT | output tok/s | preemptions |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const col of ['standard', 'inference']) {
    const d = rep.document[col]!;
    lines.push(
      `| document, ${col} | 2990 | ${fmt(d['ttft.mean'])} | ${fmt(d['ttft.median'])} | ${fmt(d['ttft.p99'])} | ${fmt(d['tpot.mean'], 1)} | ${fmt(d['tpot.median'], 1)} | ${fmt(d.output_token_throughput)} | – |`,
    );
  }
  for (const r of runs) {
    const f = r.figures;
    lines.push(
      `| seed ${r.seed}, ${r.target} | ${r.numPrompts} | ${fmt(f['ttft.mean'])} | ${fmt(f['ttft.median'])} | ${fmt(f['ttft.p99'])} | ${fmt(f['tpot.mean'], 1)} | ${fmt(f['tpot.median'], 1)} | ${fmt(f.output_token_throughput)} | ${r.analysis.preemptions} |`,
    );
  }
  lines.push(
    '',
    '| ratio inference / standard | mean TTFT | median TTFT | P99 TTFT | output tok/s |',
    '|---|---:|---:|---:|---:|',
  );
  const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
    a == null || b == null || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
  const ds = rep.document.standard!;
  const di = rep.document.inference!;
  lines.push(
    `| document | ${ratio(di['ttft.mean'], ds['ttft.mean'])} | ${ratio(di['ttft.median'], ds['ttft.median'])} | ${ratio(di['ttft.p99'], ds['ttft.p99'])} | ${ratio(di.output_token_throughput, ds.output_token_throughput)} |`,
  );
  for (const seed of [...new Set(runs.map((r) => r.seed))]) {
    const s = runs.find((r) => r.seed === seed && r.target === 'standard')?.figures;
    const i = runs.find((r) => r.seed === seed && r.target === 'inference')?.figures;
    if (!s || !i) continue;
    lines.push(
      `| seed ${seed} | ${ratio(i['ttft.mean'], s['ttft.mean'])} | ${ratio(i['ttft.median'], s['ttft.median'])} | ${ratio(i['ttft.p99'], s['ttft.p99'])} | ${ratio(i.output_token_throughput, s.output_token_throughput)} |`,
    );
  }
  lines.push(
    '',
    'TTFT as the engines saw it (the trace: arrival at the replica → first token, engine seconds; no gateway or socket time) beside the client’s view (wall ÷ time scale):',
    '',
    '| run | engine mean (s) | engine median | engine P99 | engine max | client mean | client P99 | engine P99 after the opening wave | after the wave > 10 s | slowest 1 % in the wave | engine / client mean TPOT (ms) | engine / client output tok/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of runs) {
    const e = r.analysis.engineTtft;
    const after = e.afterWaveP99S === undefined ? '–' : fmt(e.afterWaveP99S, 2);
    const inWave = r.analysis.tailInWave === undefined ? '–' : `${fmt(r.analysis.tailInWave * 100)} %`;
    lines.push(
      `| seed ${r.seed}, ${r.target} | ${fmt(e.meanS, 2)} | ${fmt(e.p50S, 2)} | ${fmt(e.p99S, 2)} | ${fmt(e.maxS, 2)} | ${fmt((r.figures['ttft.mean'] ?? 0) / 1000, 2)} | ${fmt((r.figures['ttft.p99'] ?? 0) / 1000, 2)} | ${after} | ${e.afterWaveOver10s ?? '–'} | ${inWave} | ${fmt(r.analysis.engineTpotMeanMs, 1)} / ${fmt(r.figures['tpot.mean'], 1)} | ${fmt(r.analysis.engineOutputTokS)} / ${fmt(r.figures.output_token_throughput)} |`,
    );
  }
  const balanced = runs.filter((r) => r.analysis.balance);
  if (balanced.length > 0) {
    lines.push(
      '',
      'Balance over time (engine view, once per engine second): the spread of requests (running + waiting) between the most and the least loaded replica, the most any replica held, and the share of seconds in which some replica’s KV cache was ≥ 95 % full.',
      '',
      '| run | spread mean | spread P95 | most requests on one replica | seconds with a replica at KV ≥ 0.95 |',
      '|---|---:|---:|---:|---:|',
    );
    for (const r of balanced) {
      const b = r.analysis.balance!;
      lines.push(
        `| seed ${r.seed}, ${r.target} | ${fmt(b.spreadMean, 1)} | ${b.spreadP95} | ${b.maxRequests} | ${fmt(b.kvFullShare * 100, 1)} % |`,
      );
    }
  }
  const withViews = runs.filter((r) => r.views);
  if (withViews.length > 0) {
    lines.push(
      '',
      'Where the client’s TTFT went (simulated s; joined with the gateway’s access log on x-request-id): “before the gateway” = client TTFT − the gateway’s TTFT (the load generator, its sockets and the gateway’s intake), “gateway” = request received → first token relayed (routing, the replica, the relay). The opening wave is the first 60 requests, sent at once.',
      '',
      '| run | set | n | before the gateway: mean / median / P99 | gateway TTFT: mean / median / P99 |',
      '|---|---|---:|---|---|',
    );
    for (const r of withViews) {
      for (const [name, v] of [
        ['all', r.views!.all],
        ['opening wave', r.views!.openingWave],
        ['rest', r.views!.rest],
      ] as const) {
        lines.push(
          `| seed ${r.seed}, ${r.target} | ${name} | ${v.count} | ${fmt(v.beforeGateway.meanS, 2)} / ${fmt(v.beforeGateway.p50S, 2)} / ${fmt(v.beforeGateway.p99S, 2)} | ${fmt(v.gatewayTtft.meanS, 2)} / ${fmt(v.gatewayTtft.p50S, 2)} / ${fmt(v.gatewayTtft.p99S, 2)} |`,
        );
      }
    }
  }
  const filtered = runs.filter((r) => r.candidates);
  if (filtered.length > 0) {
    const ks = ['1', '2', '3', '4', '5'];
    const col = (c: Record<string, number>): string => ks.map((k) => c[k] ?? 0).join(' / ');
    lines.push(
      '',
      'Endpoints left after the inference route’s filters (access log “k/5 candidates”; the saturation filter drops an endpoint with ≥ 5 waiting, KV ≥ 0.8 or metrics older than 200 ms wall, while another remains):',
      '',
      '| run | picks with 1 / 2 / 3 / 4 / 5 candidates | opening wave: 1 / 2 / 3 / 4 / 5 | opening wave: most sent to one replica |',
      '|---|---|---|---:|',
    );
    for (const r of filtered) {
      const c = r.candidates!;
      lines.push(
        `| seed ${r.seed}, ${r.target} | ${col(c.all)} | ${col(c.openingWave)} | ${c.openingWaveMostOnOneEndpoint} of 60 |`,
      );
    }
  }
  lines.push(
    '',
    'Engine view (the simulator’s --trace): the slowest 1 % of first tokens ("tail"), the slowest 1 % of those sent after the opening wave, and the rest (all but the slowest 1 %). Queued = visible to the scheduler → first scheduled; prefill = first scheduled → first token; "at arrival" = the replica’s queues when the request reached it; "preempt. ≤30 s" = its replica preempted a request in the 30 s before its first token.',
    '',
    '| run | set | n | TTFT (s) | queued (s) | prefill (s) | prompt | running at arrival | waiting at arrival | KV at arrival | KV ≥ 0.95 | preempt. ≤30 s | per replica |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const r of runs) {
    const sets = [
      ['tail', r.analysis.tail],
      ['tail after the wave', r.analysis.tailAfterWave],
      ['rest', r.analysis.rest],
    ] as const;
    for (const [name, s] of sets) {
      if (s === undefined) continue; // a report from before the after-wave analysis
      lines.push(
        `| seed ${r.seed}, ${r.target} | ${name} | ${s.count} | ${fmt(s.ttftMeanS, 2)} | ${fmt(s.queuedMeanS, 2)} | ${fmt(s.prefillMeanS, 2)} | ${s.promptMean} | ${fmt(s.atArrival.runningMean, 1)} | ${fmt(s.atArrival.waitingMean, 1)} | ${fmt(s.atArrival.kvMean, 2)} | ${fmt(s.atArrival.kvAbove95Share * 100)} % | ${fmt(s.preemptionNearbyShare * 100)} % | ${s.byReplica.join(' / ')} |`,
      );
    }
  }
  lines.push(
    '',
    'Per replica (engine view): requests served, their prompt + output tokens, preemptions, mean running, share of samples with a waiting queue, share with KV ≥ 0.95, share of engine time in prefill-only steps, the replica’s own P99 TTFT (s).',
    '',
    '| run | requests | tokens (k) | preemptions | mean running | waiting > 0 | KV ≥ 0.95 | prefill steps | P99 TTFT (s) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of runs) {
    const x = r.analysis.replicas;
    const col = (f: (y: (typeof x)[number]) => string): string => x.map(f).join(' / ');
    lines.push(
      `| seed ${r.seed}, ${r.target} | ${col((y) => String(y.requests))} | ${col((y) => String(Math.round(y.tokens / 1000)))} | ${col((y) => String(y.preemptions))} | ${col((y) => fmt(y.meanRunning, 1))} | ${col((y) => `${fmt(y.waitingShare * 100)}%`)} | ${col((y) => `${fmt(y.kvAbove95Share * 100)}%`)} | ${col((y) => `${fmt(y.prefillStepShare * 100)}%`)} | ${col((y) => fmt(y.ttftP99S, 1))} |`,
    );
  }
  const warned = runs.filter((r) => r.warnings.length > 0);
  lines.push(
    '',
    warned.length === 0
      ? 'No run warned (simulators kept to their schedule, load generator lag fine).'
      : `Warnings: ${warned.map((r) => `seed ${r.seed} ${r.target}: ${r.warnings.join('; ')}`).join(' | ')}`,
    '',
  );
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('seed-002-v0.ts')) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
