/**
 * Simulator fidelity benchmark. Run: `npx tsx bench/sim-fidelity.ts [--quick]`.
 *
 * Two phases, each against a fresh `infergate sim` child process (its own event loop; this process
 * is the client):
 *
 * 1. load — 5 replicas at --time-scale 0.01, 64 concurrent streaming clients per replica, bounded
 *    in requests and wall time. Reports the simulator's own timing error (token emission wall time
 *    − scheduled wall time: p50/p99/max in wall ms and as % of the mean step's wall time), its
 *    event-loop lag, achieved tokens/s, and how many "falling behind" warnings it logged.
 * 2. calibration — seed 002's experiment on the qwq-32b-4xa10-tp4 profile (5 replicas, 60
 *    concurrent clients spread round-robin, prefix 1000 + input U[800, 4000] tokens, output
 *    U[600, 3000] tokens as vLLM 0.7.2's random dataset draws them; vLLM 0.7 V0: no prefix caching,
 *    --gpu-memory-utilization 0.95, v0 metrics), reporting the engine's TTFT / TPOT / throughput
 *    next to the document's numbers.
 *
 * Writes bench/results/sim-fidelity.json and .md (the tables pasted into docs/simulator.md; `--out`
 * renames them). The document's full replication (3000 prompts, ~5 min at scale 0.05):
 *   npx tsx bench/sim-fidelity.ts --skip-load --calibration-prompts 3000 --out sim-fidelity-seed002
 * Timings depend on the machine: rerun on a quiet one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Pool } from 'undici';
import { parsePrometheusText, type Sample } from '../src/metrics/promtext.js';
import { quantileFromBuckets } from '../src/sim/metrics/histogram.js';
import { synthText } from '../src/sim/tokenizer.js';
import { randInt, SeededRng } from '../src/util/rng.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

// ---------------------------------------------------------------- simulator child process

interface SimProcess {
  child: ChildProcess;
  urls: string[];
  warnings: () => number;
  cpuSeconds: () => Promise<number | null>;
  stop: () => Promise<void>;
}

/** Extra Node flags for the simulator process (e.g. --cpu-prof to profile it). */
const simNodeArgs: string[] = [];

async function startSim(args: string[]): Promise<SimProcess> {
  const child = spawn(
    process.execPath,
    [...simNodeArgs, '--import', 'tsx', MAIN, 'sim', '--port', '0', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let warnings = 0;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    warnings += d.split('falling behind').length - 1;
  });
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim did not start:\n${out}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^sim ready \d+ replicas$/m.test(out)) {
        clearTimeout(timer);
        resolve([...out.matchAll(/^replica \d+ ready (\S+) /gm)].map((m) => m[1]!));
      }
    });
    child.once('exit', (code) => reject(new Error(`sim exited (${code}):\n${out}`)));
  });
  return {
    child,
    urls,
    warnings: () => warnings,
    cpuSeconds: async () => {
      try {
        const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
      } catch {
        return null;
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

// ---------------------------------------------------------------- metrics

async function scrapeSamples(url: string): Promise<Sample[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Sample[] = [];
  for (const fam of parsePrometheusText(text).families.values()) out.push(...fam.samples);
  return out;
}

function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let s = 0;
  for (const x of samples) {
    if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) s += x.value;
  }
  return s;
}

function maxOf(samples: Sample[], name: string): number {
  let m = 0;
  for (const x of samples) if (x.name === name) m = Math.max(m, x.value);
  return m;
}

/** Merged histogram over replicas: bounds, cumulative counts (+Inf last), sum, count. */
function mergedHistogram(all: Sample[][], name: string) {
  const byLe = new Map<string, number>();
  let sum = 0;
  let count = 0;
  for (const samples of all) {
    for (const x of samples) {
      if (x.name === `${name}_bucket`) byLe.set(x.labels.le!, (byLe.get(x.labels.le!) ?? 0) + x.value);
      else if (x.name === `${name}_sum`) sum += x.value;
      else if (x.name === `${name}_count`) count += x.value;
    }
  }
  const les = [...byLe.keys()].filter((l) => l !== '+Inf').sort((a, b) => Number(a) - Number(b));
  const bounds = les.map(Number);
  const cum = [...les.map((l) => byLe.get(l)!), byLe.get('+Inf') ?? count];
  return {
    sum,
    count,
    mean: count > 0 ? sum / count : Number.NaN,
    q: (p: number) => quantileFromBuckets(bounds, cum, p),
  };
}

// ---------------------------------------------------------------- client

interface RequestResult {
  ok: boolean;
  ttftWallMs: number;
  tokens: number;
  e2eWallMs: number;
}

/** Counts SSE `data:` events in a chunk stream without parsing JSON (the client must stay cheap). */
async function streamCompletion(pool: Pool, body: string, signal: AbortSignal): Promise<RequestResult> {
  const t0 = performance.now();
  let first = -1;
  let events = 0;
  try {
    const res = await pool.request({
      path: '/v1/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { ok: false, ttftWallMs: 0, tokens: 0, e2eWallMs: 0 };
    }
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (first < 0) first = performance.now();
      for (let i = chunk.indexOf('data: '); i >= 0; i = chunk.indexOf('data: ', i + 6)) events++;
    }
    // events = tokens + [DONE]
    return {
      ok: true,
      ttftWallMs: first - t0,
      tokens: Math.max(0, events - 1),
      e2eWallMs: performance.now() - t0,
    };
  } catch {
    return { ok: false, ttftWallMs: 0, tokens: 0, e2eWallMs: 0 };
  }
}

interface Workload {
  /** Request i's body (deterministic in i). */
  body(i: number): string;
  requests: number;
  concurrencyPerReplica: number;
  /** Replicas share one global queue of requests (round-robin assignment, like a Service). */
  deadlineMs: number;
}

async function drive(urls: string[], w: Workload) {
  const pools = urls.map(
    (u) => new Pool(u, { connections: w.concurrencyPerReplica, keepAliveTimeout: 60_000 }),
  );
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal); // one listener per in-flight request
  const deadline = setTimeout(() => ctl.abort(), w.deadlineMs);
  const results: RequestResult[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async (replica: number) => {
    for (;;) {
      if (ctl.signal.aborted) return;
      const i = next++;
      if (i >= w.requests) return;
      results.push(await streamCompletion(pools[replica]!, w.body(i), ctl.signal));
    }
  };
  const workers: Promise<void>[] = [];
  for (let c = 0; c < w.concurrencyPerReplica; c++)
    for (let r = 0; r < urls.length; r++) workers.push(worker(r));
  await Promise.all(workers);
  const wallS = (performance.now() - t0) / 1000;
  clearTimeout(deadline);
  await Promise.all(pools.map((p) => p.close()));
  return { results, wallS, hitDeadline: ctl.signal.aborted };
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------- phase 1: load

interface LoadOptions {
  profile: string;
  replicas: number;
  concurrency: number;
  requests: number;
  inputLen: number;
  outputLen: number;
  timeScale: number;
  deadlineS: number;
}

async function loadPhase(o: LoadOptions) {
  const sim = await startSim([
    '--replicas',
    String(o.replicas),
    '--profile',
    o.profile,
    '--time-scale',
    String(o.timeScale),
    '--seed',
    '1',
  ]);
  try {
    const rng = new SeededRng('sim-fidelity-load');
    const prompts = Array.from({ length: 64 }, () => synthText(() => rng.next(), o.inputLen));
    const cpu0 = await sim.cpuSeconds();
    const run = await drive(sim.urls, {
      requests: o.requests,
      concurrencyPerReplica: o.concurrency,
      deadlineMs: o.deadlineS * 1000,
      body: (i) =>
        JSON.stringify({
          prompt: `${i}${prompts[i % prompts.length]}`,
          max_tokens: o.outputLen,
          ignore_eos: true,
          stream: true,
        }),
    });
    const cpu1 = await sim.cpuSeconds();
    const all = await Promise.all(sim.urls.map(scrapeSamples));
    const err = mergedHistogram(all, 'sim_token_emit_error_seconds');
    const firstErr = mergedHistogram(all, 'sim_first_token_emit_error_seconds');
    const step = mergedHistogram(all, 'sim_engine_step_seconds');
    const lag = all[0]!;
    const tokens = all.reduce((s, x) => s + sumOf(x, 'vllm:generation_tokens_total'), 0);
    const meanStepWallMs = step.mean * 1000 * o.timeScale;
    // Quantiles are interpolated within buckets: never report one above the observed maximum.
    const maxErr = maxOf(all.flat(), 'sim_token_emit_error_max_seconds');
    const ok = run.results.filter((r) => r.ok);
    const clientTokens = ok.reduce((s, r) => s + r.tokens, 0);
    const ttft = ok.map((r) => r.ttftWallMs).sort((a, b) => a - b);
    const engineTtft = mergedHistogram(all, 'vllm:time_to_first_token_seconds');
    return {
      config: { ...o, streams: o.replicas * o.concurrency },
      requests: {
        completed: ok.length,
        failed: run.results.length - ok.length,
        hitDeadline: run.hitDeadline,
      },
      wallSeconds: r2(run.wallS),
      tokens: { engine: tokens, client: clientTokens, perSecondWall: Math.round(clientTokens / run.wallS) },
      meanStepWallMs: r3(meanStepWallMs),
      emitErrorMs: {
        p50: r3(Math.min(err.q(0.5), maxErr) * 1000),
        p99: r3(Math.min(err.q(0.99), maxErr) * 1000),
        max: r3(maxErr * 1000),
        mean: r3(err.mean * 1000),
      },
      emitErrorPctOfStep: {
        p50: Math.round((Math.min(err.q(0.5), maxErr) * 1000 * 100) / meanStepWallMs),
        p99: Math.round((Math.min(err.q(0.99), maxErr) * 1000 * 100) / meanStepWallMs),
      },
      firstTokenErrorMs: { p50: r3(firstErr.q(0.5) * 1000), p99: r3(firstErr.q(0.99) * 1000) },
      eventLoopLagMs: {
        p50: r3(sumOf(lag, 'sim_event_loop_lag_seconds', { quantile: '0.5' }) * 1000),
        p99: r3(sumOf(lag, 'sim_event_loop_lag_seconds', { quantile: '0.99' }) * 1000),
        max: r3(maxOf(lag, 'sim_event_loop_lag_max_seconds') * 1000),
      },
      ttft: {
        engineMeanMs: r2(engineTtft.mean * 1000),
        clientMeanEngineEquivalentMs: r2(
          ttft.reduce((s, x) => s + x, 0) / Math.max(1, ttft.length) / o.timeScale,
        ),
        clientP50WallMs: r3(quantile(ttft, 0.5)),
      },
      fallingBehindWarnings: sim.warnings(),
      simCpuPercent: cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / run.wallS) * 100) : null,
    };
  } finally {
    await sim.stop();
  }
}

// ---------------------------------------------------------------- phase 2: seed-002 calibration

const SEED_002 = {
  source: 'seed 002 (ACK Gateway with AI Extension, QwQ-32B on 5 × 4×A10, vLLM 0.7.2, benchmark_serving.py)',
  meanTtftMs: [1796.93, 2456.44],
  medianTtftMs: [1366.07, 1470.97],
  meanTpotMs: [63.1, 63.5],
  medianItlMs: [55.37, 55.49],
  outputTokPerSec: [916.22, 926.53],
};

async function calibrationPhase(prompts: number, timeScale: number, deadlineS: number) {
  const sim = await startSim([
    '--replicas',
    '5',
    '--profile',
    'qwq-32b-4xa10-tp4',
    '--time-scale',
    String(timeScale),
    '--gpu-memory-utilization',
    '0.95',
    '--no-enable-prefix-caching',
    '--metrics-version',
    'v0',
    '--natural-output-len',
    '0',
    '--seed',
    '2',
  ]);
  try {
    // vLLM 0.7.2 random dataset: input ~ U[input×ratio, input], output ~ U[output×ratio, output],
    // plus a shared prefix of random tokens; --random-range-ratio 0.2.
    const rng = new SeededRng('seed-002');
    const prefix = synthText(() => rng.next(), 1000);
    const reqs = Array.from({ length: prompts }, () => ({
      input: randInt(rng, 800, 4000),
      output: randInt(rng, 600, 3000),
    }));
    const run = await drive(sim.urls, {
      requests: prompts,
      concurrencyPerReplica: 12, // 60 concurrent over 5 replicas, round-robin (Service routing)
      deadlineMs: deadlineS * 1000,
      body: (i) => {
        const r = reqs[i]!;
        const local = new SeededRng(i);
        return JSON.stringify({
          model: 'qwq-32b',
          prompt: prefix + synthText(() => local.next(), r.input),
          max_tokens: r.output,
          stream: true,
        });
      },
    });
    const all = await Promise.all(sim.urls.map(scrapeSamples));
    const ttft = mergedHistogram(all, 'vllm:time_to_first_token_seconds');
    const tpot = mergedHistogram(all, 'vllm:time_per_output_token_seconds');
    const gen = all.reduce((s, x) => s + sumOf(x, 'vllm:generation_tokens_total'), 0);
    const preempt = all.reduce((s, x) => s + sumOf(x, 'vllm:num_preemptions_total'), 0);
    const ok = run.results.filter((r) => r.ok);
    const engineSeconds = run.wallS / timeScale;
    // Client view, converted to engine time (includes the simulator's emission error).
    const clientTtft = ok.map((r) => r.ttftWallMs / timeScale).sort((a, b) => a - b);
    const clientTpot = ok
      .filter((r) => r.tokens > 1)
      .map((r) => (r.e2eWallMs - r.ttftWallMs) / timeScale / (r.tokens - 1));
    return {
      config: {
        prompts,
        completed: ok.length,
        timeScale,
        hitDeadline: run.hitDeadline,
        wallSeconds: r2(run.wallS),
      },
      document: SEED_002,
      simulator: {
        meanTtftMs: r2(ttft.mean * 1000),
        medianTtftMs: r2(ttft.q(0.5) * 1000),
        p99TtftMs: r2(ttft.q(0.99) * 1000),
        meanItlMs: r2(tpot.mean * 1000),
        outputTokPerSec: Math.round(gen / engineSeconds),
        preemptions: preempt,
      },
      client: {
        meanTtftMs: r2(clientTtft.reduce((a, b) => a + b, 0) / Math.max(1, clientTtft.length)),
        medianTtftMs: r2(quantile(clientTtft, 0.5)),
        p99TtftMs: r2(quantile(clientTtft, 0.99)),
        meanTpotMs: r2(clientTpot.reduce((a, b) => a + b, 0) / Math.max(1, clientTpot.length)),
      },
      notes:
        '"/metrics" columns are the replicas’ own engine-time histograms (the median and P99 are interpolated ' +
        'within vLLM’s buckets, 1–2.5–5–7.5 s, so they are coarse); the client view is wall time / time scale, ' +
        'so it includes the simulator’s emission error. Throughput = generated tokens / (wall duration / time scale). ' +
        'The run starts with 60 simultaneous prefills and ends with a draining tail; the document ran 3000 prompts, ' +
        'which dilutes both.',
    };
  } finally {
    await sim.stop();
  }
}

// ---------------------------------------------------------------- report

function markdown(res: Awaited<ReturnType<typeof run>>): string {
  const l = res.load;
  const c = res.calibration;
  const lines: string[] = [
    `Measured ${res.generatedAt} on ${res.machine.cpus} × ${res.machine.cpuModel}, Node ${res.machine.node} — ` +
      '**measured on a shared machine, to be rerun** on a quiet one (`npx tsx bench/sim-fidelity.ts`).',
    '',
  ];
  if (l) {
    lines.push(
      `**Load**: ${l.config.replicas} replicas × ${l.config.concurrency} concurrent streams, profile \`${l.config.profile}\`, ` +
        `time scale ${l.config.timeScale}, ${l.config.inputLen}-token prompts, ${l.config.outputLen} output tokens; ` +
        `${l.requests.completed} requests in ${l.wallSeconds} s wall${l.requests.hitDeadline ? ' (stopped at the deadline)' : ''}.`,
      '',
      '| measure | p50 | p99 | max |',
      '|---|---:|---:|---:|',
      `| token emission error (wall ms) | ${l.emitErrorMs.p50} | ${l.emitErrorMs.p99} | ${l.emitErrorMs.max} |`,
      `| … as % of a step's wall time (${l.meanStepWallMs} ms) | ${l.emitErrorPctOfStep.p50} % | ${l.emitErrorPctOfStep.p99} % | |`,
      `| first-token emission error (wall ms) | ${l.firstTokenErrorMs.p50} | ${l.firstTokenErrorMs.p99} | |`,
      `| event-loop lag (wall ms) | ${l.eventLoopLagMs.p50} | ${l.eventLoopLagMs.p99} | ${l.eventLoopLagMs.max} |`,
      '',
      `Achieved ${l.tokens.perSecondWall.toLocaleString('en-US')} tokens/s (wall) streamed to clients; simulator CPU ` +
        `${l.simCpuPercent ?? 'n/a'} % of one core; ${l.fallingBehindWarnings} "falling behind" warnings. ` +
        `Mean TTFT: engine ${l.ttft.engineMeanMs} ms, seen by clients ${l.ttft.clientMeanEngineEquivalentMs} ms (engine-equivalent).`,
      '',
    );
  }
  if (c) {
    lines.push(
      `**Calibration against seed 002** (qwq-32b-4xa10-tp4, 60 concurrent, ${c.config.completed} of ${c.config.prompts} prompts, time scale ${c.config.timeScale}, ${c.config.wallSeconds} s wall):`,
      '',
      '| | document (port 8080 / 8081) | simulator /metrics | simulator, client view |',
      '|---|---|---:|---:|',
      `| mean TTFT (ms) | ${c.document.meanTtftMs[1]} / ${c.document.meanTtftMs[0]} | ${c.simulator.meanTtftMs} | ${c.client.meanTtftMs} |`,
      `| median TTFT (ms) | ${c.document.medianTtftMs[0]} / ${c.document.medianTtftMs[1]} | ${c.simulator.medianTtftMs} | ${c.client.medianTtftMs} |`,
      `| P99 TTFT (ms) | 23509.43 / 8857.07 | ${c.simulator.p99TtftMs} | ${c.client.p99TtftMs} |`,
      `| mean TPOT (ms) | ${c.document.meanTpotMs[1]} / ${c.document.meanTpotMs[0]} | ${c.simulator.meanItlMs} (mean ITL) | ${c.client.meanTpotMs} |`,
      `| output throughput (tok/s) | ${c.document.outputTokPerSec[0]} / ${c.document.outputTokPerSec[1]} | ${c.simulator.outputTokPerSec} | |`,
      `| preemptions | – | ${c.simulator.preemptions} | |`,
      '',
      c.notes,
      '',
    );
  }
  return lines.join('\n');
}

async function run(opts: {
  quick: boolean;
  profile: string;
  calibrationPrompts: number;
  calibrationScale: number;
  skipCalibration: boolean;
  skipLoad: boolean;
}) {
  const load = opts.skipLoad
    ? null
    : await loadPhase({
        profile: opts.profile,
        replicas: 5,
        concurrency: 64,
        requests: opts.quick ? 640 : 1920,
        inputLen: 200,
        outputLen: opts.quick ? 64 : 200,
        timeScale: 0.01,
        deadlineS: opts.quick ? 30 : 120,
      });
  const calibration = opts.skipCalibration
    ? null
    : await calibrationPhase(
        opts.quick ? 120 : opts.calibrationPrompts,
        opts.calibrationScale,
        opts.quick ? 60 : 900,
      );
  return {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      shared: true,
    },
    note: 'measured on a shared machine, to be rerun',
    load,
    calibration,
  };
}

const cli = new Command('sim-fidelity')
  .option('--quick', 'smaller run (checks that the script works)')
  .option('--profile <name>', 'profile of the load phase', 'qwq-32b-4xa10-tp4')
  .option('--calibration-prompts <n>', 'prompts of the seed-002 calibration (the document ran 3000)', '600')
  .option('--calibration-scale <f>', 'time scale of the calibration (one the machine sustains)', '0.05')
  .option('--skip-calibration', 'run the load phase only')
  .option('--skip-load', 'run the calibration only')
  .option('--sim-node-arg <arg...>', 'extra Node flags for the simulator process, e.g. --cpu-prof')
  .option('--out <name>', 'results file name under bench/results/ (.json and .md)', 'sim-fidelity')
  .parse();
const flags = cli.opts<{
  quick?: boolean;
  profile: string;
  calibrationPrompts: string;
  calibrationScale: string;
  skipCalibration?: boolean;
  skipLoad?: boolean;
  simNodeArg?: string[];
  out: string;
}>();
simNodeArgs.push(...(flags.simNodeArg ?? []));
const res = await run({
  quick: flags.quick === true,
  profile: flags.profile,
  calibrationPrompts: Number(flags.calibrationPrompts),
  calibrationScale: Number(flags.calibrationScale),
  skipCalibration: flags.skipCalibration === true,
  skipLoad: flags.skipLoad === true,
});
await mkdir(RESULTS, { recursive: true });
await writeFile(`${RESULTS}${flags.out}.json`, `${JSON.stringify(res, null, 2)}\n`);
const md = markdown(res);
await writeFile(`${RESULTS}${flags.out}.md`, md);
process.stdout.write(`${md}\n`);
