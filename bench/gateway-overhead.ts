/**
 * Gateway overhead benchmark: what one `infergate serve` process adds to small non-streamed requests,
 * against a minimal fast upstream (not the simulator), gateway and direct in the same run, on
 * loopback, each party in its own process:
 *
 *   load generator ──► upstream                                  direct
 *   load generator ──► infergate serve ──► upstream              gateway (HTTPRoute → Service)
 *   load generator ──► infergate serve ──► upstream              gatewayPool (a second gateway process:
 *                                                                  HTTPRoute → InferencePool, default
 *                                                                  scheduler; closed loop only)
 *   load generator ──► reference hop ──► upstream                reference (the smallest Node.js proxy)
 *
 * 1. Fixed rate (open loop, 1,000 req/s, `--rate-seconds` per arm): p50 / p99 / p99.9 of direct and
 *    gateway; added = gateway − direct within each round, median over the rounds. Target: added p99
 *    ≤ 2 ms. During each gateway arm the gateway's GC pauses and event-loop delay are read from its
 *    /metrics (prom-client's process metrics).
 * 2. Maximum throughput (closed loop, `--concurrency` requests back to back, `--closed-seconds` per
 *    arm): req/s of every arm, arm ÷ direct within each round (median over the rounds), and the CPU
 *    each process spent per request (user + system from /proc/<pid>/stat). Target: gateway ÷ direct
 *    ≥ 0.5, judged on the shared layout. Two layouts:
 *      shared  the OS schedules every process on every core (how anyone runs it);
 *      pinned  (taskset) gateway and reference arms: load generator + upstream on CPU 0, the hop on
 *              CPU 1; direct: load generator on CPU 0, upstream on CPU 1 — the hop gets a core of its
 *              own, as on a machine with enough cores. Skipped without Linux, taskset and 2 cores.
 * Arms rotate order from round to round; every round is kept in the results file.
 *
 * Run (one command, ≈ 4.5 min; builds the gateway into .bench-out/ first and runs the built JS):
 *   npx tsx bench/gateway-overhead.ts
 *   npx tsx bench/gateway-overhead.ts --quick     (≈ 40 s smoke run: prints, writes nothing unless --write)
 *   options: --rounds 3 --rate 1000 --rate-seconds 20 --closed-seconds 4 --concurrency 32
 *            --gateway-node-args '--cpu-prof --cpu-prof-dir=DIR' (node flags for the gateway processes)
 *            --layouts shared,pinned --parts rate,closed --from build|src --no-write
 *   --render: rewrite the docs table from bench/results/gateway-overhead.json without running
 * Writes bench/results/gateway-overhead.json and the results table in docs/gateway.md (between the
 * `gateway-overhead` markers). The gateway runs with its defaults plus `--access-log FILE` (the
 * access log is written, to a file rather than a terminal).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parsePrometheusText, sumSamples } from '../src/scraping/promtext.js';
import type { LoadResult } from './gateway-overhead.load.js';
import { children, cpuSeconds, LoadGenerator, ROOT, start, upstreamPod } from './overhead-processes.js';

const RESULTS = join(ROOT, 'bench/results/gateway-overhead.json');
const DOC = join(ROOT, 'docs/gateway.md');
const BUILD_DIR = join(ROOT, '.bench-out/gateway-overhead/dist');
const BEGIN = '<!-- gateway-overhead:begin -->';
const END = '<!-- gateway-overhead:end -->';
const COMMAND = ['npx', 'tsx', 'bench/gateway-overhead.ts', ...process.argv.slice(2)].join(' ');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    'rate-seconds': { type: 'string', default: '20' },
    'closed-seconds': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    layouts: { type: 'string', default: 'shared,pinned' },
    parts: { type: 'string', default: 'rate,closed' },
    from: { type: 'string', default: 'build' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'gateway-node-args': { type: 'string', default: '' },
    write: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const rounds = quick ? 1 : positive('rounds');
const rate = positive('rate');
const rateSeconds = quick ? 3 : positive('rate-seconds');
const closedSeconds = quick ? 2 : positive('closed-seconds');
const concurrency = positive('concurrency');
const parts = new Set(values.parts.split(','));
const from = values.from === 'src' ? 'src' : 'build';
/** Extra node flags for the gateway processes only, e.g. `--cpu-prof --cpu-prof-dir=DIR` (profiling). */
const gatewayNodeArgs = values['gateway-node-args'].split(' ').filter((a) => a.length > 0);

function positive(name: 'rounds' | 'rate' | 'rate-seconds' | 'closed-seconds' | 'concurrency'): number {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

type Arm = 'direct' | 'gateway' | 'gatewayPool' | 'reference';
type Layout = 'shared' | 'pinned';
/** Processes whose CPU is read: the load generator, the upstream, and the hop of the arm. */
type Proc = 'load' | 'upstream' | 'gateway' | 'reference';

/** CPU time a process spent per completed request during one run, µs. */
type CpuPerRequest = Partial<Record<Proc, number>>;

interface ArmRun extends LoadResult {
  arm: Arm;
  cpuUsPerRequest: CpuPerRequest;
}

interface GatewayRuntime {
  gcPauses: number;
  gcMajor: number;
  /** Pauses longer than 1 ms / 10 ms. */
  gcOver1ms: number;
  gcOver10ms: number;
  gcTotalMs: number;
  eventLoopDelayMaxMs: number;
  eventLoopDelayP99Ms: number;
}

// ---------------------------------------------------------------------------------------------
// CPU affinity (Linux)

const HAS_TASKSET = (() => {
  if (platform() !== 'linux') return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The CPUs this process may run on, as taskset's list, e.g. `0-1` (restored after the pinned layout). */
function ownCpuList(): string {
  const out = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  return out.slice(out.lastIndexOf(':') + 1).trim();
}

/** The CPU numbers of a taskset list (`0-3,6` → 0 1 2 3 6). */
function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/** Moves every thread of `pid` to `cpuList` (e.g. `0`, `0-1`). */
function pin(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-c', '-p', cpuList, String(pid)], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------------
// The gateway's runtime (GC, event loop) from its /metrics

async function gatewayRuntime(adminUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const { families } = parsePrometheusText(text);
  const p = 'infergate_process_nodejs_';
  const get = (name: string, match?: Record<string, string>) => sumSamples(families, name, match) ?? 0;
  return {
    gcCount: get(`${p}gc_duration_seconds_count`),
    gcMajor: get(`${p}gc_duration_seconds_count`, { kind: 'major' }),
    gcSum: get(`${p}gc_duration_seconds_sum`),
    gcLe1ms: get(`${p}gc_duration_seconds_bucket`, { le: '0.001' }),
    gcLe10ms: get(`${p}gc_duration_seconds_bucket`, { le: '0.01' }),
    // prom-client resets its event-loop histogram at every scrape: the values cover the last interval.
    loopMax: get(`${p}eventloop_lag_max_seconds`),
    loopP99: get(`${p}eventloop_lag_p99_seconds`),
  };
}

function runtimeDelta(a: Record<string, number>, b: Record<string, number>): GatewayRuntime {
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  return {
    gcPauses: d('gcCount'),
    gcMajor: d('gcMajor'),
    gcOver1ms: d('gcCount') - d('gcLe1ms'),
    gcOver10ms: d('gcCount') - d('gcLe10ms'),
    gcTotalMs: r2(d('gcSum') * 1000),
    eventLoopDelayMaxMs: r2((b.loopMax ?? 0) * 1000),
    eventLoopDelayP99Ms: r2((b.loopP99 ?? 0) * 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// Configuration served by the gateway

/**
 * What one gateway process serves: a Gateway with one listener whose HTTPRoute sends everything to
 * the upstream, as a Service (`service`) or as an InferencePool (`pool`). The two are separate
 * processes so that the pool's metrics scraping (every 50 ms) never runs during the Service arms.
 */
function manifests(upstreamPort: number, backend: 'service' | 'pool'): string {
  const ref =
    backend === 'service'
      ? '{name: upstream, port: 8000}'
      : '{group: inference.networking.k8s.io, kind: InferencePool, name: upstream-pool}';
  const target =
    backend === 'service'
      ? `apiVersion: v1
kind: Service
metadata: {name: upstream, namespace: default}
spec:
  selector: {app: upstream}
  ports: [{port: 8000, targetPort: 8000}]`
      : `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: upstream-pool, namespace: default}
spec:
  selector: {matchLabels: {app: upstream}}
  targetPorts: [{number: 8000}]`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: infergate
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench, namespace: default}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [${ref}]
---
${target}
---
${upstreamPod(upstreamPort)}`;
}

// ---------------------------------------------------------------------------------------------

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;
/** The arms of round `i`, rotated so that no arm always runs first. */
const rotate = <T>(xs: readonly T[], i: number): T[] => xs.map((_, k) => xs[(k + i) % xs.length]!);

function build(): string {
  process.stderr.write('building the gateway into .bench-out/gateway-overhead/dist …\n');
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 },
    );
    return 'built';
  } catch (err) {
    // tsc emits JavaScript even when some file of the tree does not type-check.
    if (!existsSync(join(BUILD_DIR, 'cli/main.js'))) throw err;
    const out = String((err as { stdout?: unknown }).stdout ?? '').split('\n');
    process.stderr.write(
      `warning: tsc reported type errors; running the JavaScript it emitted. First errors:\n${out.slice(0, 3).join('\n')}\n`,
    );
    return 'built with type errors reported';
  }
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map(r2);
  const buildNote = from === 'build' ? build() : 'sources through tsx';
  const gatewayEntry = from === 'build' ? join(BUILD_DIR, 'cli/main.js') : 'src/cli/main.ts';
  const dir = mkdtempSync(join(tmpdir(), 'infergate-overhead-'));
  const startedAt = performance.now();
  try {
    const up = await start(['bench/gateway-overhead.upstream.ts'], /upstream ready (http:\S+)/);
    const upstreamOrigin = up.match[1]!;
    const upstreamPort = Number(new URL(upstreamOrigin).port);
    /** `infergate serve` for one backend kind, with its defaults plus an access log file. */
    const startGateway = async (backend: 'service' | 'pool') => {
      const file = join(dir, `${backend}.yaml`);
      writeFileSync(file, manifests(upstreamPort, backend));
      const g = await start(
        [
          ...[gatewayEntry, 'serve', '-f', file, '--host', '127.0.0.1', '--port-map', '80=0'],
          ...['--admin-port', '0', '--no-watch', '--access-log', join(dir, `${backend}-access.log`)],
        ],
        /listener default\/bench\/http ready (http:\S+)\s+admin ready (http:\S+)/,
        gatewayNodeArgs,
      );
      return { proc: g, url: g.match[1]!, adminUrl: g.match[2]! };
    };
    const gw = await startGateway('service');
    const ref = await start(
      ['bench/gateway-overhead.reference.ts', upstreamOrigin],
      /reference ready (http:\S+)/,
    );
    const load = new LoadGenerator(await start(['bench/gateway-overhead.load.ts'], /load ready/));
    const path = '/v1/chat/completions';
    const urls: Partial<Record<Arm, string>> = {
      direct: upstreamOrigin + path,
      gateway: gw.url + path,
      reference: ref.match[1]! + path,
    };
    const hops: Partial<Record<Arm, [Proc, number]>> = {
      gateway: ['gateway', gw.proc.pid],
      reference: ['reference', ref.pid],
    };

    /** One load run against `arm`, with the CPU every process on its path spent per request. */
    const measure = async (
      arm: Arm,
      cmd: { mode: 'rate' | 'closed'; rate?: number; concurrency?: number; seconds: number },
    ): Promise<ArmRun> => {
      const pids: [Proc, number][] = [
        ['load', load.proc.pid],
        ['upstream', up.pid],
      ];
      const hop = hops[arm];
      if (hop !== undefined) pids.push(hop);
      const before = pids.map(([, pid]) => cpuSeconds(pid));
      const result = await load.run({ url: urls[arm]!, ...cmd });
      const cpu: CpuPerRequest = {};
      pids.forEach(([name, pid], i) => {
        const us = ((cpuSeconds(pid) - before[i]!) * 1e6) / Math.max(1, result.sent);
        if (!Number.isNaN(us)) cpu[name] = r1(us);
      });
      return { arm, ...result, cpuUsPerRequest: cpu };
    };

    const warmUp = async (arms: readonly Arm[]) => {
      for (const arm of arms) {
        await load.run({ url: urls[arm]!, mode: 'closed', concurrency, seconds: quick ? 1 : 2 });
      }
    };
    process.stderr.write('warming up …\n');
    await warmUp(['direct', 'gateway', 'reference']);

    // 1. Fixed rate, shared layout.
    const rateRounds: RateRound[] = [];
    if (parts.has('rate')) {
      for (let i = 0; i < rounds; i++) {
        process.stderr.write(
          `fixed rate ${rate} req/s, round ${i + 1}/${rounds} (${rateSeconds} s per arm)…\n`,
        );
        const round: Partial<RateRound> = {};
        for (const arm of rotate(['direct', 'gateway'] as const, i)) {
          if (arm === 'gateway') {
            const a = await gatewayRuntime(gw.adminUrl);
            round.gateway = await measure(arm, { mode: 'rate', rate, seconds: rateSeconds });
            round.gatewayRuntime = runtimeDelta(a, await gatewayRuntime(gw.adminUrl));
          } else round.direct = await measure(arm, { mode: 'rate', rate, seconds: rateSeconds });
        }
        rateRounds.push(round as RateRound);
      }
    }

    // 2. Closed loop, per layout. The pinned layout's two cores: the first two this process may use.
    const allCpus = HAS_TASKSET ? ownCpuList() : '';
    const usable = expandCpuList(allCpus);
    const canPin = usable.length >= 2;
    const [cpuA = 0, cpuB = 1] = usable;
    const layouts = values.layouts
      .split(',')
      .filter((l): l is Layout => l === 'shared' || (l === 'pinned' && canPin));
    if (values.layouts.includes('pinned') && !canPin) {
      process.stderr.write('pinned layout skipped: needs Linux, taskset and 2 usable cores\n');
    }
    const closedRounds: Partial<Record<Layout, ClosedRound[]>> = {};
    if (parts.has('closed')) {
      const gwPool = await startGateway('pool');
      urls.gatewayPool = gwPool.url + path;
      hops.gatewayPool = ['gateway', gwPool.proc.pid];
      await warmUp(['gatewayPool']);
      for (const layout of layouts) {
        const list: ClosedRound[] = [];
        closedRounds[layout] = list;
        for (let i = 0; i < rounds; i++) {
          process.stderr.write(
            `closed loop (${concurrency} concurrent), ${layout} layout, round ${i + 1}/${rounds} (${closedSeconds} s per arm)…\n`,
          );
          const round: Partial<Record<Arm, ArmRun>> = {};
          for (const arm of rotate(['direct', 'gateway', 'gatewayPool', 'reference'] as const, i)) {
            if (layout === 'pinned') {
              pin(load.proc.pid, String(cpuA));
              pin(up.pid, String(arm === 'direct' ? cpuB : cpuA));
              pin(gw.proc.pid, String(cpuB));
              pin(gwPool.proc.pid, String(cpuB));
              pin(ref.pid, String(cpuB));
            }
            round[arm] = await measure(arm, { mode: 'closed', concurrency, seconds: closedSeconds });
          }
          list.push(round as ClosedRound);
        }
        if (layout === 'pinned') {
          for (const p of [load.proc, up, gw.proc, gwPool.proc, ref]) pin(p.pid, allCpus);
        }
      }
    }
    load.proc.child.stdin!.end();
    for (const c of children) if (c !== load.proc.child) c.kill('SIGTERM');

    const result = summarize(rateRounds, closedRounds, {
      loadBefore,
      buildNote,
      seconds: Math.round((performance.now() - startedAt) / 1000),
    });
    // A smoke run does not replace the committed results unless asked to (--write).
    if (values['no-write'] !== true && (!quick || values.write === true)) {
      writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
      updateDoc(result);
    }
    process.stdout.write(`${table(result)}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Results: medians over rounds; comparisons are paired within a round (same minute, same noise)

type RateRound = { direct: ArmRun; gateway: ArmRun; gatewayRuntime: GatewayRuntime };
type ClosedRound = Record<Arm, ArmRun>;

function medianCpu(rs: readonly ArmRun[]): CpuPerRequest {
  const out: CpuPerRequest = {};
  for (const p of ['load', 'upstream', 'gateway', 'reference'] as const) {
    const xs = rs.map((r) => r.cpuUsPerRequest[p]).filter((x): x is number => x !== undefined);
    if (xs.length > 0) out[p] = r1(median(xs));
  }
  return out;
}

function summarizeRate(rs: readonly RateRound[]) {
  const q = (arm: 'direct' | 'gateway', k: 'p50' | 'p99' | 'p999') => r2(median(rs.map((r) => r[arm][k])));
  const added = (k: 'p50' | 'p99' | 'p999') => rs.map((r) => r2(r.gateway[k] - r.direct[k]));
  return {
    rate,
    secondsPerArm: rateSeconds,
    direct: { p50Ms: q('direct', 'p50'), p99Ms: q('direct', 'p99'), p999Ms: q('direct', 'p999') },
    gateway: { p50Ms: q('gateway', 'p50'), p99Ms: q('gateway', 'p99'), p999Ms: q('gateway', 'p999') },
    /** Median over rounds of (gateway − direct) within each round. */
    addedP50Ms: r2(median(added('p50'))),
    addedP99Ms: r2(median(added('p99'))),
    addedP999Ms: r2(median(added('p999'))),
    addedP99PerRoundMs: added('p99'),
    cpuUsPerRequest: {
      direct: medianCpu(rs.map((r) => r.direct)),
      gateway: medianCpu(rs.map((r) => r.gateway)),
    },
    gatewayRuntimePerRound: rs.map((r) => r.gatewayRuntime),
  };
}

function summarizeThroughput(rs: readonly ClosedRound[]) {
  const rps = (arm: Arm) => Math.round(median(rs.map((r) => r[arm].rps)));
  /** Median over rounds of (arm / direct) within each round. */
  const ratio = (arm: Arm) => r2(median(rs.map((r) => r[arm].rps / r.direct.rps)));
  return {
    directRps: rps('direct'),
    gatewayRps: rps('gateway'),
    gatewayPoolRps: rps('gatewayPool'),
    referenceRps: rps('reference'),
    ratio: ratio('gateway'),
    poolRatio: ratio('gatewayPool'),
    referenceRatio: ratio('reference'),
    ratioPerRound: rs.map((r) => r2(r.gateway.rps / r.direct.rps)),
    cpuUsPerRequest: {
      direct: medianCpu(rs.map((r) => r.direct)),
      gateway: medianCpu(rs.map((r) => r.gateway)),
      gatewayPool: medianCpu(rs.map((r) => r.gatewayPool)),
      reference: medianCpu(rs.map((r) => r.reference)),
    },
  };
}

type ThroughputSummary = ReturnType<typeof summarizeThroughput>;

function summarize(
  rateRounds: readonly RateRound[],
  closedRounds: Partial<Record<Layout, ClosedRound[]>>,
  run: { loadBefore: number[]; buildNote: string; seconds: number },
) {
  const cpu = cpus();
  const fixedRate = rateRounds.length > 0 ? summarizeRate(rateRounds) : undefined;
  const maxThroughput: Partial<Record<Layout, ThroughputSummary>> = {};
  for (const layout of ['shared', 'pinned'] as const) {
    const rs = closedRounds[layout];
    if (rs !== undefined && rs.length > 0) maxThroughput[layout] = summarizeThroughput(rs);
  }
  const shared = maxThroughput.shared;
  const all = [
    ...rateRounds.flatMap((r) => [r.direct, r.gateway]),
    ...Object.values(closedRounds).flatMap((rs) => rs.flatMap((r) => Object.values(r))),
  ];
  return {
    benchmark: 'gateway-overhead',
    date: new Date().toISOString(),
    command: COMMAND,
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGiB: r2(totalmem() / 1024 ** 3),
      os: `${platform()} ${release()}`,
      node: process.version,
      loadAverageBefore: run.loadBefore,
      loadAverageAfter: loadavg().map(r2),
    },
    settings: {
      rounds,
      quick,
      rateSecondsPerArm: rateSeconds,
      closedSecondsPerArm: closedSeconds,
      concurrency,
      gatewayFrom: run.buildNote,
      requestBytes: 87,
      responseBytes: 246,
      routes: {
        gateway: 'HTTPRoute → Service (least-request)',
        gatewayPool: 'HTTPRoute → InferencePool (default scheduler)',
      },
      wallSeconds: run.seconds,
    },
    fixedRate,
    maxThroughput: { concurrency, ...maxThroughput },
    errors: all.reduce((n, r) => n + r.errors, 0),
    targets: {
      addedP99AtRateMs: {
        target: 2,
        value: fixedRate?.addedP99Ms ?? null,
        met: fixedRate !== undefined && fixedRate.addedP99Ms <= 2,
        judgedOn: 'median over rounds of (gateway p99 − direct p99), shared layout, HTTPRoute → Service',
      },
      throughputRatio: {
        target: 0.5,
        value: shared?.ratio ?? null,
        met: shared !== undefined && shared.ratio >= 0.5,
        judgedOn: 'median over rounds of (gateway req/s ÷ direct req/s), shared layout, HTTPRoute → Service',
      },
    },
    rounds: { fixedRate: rateRounds, closedLoop: closedRounds },
  };
}

type Result = ReturnType<typeof summarize>;

const show = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : String(x));
const plus = (x: number) => (x >= 0 ? `+${x}` : String(x));

function table(r: Result): string {
  const out: string[] = [];
  const ok = (b: boolean) => (b ? 'met' : '**not met**');
  const f = r.fixedRate;
  if (f !== undefined) {
    const rt = f.gatewayRuntimePerRound;
    const c = f.cpuUsPerRequest.gateway;
    out.push(
      `**Added latency at ${f.rate} req/s** (open loop, ${f.secondsPerArm} s per arm, shared layout; latency from each request's due time; added = median over rounds of gateway − direct in the same round)`,
      '',
      '| | direct | through the gateway | added | target |',
      '|---|---|---|---|---|',
      `| p50 | ${f.direct.p50Ms} ms | ${f.gateway.p50Ms} ms | ${plus(f.addedP50Ms)} ms | |`,
      `| p99 | ${f.direct.p99Ms} ms | ${f.gateway.p99Ms} ms | ${plus(f.addedP99Ms)} ms (rounds: ${f.addedP99PerRoundMs.map(plus).join(', ')}) | ≤ 2 ms: ${ok(r.targets.addedP99AtRateMs.met)} |`,
      `| p99.9 | ${f.direct.p999Ms} ms | ${f.gateway.p999Ms} ms | ${plus(f.addedP999Ms)} ms | |`,
      '',
      `The gateway during those arms (per round): GC pauses ${rt.map((g) => `${g.gcPauses} (${g.gcOver1ms} > 1 ms, ${g.gcOver10ms} > 10 ms, ${g.gcTotalMs} ms in all)`).join('; ')}; ` +
        `longest event-loop delay ${rt.map((g) => `${g.eventLoopDelayMaxMs} ms`).join(', ')}. ` +
        `CPU per request: gateway ${show(c.gateway)} µs, upstream ${show(c.upstream)} µs, load generator ${show(c.load)} µs.`,
      '',
    );
  }
  const mt = r.maxThroughput;
  const layouts = (['shared', 'pinned'] as const).filter((l) => mt[l] !== undefined);
  if (layouts.length > 0) {
    out.push(
      `**Maximum throughput** (closed loop, ${mt.concurrency} concurrent, ${r.settings.closedSecondsPerArm} s per arm; ratio = median over rounds of arm ÷ direct in the same round)`,
      '',
      '| layout | direct | gateway → Service | ratio | gateway → InferencePool | ratio | reference hop | ratio | target ≥ 0.5× |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const l of layouts) {
      const s = mt[l]!;
      const verdict = l === 'shared' ? ok(r.targets.throughputRatio.met) : 'not judged here';
      out.push(
        `| ${l} | ${s.directRps} req/s | ${s.gatewayRps} req/s | ${s.ratio}× | ${s.gatewayPoolRps} req/s | ${s.poolRatio}× | ${s.referenceRps} req/s | ${s.referenceRatio}× | ${verdict} |`,
      );
    }
    out.push('');
    // The rounds themselves: a direct arm that moves a lot means the machine was busy.
    for (const l of layouts) {
      const rs = r.rounds.closedLoop[l] ?? [];
      out.push(
        `Rounds, ${l}: direct ${rs.map((x) => x.direct.rps).join(', ')} req/s; gateway ÷ direct ${mt[l]!.ratioPerRound.join(', ')}.`,
      );
    }
    out.push(
      '',
      'CPU time per request (µs; load generator / upstream / hop), same runs:',
      '',
      '| layout | direct | gateway → Service | gateway → InferencePool | reference hop |',
      '|---|---|---|---|---|',
    );
    for (const l of layouts) {
      const c = mt[l]!.cpuUsPerRequest;
      const cell = (x: CpuPerRequest) =>
        [x.load, x.upstream, x.gateway ?? x.reference].filter((v) => v !== undefined).join(' / ') || '–';
      out.push(
        `| ${l} | ${cell(c.direct)} | ${cell(c.gateway)} | ${cell(c.gatewayPool)} | ${cell(c.reference)} |`,
      );
    }
    out.push('');
  }
  out.push(
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.os}, Node ${r.machine.node}; ` +
      `${r.settings.rounds} round(s); load average before ${r.machine.loadAverageBefore.join(' / ')}, after ` +
      `${r.machine.loadAverageAfter.join(' / ')}; gateway ${r.settings.gatewayFrom}; ${r.errors} errors; ${r.settings.wallSeconds} s. ` +
      `Command: \`${r.command}\`.` +
      (r.settings.quick ? ' **Quick run (smoke test only): rerun without --quick for numbers.**' : ''),
  );
  return out.join('\n');
}

function updateDoc(r: Result): void {
  let doc: string;
  try {
    doc = readFileSync(DOC, 'utf8');
  } catch {
    return;
  }
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b < 0 || e < b) return;
  writeFileSync(DOC, `${doc.slice(0, b + BEGIN.length)}\n${table(r)}\n${doc.slice(e)}`);
}

/** `--render`: the docs table again from the results file (after a change of this table's format). */
function render(): void {
  const r = JSON.parse(readFileSync(RESULTS, 'utf8')) as Result;
  updateDoc(r);
  process.stdout.write(`${table(r)}\n`);
}

(values.render === true ? Promise.resolve().then(render) : main()).catch((err: unknown) => {
  process.stderr.write(`gateway-overhead: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
