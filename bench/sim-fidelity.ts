/**
 * Simulator fidelity benchmark. Run: `npx tsx bench/sim-fidelity.ts [--quick]` (one bounded
 * command, about two minutes; `--quick` checks that it works in about half a minute).
 *
 * Every run starts a fresh `infergate sim` child process (its own event loop); this process is
 * the client, and measures itself too (CPU per token, event-loop lag) to show it is not the
 * bottleneck.
 *
 * 1. load — the load: 5 replicas × 64 concurrent streaming clients at --time-scale 0.01
 *    (qwq-32b-4xa10-tp4, 200-token prompts and outputs, 1920 requests, bounded in wall time).
 * 2. sweep — the same load at other time scales (0.02, 0.05, 0.1) and in other simulator modes
 *    (one socket write per step: --write-interval-ms 0; --spin-wait), so users can pick a scale.
 * 3. calibration — seed 002's experiment on the qwq profile (5 replicas, 60 concurrent clients
 *    spread round-robin, prefix 1000 + input U[800, 4000] tokens, output U[600, 3000] as vLLM
 *    0.7.2's random dataset draws them; V0: no prefix caching, --gpu-memory-utilization 0.95, v0
 *    metrics), the engine's TTFT / TPOT / throughput next to the document's numbers.
 *
 * What is measured (docs/simulator.md, "Fidelity under load", defines it):
 * - token emission error = wall time a token was handed to its socket − wall time of its step's end
 *   in the engine's record; per token, in wall ms and engine-equivalent ms (÷ scale), first tokens
 *   separately; quantiles are interpolated within the sim's histogram buckets;
 * - stretch = (planned step time + stall) / planned: how much slower than its timing model the
 *   engine ran because the process could not keep up;
 * - the engine's own mean TTFT / ITL (/metrics) against what the clients measured;
 * - CPU µs per streamed token (simulator: its sim_process_cpu_seconds_total; client:
 *   process.cpuUsage), event-loop lag of both processes, tokens per socket write.
 *
 * Writes bench/results/<out>.json and .md (`--out`, default sim-fidelity; the .md is pasted into
 * docs/simulator.md). The document's full replication (3000 prompts, ~5 min at scale 0.05):
 *   npx tsx bench/sim-fidelity.ts --skip-load --skip-sweep --calibration-prompts 3000 --out sim-fidelity-seed002
 * Timings depend on the machine: rerun on a quiet one. To profile the simulator:
 *   npx tsx bench/sim-fidelity.ts --skip-sweep --skip-calibration --sim-node-arg=--cpu-prof --sim-node-arg=--cpu-prof-dir=/tmp/prof
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parsePrometheusText, type Sample } from '../src/scraping/promtext.js';
import { synthText } from '../src/sim/tokenizer.js';
import { quantileFromBuckets } from '../src/sim/vllm-page/histogram.js';
import { randInt, SeededRng } from '../src/util/rng.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

// ---------------------------------------------------------------- simulator child process

interface SimProcess {
  urls: string[];
  /** Time its main thread spent waiting for a CPU, ns (Linux; null elsewhere). */
  runQueueWaitNs: () => Promise<number | null>;
  /** "falling behind" warnings logged so far. */
  warnings: () => number;
  stop: () => Promise<void>;
}

/** Extra Node flags for the simulator process (e.g. --cpu-prof to profile it). */
const simNodeArgs: string[] = [];
/** Extra `infergate sim` flags for the load phases (e.g. --max-write-interval-ms 16). */
const simExtraArgs: string[] = [];

async function startSim(args: string[]): Promise<SimProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...simNodeArgs, '--import', 'tsx', MAIN, 'sim', '--port', '0', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  let warnings = 0;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
    warnings += d.split('simulator falling behind').length - 1;
  });
  const urls = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim did not start:\n${out}\n${err}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^sim ready \d+ replicas$/m.test(out)) {
        clearTimeout(timer);
        resolve([...out.matchAll(/^replica \d+ ready (\S+) /gm)].map((m) => m[1]!));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim exited (${code}):\n${out}\n${err}`));
    });
  });
  return {
    urls,
    runQueueWaitNs: () => runQueueWaitNs(child.pid),
    warnings: () => warnings,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Nanoseconds a process's main thread was runnable but waiting for a CPU (the second field of
 * /proc/<pid>/schedstat): how much other processes kept it from running. Linux only; null elsewhere.
 */
async function runQueueWaitNs(pid: number | undefined | 'self'): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    return Number((await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ')[1]);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- metrics

async function scrapeAll(urls: string[]): Promise<Sample[][]> {
  return Promise.all(
    urls.map(async (url) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out: Sample[] = [];
      for (const fam of parsePrometheusText(text).families.values()) out.push(...fam.samples);
      return out;
    }),
  );
}

/** Σ of a metric's samples over replicas (matching labels). */
function total(all: Sample[][], name: string, labels: Record<string, string> = {}): number {
  let s = 0;
  for (const samples of all) {
    for (const x of samples) {
      if (x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)) s += x.value;
    }
  }
  return s;
}

/** The first replica's value (process-wide metrics: CPU, event-loop lag, write interval). */
function first(all: Sample[][], name: string, labels: Record<string, string> = {}): number {
  const x = all[0]?.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return x?.value ?? Number.NaN;
}

function maxOver(all: Sample[][], name: string): number {
  let m = 0;
  for (const samples of all) for (const x of samples) if (x.name === name) m = Math.max(m, x.value);
  return m;
}

/** Histogram merged over replicas, as the difference `after − before` (before may be empty). */
function histogram(after: Sample[][], before: Sample[][] | null, name: string) {
  const byLe = new Map<string, number>();
  let sum = 0;
  let count = 0;
  const add = (all: Sample[][], sign: number) => {
    for (const samples of all) {
      for (const x of samples) {
        if (x.name === `${name}_bucket`)
          byLe.set(x.labels.le!, (byLe.get(x.labels.le!) ?? 0) + sign * x.value);
        else if (x.name === `${name}_sum`) sum += sign * x.value;
        else if (x.name === `${name}_count`) count += sign * x.value;
      }
    }
  };
  add(after, 1);
  if (before) add(before, -1);
  const les = [...byLe.keys()].filter((l) => l !== '+Inf').sort((a, b) => Number(a) - Number(b));
  const bounds = les.map(Number);
  const cum = [...les.map((l) => byLe.get(l)!), byLe.get('+Inf') ?? count];
  return {
    count,
    mean: count > 0 ? sum / count : Number.NaN,
    q: (p: number) => quantileFromBuckets(bounds, cum, p),
  };
}

// ---------------------------------------------------------------- client

interface RequestResult {
  ok: boolean;
  /**
   * Wall ms from sending to the response headers (the simulator sends them as soon as it has
   * parsed the request: what precedes the engine), to the first token, and to the end.
   */
  headersWallMs: number;
  ttftWallMs: number;
  /** The connection's first measured request: the opening burst, when every stream starts at once. */
  firstOnConnection: boolean;
  e2eWallMs: number;
  /** SSE events received minus [DONE]: tokens of a completion stream. */
  tokens: number;
}

const FAILED: RequestResult = {
  ok: false,
  headersWallMs: 0,
  ttftWallMs: 0,
  firstOnConnection: false,
  e2eWallMs: 0,
  tokens: 0,
};
const LF = 10;
const EVENT_END = Buffer.from('\n\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** The last chunk of a chunked body: the previous chunk's CRLF, size 0, empty trailer. */
const BODY_END = Buffer.from('\r\n0\r\n\r\n');

/**
 * One keep-alive HTTP/1.1 connection that streams completions, request after request. The
 * benchmark's client must cost far less than the simulator it measures: this one writes each
 * request as one string and reads the response without decoding it — it finds the header end,
 * counts SSE events by their blank-line terminators (chunk framing never contains LF LF) and
 * spots the terminating zero-size chunk. (undici's streaming API cost about 1.6× the CPU per
 * token on the same load; see docs/simulator.md.) Responses other than 200 close the connection.
 */
class StreamConnection {
  private readonly host: string;
  private readonly port: number;
  private socket: Socket | null = null;
  private resolve: ((r: RequestResult) => void) | null = null;
  private t0 = 0;
  private inBody = false;
  private head: Buffer | null = null;
  private status = 0;
  private headersAt = -1;
  private firstAt = -1;
  private events = 0;
  private endedWithLf = false;
  /** The last bytes read, to find BODY_END across reads. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(url: string) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  request(path: string, body: string): Promise<RequestResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.t0 = performance.now();
      this.inBody = false;
      this.head = null;
      this.status = 0;
      this.headersAt = -1;
      this.firstAt = -1;
      this.events = 0;
      this.endedWithLf = false;
      this.tail = Buffer.alloc(0);
      const sock = this.socket ?? this.connect();
      sock.write(
        `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Socket {
    const sock = createConnection({ host: this.host, port: this.port, noDelay: true });
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.socket === sock) this.socket = null;
      this.finish(false);
    });
    this.socket = sock;
    return sock;
  }

  private onData(d: Buffer): void {
    if (this.resolve === null) return;
    let body = d;
    if (!this.inBody) {
      const head = this.head ? Buffer.concat([this.head, d]) : d;
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        this.head = head;
        return;
      }
      this.status = Number(head.toString('latin1', 9, 12)); // "HTTP/1.1 200 OK"
      if (this.status !== 200) {
        this.finish(false);
        this.close();
        return;
      }
      this.inBody = true;
      this.headersAt = performance.now();
      body = head.subarray(end + HEAD_END.length);
      if (body.length === 0) return;
    }
    let n = 0;
    if (this.endedWithLf && body[0] === LF) n++;
    for (let i = body.indexOf(EVENT_END); i >= 0; i = body.indexOf(EVENT_END, i + 2)) n++;
    this.endedWithLf = body[body.length - 1] === LF;
    if (n > 0 && this.firstAt < 0) this.firstAt = performance.now();
    this.events += n;
    const last = body.length >= BODY_END.length ? body : Buffer.concat([this.tail, body]);
    if (last.length >= BODY_END.length && last.subarray(last.length - BODY_END.length).equals(BODY_END)) {
      this.finish(true);
    } else {
      this.tail = last.subarray(Math.max(0, last.length - BODY_END.length));
    }
  }

  private finish(complete: boolean): void {
    const resolve = this.resolve;
    if (resolve === null) return;
    this.resolve = null;
    if (!complete || this.firstAt < 0) {
      resolve(FAILED);
      return;
    }
    resolve({
      ok: true,
      headersWallMs: this.headersAt - this.t0,
      firstOnConnection: false, // set by the worker
      ttftWallMs: this.firstAt - this.t0,
      e2eWallMs: performance.now() - this.t0,
      tokens: Math.max(0, this.events - 1), // events: tokens + [DONE]
    });
  }
}

interface Workload {
  /** Request i's body (deterministic in i). */
  body(i: number): string;
  requests: number;
  concurrencyPerReplica: number;
  /** No new request after this; in-flight ones are cut 30 s later. */
  deadlineMs: number;
  /**
   * A short request each connection sends first, not measured: connections are open and the
   * simulator's code is compiled (V8 optimises hot paths after a while) before the load starts.
   * `onWarm` runs after the warm-up, before the measured load (e.g. to scrape a baseline).
   */
  warmup?: { body: string; onWarm: () => Promise<void> };
}

interface ClientStats {
  cpuMs: number;
  /** Wall ms the client's main thread waited for a CPU (null: not Linux). */
  runQueueWaitMs: number | null;
  lagMs: { p50: number; p99: number; max: number };
}

/** Sampling period of the client's event-loop delay monitor (ms); a sample is one period + the lag. */
const CLIENT_LAG_RESOLUTION_MS = 2;
const lagMs = (ns: number) => Math.max(0, ns / 1e6 - CLIENT_LAG_RESOLUTION_MS);

/** Closed loop: `concurrencyPerReplica` connections per replica share one queue of requests. */
async function drive(urls: string[], w: Workload) {
  const conns = urls.map((u) =>
    Array.from({ length: w.concurrencyPerReplica }, () => new StreamConnection(u)),
  );
  if (w.warmup) {
    const body = w.warmup.body;
    await Promise.all(conns.flat().map((c) => c.request('/v1/completions', body)));
    await w.warmup.onWarm();
  }
  const lag = monitorEventLoopDelay({ resolution: CLIENT_LAG_RESOLUTION_MS });
  lag.enable();
  const cpu0 = process.cpuUsage();
  const wait0 = await runQueueWaitNs('self');
  const t0 = performance.now();
  let hitDeadline = false;
  const deadline = setTimeout(() => {
    hitDeadline = true;
  }, w.deadlineMs);
  const cut = setTimeout(() => {
    for (const c of conns.flat()) c.close();
  }, w.deadlineMs + 30_000);
  const results: RequestResult[] = [];
  let next = 0;
  const worker = async (conn: StreamConnection) => {
    for (let first = true; ; first = false) {
      if (hitDeadline) return;
      const i = next++;
      if (i >= w.requests) return;
      const r = await conn.request('/v1/completions', w.body(i));
      results.push(first ? { ...r, firstOnConnection: true } : r);
    }
  };
  const workers: Promise<void>[] = [];
  for (let c = 0; c < w.concurrencyPerReplica; c++)
    for (const perReplica of conns) workers.push(worker(perReplica[c]!));
  await Promise.all(workers);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const wait1 = await runQueueWaitNs('self');
  lag.disable();
  clearTimeout(deadline);
  clearTimeout(cut);
  for (const c of conns.flat()) c.close();
  const client: ClientStats = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    runQueueWaitMs: wait0 !== null && wait1 !== null ? (wait1 - wait0) / 1e6 : null,
    lagMs: { p50: lagMs(lag.percentile(50)), p99: lagMs(lag.percentile(99)), max: lagMs(lag.max) },
  };
  return { results, wallS, hitDeadline, client };
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------- phases 1 and 2: load

interface LoadOptions {
  profile: string;
  replicas: number;
  concurrency: number;
  requests: number;
  inputLen: number;
  outputLen: number;
  timeScale: number;
  deadlineS: number;
  /** Simulator mode: adaptive write interval (default), one write per step, or spin-wait. */
  mode: 'adaptive' | 'write-every-step' | 'spin-wait';
}

const MODE_ARGS: Record<LoadOptions['mode'], string[]> = {
  adaptive: [],
  'write-every-step': ['--write-interval-ms', '0'],
  'spin-wait': ['--spin-wait'],
};

async function loadRun(o: LoadOptions) {
  const sim = await startSim([
    '--replicas',
    String(o.replicas),
    '--profile',
    o.profile,
    '--time-scale',
    String(o.timeScale),
    '--seed',
    '1',
    ...MODE_ARGS[o.mode],
    ...simExtraArgs,
  ]);
  try {
    const rng = new SeededRng('sim-fidelity-load');
    const prompts = Array.from({ length: 64 }, () => synthText(() => rng.next(), o.inputLen));
    let before: Sample[][] = [];
    let simWait0: number | null = null;
    const run = await drive(sim.urls, {
      requests: o.requests,
      concurrencyPerReplica: o.concurrency,
      deadlineMs: o.deadlineS * 1000,
      warmup: {
        body: JSON.stringify({ prompt: prompts[0], max_tokens: 16, ignore_eos: true, stream: true }),
        onWarm: async () => {
          before = await scrapeAll(sim.urls);
          simWait0 = await sim.runQueueWaitNs();
        },
      },
      body: (i) =>
        JSON.stringify({
          prompt: `${i}${prompts[i % prompts.length]}`,
          max_tokens: o.outputLen,
          ignore_eos: true,
          stream: true,
        }),
    });
    const simWait1 = await sim.runQueueWaitNs();
    const after = await scrapeAll(sim.urls);
    const scale = o.timeScale;
    const pctOfWall = (ms: number | null) => (ms === null ? null : Math.round((ms / 1000 / run.wallS) * 100));
    const delta = (name: string) => total(after, name) - total(before, name);
    const err = histogram(after, before, 'sim_token_emit_error_seconds');
    const firstErr = histogram(after, before, 'sim_first_token_emit_error_seconds');
    const step = histogram(after, before, 'sim_engine_step_seconds');
    const engineTtft = histogram(after, before, 'vllm:time_to_first_token_seconds');
    const engineItl = histogram(after, before, 'vllm:inter_token_latency_seconds');
    const ok = run.results.filter((r) => r.ok);
    const clientTokens = ok.reduce((s, r) => s + r.tokens, 0);
    const engineTokens = delta('vllm:generation_tokens_total');
    const simCpuMs =
      (first(after, 'sim_process_cpu_seconds_total') - first(before, 'sim_process_cpu_seconds_total')) * 1000;
    const busy = delta('sim_engine_busy_seconds_total');
    const stall = delta('sim_engine_stall_seconds_total');
    const writes = delta('sim_socket_writes_total');
    const meanStepWallMs = step.mean * 1000 * scale;
    // Quantiles are interpolated within buckets: never report one above the observed maximum.
    const maxErrMs = maxOver(after, 'sim_token_emit_error_max_seconds') * 1000;
    const errMs = (q: number) => Math.min(err.q(q) * 1000, maxErrMs);
    const firstErrMs = (q: number) => Math.min(firstErr.q(q) * 1000, maxErrMs);
    const engineTtftMs = engineTtft.mean * 1000;
    const clientTtftMs = mean(ok.map((r) => r.ttftWallMs)) / scale;
    const clientTpotMs = mean(
      ok.filter((r) => r.tokens > 1).map((r) => (r.e2eWallMs - r.ttftWallMs) / scale / (r.tokens - 1)),
    );
    const engineItlMs = engineItl.mean * 1000;
    const stretch = busy > 0 ? (busy + stall) / busy : 1;
    const simUsPerToken = (simCpuMs * 1000) / Math.max(1, engineTokens);
    const clientUsPerToken = (run.client.cpuMs * 1000) / Math.max(1, clientTokens);
    // Tokens per wall second the load asks for when the engines run on schedule (≈ achieved × stretch).
    const demand = (clientTokens / run.wallS) * stretch;
    return {
      config: { ...o, streams: o.replicas * o.concurrency },
      requests: {
        completed: ok.length,
        failed: run.results.length - ok.length,
        hitDeadline: run.hitDeadline,
      },
      wallSeconds: r2(run.wallS),
      tokens: {
        engine: engineTokens,
        client: clientTokens,
        perSecondWall: Math.round(clientTokens / run.wallS),
      },
      meanStepWallMs: r3(meanStepWallMs),
      emitErrorMs: {
        wall: { p50: r3(errMs(0.5)), p99: r3(errMs(0.99)), max: r3(maxErrMs), mean: r3(err.mean * 1000) },
        engineEquivalent: {
          p50: r2(errMs(0.5) / scale),
          p99: r2(errMs(0.99) / scale),
          max: r2(maxErrMs / scale),
        },
        pctOfMeanStep: {
          p50: Math.round((errMs(0.5) * 100) / meanStepWallMs),
          p99: Math.round((errMs(0.99) * 100) / meanStepWallMs),
        },
      },
      firstTokenErrorMs: {
        wall: { p50: r3(firstErrMs(0.5)), p99: r3(firstErrMs(0.99)), mean: r3(firstErr.mean * 1000) },
        engineEquivalent: { p50: r2(firstErrMs(0.5) / scale), p99: r2(firstErrMs(0.99) / scale) },
        pctOfMeanEngineTtft: {
          p50: r2((firstErrMs(0.5) / scale / engineTtftMs) * 100),
          p99: r2((firstErrMs(0.99) / scale / engineTtftMs) * 100),
        },
      },
      stretch: { factor: r3(stretch), stallEngineSeconds: r2(stall), busyEngineSeconds: r2(busy) },
      /** CPU the load needs at full speed (stretch 1), from the measured CPU per token. */
      demandAtFullSpeed: {
        tokensPerSecond: Math.round(demand),
        simulatorCores: r2((demand * simUsPerToken) / 1e6),
        clientCores: r2((demand * clientUsPerToken) / 1e6),
      },
      ttftMs: {
        engineMean: r2(engineTtftMs),
        clientMeanEngineEquivalent: r2(clientTtftMs),
        clientOverEngine: r3(clientTtftMs / engineTtftMs),
        /** Of the clients' TTFT, the part before the simulator answered with headers (request parsed). */
        clientToHeadersMeanEngineEquivalent: r2(mean(ok.map((r) => r.headersWallMs)) / scale),
        /** The same without each connection's first request (connecting, the opening burst). */
        clientToHeadersSteadyMeanEngineEquivalent: r2(
          mean(ok.filter((r) => !r.firstOnConnection).map((r) => r.headersWallMs)) / scale,
        ),
        clientP50Wall: r3(
          quantile(
            ok.map((r) => r.ttftWallMs).sort((a, b) => a - b),
            0.5,
          ),
        ),
      },
      tpotMs: {
        engineMeanItl: r2(engineItlMs),
        clientMeanEngineEquivalent: r2(clientTpotMs),
        clientOverEngine: r3(clientTpotMs / engineItlMs),
      },
      writes: {
        socketWrites: writes,
        tokensPerWrite: writes > 0 ? r2(engineTokens / writes) : null,
        writeIntervalMsAtEnd: r3(first(after, 'sim_write_interval_seconds') * 1000),
      },
      simulator: {
        cpuUsPerToken: r2(simUsPerToken),
        cpuPercentOfCore: Math.round((simCpuMs / 1000 / run.wallS) * 100),
        /** % of the wall time the simulator was ready to run but waited for a CPU (other processes). */
        runQueueWaitPercent: pctOfWall(
          simWait0 !== null && simWait1 !== null ? (simWait1 - simWait0) / 1e6 : null,
        ),
        eventLoopLagMs: {
          p50: r3(first(after, 'sim_event_loop_lag_seconds', { quantile: '0.5' }) * 1000),
          p99: r3(first(after, 'sim_event_loop_lag_seconds', { quantile: '0.99' }) * 1000),
          max: r3(first(after, 'sim_event_loop_lag_max_seconds') * 1000),
        },
        fallingBehindWarnings: sim.warnings(),
        /** Seconds (1-s monitor windows) the most affected replica was flagged as falling behind. */
        fallingBehindSeconds: maxOver(after, 'sim_falling_behind_seconds_total'),
      },
      client: {
        cpuUsPerToken: r2(clientUsPerToken),
        cpuPercentOfCore: Math.round((run.client.cpuMs / 1000 / run.wallS) * 100),
        runQueueWaitPercent: pctOfWall(run.client.runQueueWaitMs),
        eventLoopLagMs: {
          p50: r3(run.client.lagMs.p50),
          p99: r3(run.client.lagMs.p99),
          max: r3(run.client.lagMs.max),
        },
      },
    };
  } finally {
    await sim.stop();
  }
}

type LoadResult = Awaited<ReturnType<typeof loadRun>>;

// ---------------------------------------------------------------- phase 3: seed-002 calibration

const SEED_002 = {
  source: 'seed 002 (ACK Gateway with AI Extension, QwQ-32B on 5 × 4×A10, vLLM 0.7.2, benchmark_serving.py)',
  meanTtftMs: [1796.93, 2456.44],
  medianTtftMs: [1366.07, 1470.97],
  p99TtftMs: [8857.07, 23509.43],
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
    const all = await scrapeAll(sim.urls);
    const ttft = histogram(all, null, 'vllm:time_to_first_token_seconds');
    const tpot = histogram(all, null, 'vllm:time_per_output_token_seconds');
    const gen = total(all, 'vllm:generation_tokens_total');
    const preempt = total(all, 'vllm:num_preemptions_total');
    const busy = total(all, 'sim_engine_busy_seconds_total');
    const stall = total(all, 'sim_engine_stall_seconds_total');
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
        stretch: busy > 0 ? r3((busy + stall) / busy) : 1,
      },
      client: {
        meanTtftMs: r2(mean(clientTtft)),
        medianTtftMs: r2(quantile(clientTtft, 0.5)),
        p99TtftMs: r2(quantile(clientTtft, 0.99)),
        meanTpotMs: r2(mean(clientTpot)),
      },
      notes:
        '"/metrics" columns are the replicas’ own engine-time histograms (the median and P99 are interpolated ' +
        'within vLLM’s buckets, 1–2.5–5–7.5 s, so they are coarse); the client view is wall time / time scale. ' +
        'Throughput = generated tokens / (wall duration / time scale). ' +
        'The run starts with 60 simultaneous prefills and ends with a draining tail; the document ran 3000 prompts, ' +
        'which dilutes both.',
    };
  } finally {
    await sim.stop();
  }
}

// ---------------------------------------------------------------- report

function loadMarkdown(l: LoadResult): string[] {
  const e = l.emitErrorMs;
  const f = l.firstTokenErrorMs;
  const pct = (x: number) => `${x} %`;
  return [
    `**Load**: ${l.config.replicas} replicas × ${l.config.concurrency} concurrent streams, profile \`${l.config.profile}\`, ` +
      `time scale ${l.config.timeScale}, ${l.config.inputLen}-token prompts, ${l.config.outputLen} output tokens; ` +
      `${l.requests.completed} requests in ${l.wallSeconds} s wall${l.requests.hitDeadline ? ' (stopped at the deadline)' : ''}; ` +
      'adaptive write interval, no spin-wait (the defaults).',
    '',
    '| measure | p50 | p99 | max |',
    '|---|---:|---:|---:|',
    `| token emission error, wall ms | ${e.wall.p50} | ${e.wall.p99} | ${e.wall.max} |`,
    `| … engine-equivalent ms (÷ scale) | ${e.engineEquivalent.p50} | ${e.engineEquivalent.p99} | ${e.engineEquivalent.max} |`,
    `| … % of the mean step (${l.meanStepWallMs} ms wall) | ${pct(e.pctOfMeanStep.p50)} | ${pct(e.pctOfMeanStep.p99)} | |`,
    `| first-token emission error, wall ms | ${f.wall.p50} | ${f.wall.p99} | |`,
    `| … engine-equivalent ms | ${f.engineEquivalent.p50} | ${f.engineEquivalent.p99} | |`,
    `| … % of the mean engine TTFT (${l.ttftMs.engineMean} ms) | ${pct(f.pctOfMeanEngineTtft.p50)} | ${pct(f.pctOfMeanEngineTtft.p99)} | |`,
    `| event-loop lag, simulator, wall ms | ${l.simulator.eventLoopLagMs.p50} | ${l.simulator.eventLoopLagMs.p99} | ${l.simulator.eventLoopLagMs.max} |`,
    `| event-loop lag, client, wall ms | ${l.client.eventLoopLagMs.p50} | ${l.client.eventLoopLagMs.p99} | ${l.client.eventLoopLagMs.max} |`,
    '',
    `Engine stretch **${l.stretch.factor}×** (${l.stretch.stallEngineSeconds} engine s of stall on ${l.stretch.busyEngineSeconds} s of planned steps, over 5 replicas). ` +
      `Mean TTFT: engine ${l.ttftMs.engineMean} ms, clients ${l.ttftMs.clientMeanEngineEquivalent} ms engine-equivalent (×${l.ttftMs.clientOverEngine}); ` +
      `mean TPOT: engine ITL ${l.tpotMs.engineMeanItl} ms, clients ${l.tpotMs.clientMeanEngineEquivalent} ms (×${l.tpotMs.clientOverEngine}). ` +
      `${l.tokens.perSecondWall.toLocaleString('en-US')} tokens/s streamed; ${l.writes.tokensPerWrite} tokens per socket write ` +
      `(write interval ${l.writes.writeIntervalMsAtEnd} ms at the end). Simulator: ${l.simulator.cpuUsPerToken} CPU µs per token, ` +
      `${l.simulator.cpuPercentOfCore} % of a core, waited for a CPU ${l.simulator.runQueueWaitPercent ?? 'n/a'} % of the time, ` +
      `falling behind during ${l.simulator.fallingBehindSeconds} s ` +
      `(${l.simulator.fallingBehindWarnings} warnings, at most one per 10 s). ` +
      `Client (separate process): ${l.client.cpuUsPerToken} CPU µs per token, ${l.client.cpuPercentOfCore} % of a core, ` +
      `waited for a CPU ${l.client.runQueueWaitPercent ?? 'n/a'} % of the time. ` +
      `At full speed this load asks for ≈ ${l.demandAtFullSpeed.tokensPerSecond.toLocaleString('en-US')} tokens/s: ` +
      `≈ ${l.demandAtFullSpeed.simulatorCores} cores of simulator and ${l.demandAtFullSpeed.clientCores} of client at these costs.`,
    '',
  ];
}

function sweepMarkdown(rows: LoadResult[]): string[] {
  const lines = [
    '**Time scales and modes** (same load; "×" columns are client ÷ engine means, 1 = the clients see what /metrics says):',
    '',
    '| scale | mode | stretch | first-token error p99, wall ms (% of TTFT) | token error p99, wall ms (engine ms) | TTFT × | TPOT × | tokens/write | sim µs/token | sim CPU (waited) | client µs/token | client CPU (waited) | behind (s) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const l of rows) {
    lines.push(
      `| ${l.config.timeScale} | ${l.config.mode} | ${l.stretch.factor} | ${l.firstTokenErrorMs.wall.p99} (${l.firstTokenErrorMs.pctOfMeanEngineTtft.p99} %) | ` +
        `${l.emitErrorMs.wall.p99} (${l.emitErrorMs.engineEquivalent.p99}) | ${l.ttftMs.clientOverEngine} | ${l.tpotMs.clientOverEngine} | ` +
        `${l.writes.tokensPerWrite} | ${l.simulator.cpuUsPerToken} | ${l.simulator.cpuPercentOfCore} % (${l.simulator.runQueueWaitPercent ?? '–'} %) | ` +
        `${l.client.cpuUsPerToken} | ${l.client.cpuPercentOfCore} % (${l.client.runQueueWaitPercent ?? '–'} %) | ` +
        `${l.simulator.fallingBehindSeconds} of ${Math.ceil(l.wallSeconds)} |`,
    );
  }
  lines.push('');
  return lines;
}

function markdown(res: Awaited<ReturnType<typeof run>>): string {
  const lines: string[] = [
    `Measured ${res.generatedAt} on ${res.machine.cpus} × ${res.machine.cpuModel}, Node ${res.machine.node}, ` +
      `load average at start ${res.machine.loadAverage.join(' / ')} (anything else running raises every error; ` +
      'rerun with `npx tsx bench/sim-fidelity.ts`).',
    '',
  ];
  if (res.load) lines.push(...loadMarkdown(res.load));
  if (res.sweep.length > 0) lines.push(...sweepMarkdown(res.load ? [res.load, ...res.sweep] : res.sweep));
  const c = res.calibration;
  if (c) {
    lines.push(
      `**Calibration against seed 002** (qwq-32b-4xa10-tp4, 60 concurrent, ${c.config.completed} of ${c.config.prompts} prompts, ` +
        `time scale ${c.config.timeScale}, ${c.config.wallSeconds} s wall, stretch ${c.simulator.stretch}×):`,
      '',
      '| | document (port 8080 / 8081) | simulator /metrics | simulator, client view |',
      '|---|---|---:|---:|',
      `| mean TTFT (ms) | ${c.document.meanTtftMs[1]} / ${c.document.meanTtftMs[0]} | ${c.simulator.meanTtftMs} | ${c.client.meanTtftMs} |`,
      `| median TTFT (ms) | ${c.document.medianTtftMs[0]} / ${c.document.medianTtftMs[1]} | ${c.simulator.medianTtftMs} | ${c.client.medianTtftMs} |`,
      `| P99 TTFT (ms) | ${c.document.p99TtftMs[1]} / ${c.document.p99TtftMs[0]} | ${c.simulator.p99TtftMs} | ${c.client.p99TtftMs} |`,
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

interface RunOptions {
  quick: boolean;
  profile: string;
  calibrationPrompts: number;
  calibrationScale: number;
  skipLoad: boolean;
  skipSweep: boolean;
  skipCalibration: boolean;
}

async function run(opts: RunOptions) {
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const base: LoadOptions = {
    profile: opts.profile,
    replicas: 5,
    concurrency: 64,
    requests: opts.quick ? 640 : 1920,
    inputLen: 200,
    outputLen: opts.quick ? 64 : 200,
    timeScale: 0.01,
    deadlineS: opts.quick ? 30 : 120,
    mode: 'adaptive',
  };
  const load = opts.skipLoad ? null : await loadRun(base);
  const variants: Partial<LoadOptions>[] = opts.quick
    ? [{ mode: 'write-every-step' }, { timeScale: 0.05 }]
    : [
        { mode: 'write-every-step' },
        { mode: 'spin-wait' },
        { timeScale: 0.02 },
        { timeScale: 0.05 },
        { timeScale: 0.1 },
      ];
  const sweep: LoadResult[] = [];
  if (!opts.skipSweep) for (const v of variants) sweep.push(await loadRun({ ...base, ...v }));
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
      loadAverage: loadAtStart,
    },
    load,
    sweep,
    calibration,
  };
}

const cli = new Command('sim-fidelity')
  .option('--quick', 'smaller run (checks that the script works)')
  .option('--profile <name>', 'profile of the load phases', 'qwq-32b-4xa10-tp4')
  .option('--calibration-prompts <n>', 'prompts of the seed-002 calibration (the document ran 3000)', '600')
  .option('--calibration-scale <f>', 'time scale of the calibration (one the machine sustains)', '0.05')
  .option('--skip-load', 'skip the load phase (scale 0.01)')
  .option('--skip-sweep', 'skip the other time scales and modes')
  .option('--skip-calibration', 'skip the seed-002 calibration')
  .option('--sim-node-arg <arg...>', 'extra Node flags for the simulator process, e.g. --cpu-prof')
  .option('--sim-arg <arg...>', 'extra infergate sim flags for the load phases, e.g. --sim-arg=--spin-wait')
  .option('--out <name>', 'results file name under bench/results/ (.json and .md)', 'sim-fidelity')
  .parse();
const flags = cli.opts<{
  quick?: boolean;
  profile: string;
  calibrationPrompts: string;
  calibrationScale: string;
  skipLoad?: boolean;
  skipSweep?: boolean;
  skipCalibration?: boolean;
  simNodeArg?: string[];
  simArg?: string[];
  out: string;
}>();
simNodeArgs.push(...(flags.simNodeArg ?? []));
simExtraArgs.push(...(flags.simArg ?? []));
const res = await run({
  quick: flags.quick === true,
  profile: flags.profile,
  calibrationPrompts: Number(flags.calibrationPrompts),
  calibrationScale: Number(flags.calibrationScale),
  skipLoad: flags.skipLoad === true,
  skipSweep: flags.skipSweep === true,
  skipCalibration: flags.skipCalibration === true,
});
await mkdir(RESULTS, { recursive: true });
await writeFile(`${RESULTS}${flags.out}.json`, `${JSON.stringify(res, null, 2)}\n`);
const md = markdown(res);
await writeFile(`${RESULTS}${flags.out}.md`, md);
process.stdout.write(`${md}\n`);
