/**
 * Endpoint-picker overhead benchmark: the same small non-streamed chat requests sent, side by side in
 * one run, on loopback, each party in its own process, through
 *
 *   direct     load generator ──► upstream
 *   serve      load generator ──► infergate serve (HTTPRoute → InferencePool) ──► upstream
 *   envoy      load generator ──► Envoy (HTTPRoute → Service, no picker) ──► upstream
 *   envoy+epp  load generator ──► Envoy ──ext_proc──► infergate epp; Envoy ──► upstream
 *
 * The upstream and the load generator are bench/gateway-overhead's (a minimal node:http server with
 * an idle vLLM metrics page; an undici load generator without coordinated omission). Envoy is the
 * one scripts/deps/20-envoy.sh installs, with the bootstrap `infergate envoy-config` writes, run with
 * `--concurrency 1` (one worker thread: the same single core a Node process gets).
 *
 * 1. Fixed rate (open loop, `--rate` req/s for `--rate-seconds` per arm): p50 / p99; added = arm −
 *    direct within each round, median over the rounds.
 * 2. Maximum request rate (closed loop, `--concurrency` requests back to back, `--closed-seconds`
 *    per arm): req/s, arm ÷ direct within each round, median over the rounds.
 * 3. Where the CPU goes: CPU seconds per request of every process during the closed-loop arms
 *    (/proc/<pid>/stat), and the picker's own scheduling time (infergate_scheduler_duration_seconds)
 *    against its whole CPU: the rest is gRPC/protobuf and the ext_proc state machine.
 * Arms rotate order from round to round. All processes share the machine's cores.
 *
 * Run (≈ 4 min; wrap it in the bench lock on a shared machine):
 *   npx tsx bench/epp-overhead.ts
 *   options: --rounds 3 --rate 200 --rate-seconds 10 --closed-seconds 5 --concurrency 32 --no-write
 *            --from build|src (default build: serve and epp run as tsc-built JavaScript)
 *            --response-bodies always|when-needed (envoy-config's flag; default always)
 *            --tag NAME (results file suffix, e.g. `before`: bench/results/epp-overhead-before.md)
 * Writes bench/results/epp-overhead.{json,md} (with --response-bodies when-needed:
 * bench/results/epp-overhead-when-needed.{json,md}).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parsePrometheusText, sumSamples } from '../src/scraping/promtext.js';
import { reservePort } from '../src/util/ports.js';
import type { LoadResult } from './gateway-overhead.load.js';
import { children, cpuSeconds, LoadGenerator, ROOT, start, upstreamPod } from './overhead-processes.js';

const BUILD_DIR = join(ROOT, '.bench-out/epp-overhead/dist');
/** The CLI the arms run: built JavaScript (as users run it), or the sources through tsx (`--from src`). */
let MAIN = join(ROOT, 'src/cli/main.ts');
const COMMAND = ['npx', 'tsx', 'bench/epp-overhead.ts', ...process.argv.slice(2)].join(' ');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    'rate-seconds': { type: 'string', default: '10' },
    'closed-seconds': { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
    from: { type: 'string', default: 'build' },
    'response-bodies': { type: 'string', default: 'always' },
    tag: { type: 'string' },
  },
});
const responseBodies = values['response-bodies'] === 'when-needed' ? 'when-needed' : 'always';
const RESULTS_BASE = join(
  ROOT,
  `bench/results/epp-overhead${responseBodies === 'always' ? '' : '-when-needed'}${values.tag ? `-${values.tag}` : ''}`,
);
const RESULTS_JSON = `${RESULTS_BASE}.json`;
const RESULTS_MD = `${RESULTS_BASE}.md`;
const from = values.from === 'src' ? 'src' : 'build';
const rounds = Number(values.rounds);
const rate = Number(values.rate);
const rateSeconds = Number(values['rate-seconds']);
const closedSeconds = Number(values['closed-seconds']);
const concurrency = Number(values.concurrency);

const ARMS = ['direct', 'serve', 'envoy', 'envoy+epp'] as const;
type Arm = (typeof ARMS)[number];

/** Listener 80: InferencePool (serve, envoy+epp); listener 81: the same upstream as a Service (envoy). */
function manifests(upstreamPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: infergate
  listeners:
  - {name: pool, port: 80, protocol: HTTP}
  - {name: svc, port: 81, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: pool, namespace: default}
spec:
  parentRefs: [{name: bench, sectionName: pool}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: upstream-pool}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: svc, namespace: default}
spec:
  parentRefs: [{name: bench, sectionName: svc}]
  rules:
  - backendRefs: [{name: upstream, port: 8000}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: upstream-pool, namespace: default}
spec:
  selector: {matchLabels: {app: upstream}}
  targetPorts: [{number: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: upstream, namespace: default}
spec:
  selector: {app: upstream}
  ports: [{port: 8000, targetPort: 8000}]
---
${upstreamPod(upstreamPort)}`;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return sumSamples(parsePrometheusText(text).families, name) ?? 0;
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function spread(xs: readonly number[]): [number, number] {
  const s = xs.filter((x) => Number.isFinite(x));
  return [Math.min(...s), Math.max(...s)];
}

interface RoundResult {
  round: number;
  order: Arm[];
  rate: Record<Arm, LoadResult>;
  closed: Record<Arm, LoadResult>;
  /** CPU seconds per request during each closed-loop arm, by process. */
  cpuPerRequestUs: Record<Arm, Record<string, number>>;
  /** The picker's scheduling time per request during the envoy+epp closed arm, µs. */
  eppSchedulingUs: number;
}

/** Compiles src/ into .bench-out/ (tsc), so that serve and epp run as built JavaScript. */
function build(): void {
  process.stderr.write('building into .bench-out/epp-overhead/dist …\n');
  rmSync(BUILD_DIR, { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      },
    );
  } catch (err) {
    if (!existsSync(join(BUILD_DIR, 'cli/main.js'))) throw err;
  }
  MAIN = join(BUILD_DIR, 'cli/main.js');
}

async function main(): Promise<void> {
  if (from === 'build') build();
  const envoyBin = join(
    process.env.INFERGATE_CACHE ?? join(homedir(), '.cache', 'infergate'),
    'bin',
    'envoy',
  );
  if (!existsSync(envoyBin)) throw new Error(`${envoyBin} is missing: run npm run test:deps`);
  const dir = mkdtempSync(join(tmpdir(), 'infergate-epp-bench-'));
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  try {
    const upstream = await start(['bench/gateway-overhead.upstream.ts'], /upstream ready (http:\S+)/);
    const upstreamUrl = upstream.match[1]!;
    const upstreamPort = Number(new URL(upstreamUrl).port);
    const files = join(dir, 'bench.yaml');
    writeFileSync(files, manifests(upstreamPort));
    const loadgen = new LoadGenerator(await start(['bench/gateway-overhead.load.ts'], /load ready/));

    const serve = await start(
      [
        MAIN,
        'serve',
        '-f',
        files,
        '--host',
        '127.0.0.1',
        '--port-map',
        '80=0,81=0',
        '--admin-port',
        '0',
        '--no-watch',
        '--access-log',
        join(dir, 'access.log'),
      ],
      /listener default\/bench\/pool ready (http:\S+)[\s\S]*admin ready (http:\S+)/,
    );
    const serveUrl = serve.match[1]!;
    const eppPort = await reservePort();
    const epp = await start(
      [
        MAIN,
        'epp',
        '-f',
        files,
        '--pool',
        'upstream-pool',
        '--host',
        '127.0.0.1',
        '--grpc-port',
        String(eppPort),
        '--health-port',
        '0',
        '--metrics-port',
        '0',
        '--response-bodies',
        responseBodies,
      ],
      /metrics ready (http:\S+)/,
      // Profiling aid: EPP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the picker.
      process.env.EPP_NODE_ARGS ? process.env.EPP_NODE_ARGS.split(' ') : [],
    );
    const eppMetrics = epp.match[1]!;
    const [poolPort, svcPort, adminPort] = [await reservePort(), await reservePort(), await reservePort()];
    const config = join(dir, 'envoy.yaml');
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'envoy-config',
        '-f',
        files,
        '--host',
        '127.0.0.1',
        '--port-map',
        `80=${poolPort},81=${svcPort}`,
        '--admin-port',
        String(adminPort),
        '--epp',
        `127.0.0.1:${eppPort}`,
        '--response-bodies',
        responseBodies,
        '-o',
        config,
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const envoyChild = spawn(
      envoyBin,
      ['-c', config, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'error'],
      {
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    children.add(envoyChild);
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error('envoy did not get ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const path = '/v1/chat/completions';
    const url: Record<Arm, string> = {
      direct: `${upstreamUrl}${path}`,
      serve: `${serveUrl}${path}`,
      envoy: `http://127.0.0.1:${svcPort}${path}`,
      'envoy+epp': `http://127.0.0.1:${poolPort}${path}`,
    };
    const pids: Record<string, number> = {
      loadgen: loadgen.proc.pid,
      upstream: upstream.pid,
      serve: serve.pid,
      envoy: envoyChild.pid!,
      epp: epp.pid,
    };
    // Warm-up: every arm, JIT and connections.
    for (const arm of ARMS) {
      const r = await loadgen.run({ url: url[arm], mode: 'closed', concurrency, seconds: 2 });
      if (r.ok === 0) throw new Error(`${arm}: no request succeeded in the warm-up (${r.errors} errors)`);
    }
    const results: RoundResult[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length]!);
      const rateRes = {} as Record<Arm, LoadResult>;
      const closedRes = {} as Record<Arm, LoadResult>;
      const cpu = {} as Record<Arm, Record<string, number>>;
      let eppSchedulingUs = Number.NaN;
      for (const arm of order) {
        rateRes[arm] = await loadgen.run({ url: url[arm], mode: 'rate', rate, seconds: rateSeconds });
      }
      for (const arm of order) {
        const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
        const schedBefore =
          arm === 'envoy+epp'
            ? [
                await metric(eppMetrics, 'infergate_scheduler_duration_seconds_sum'),
                await metric(eppMetrics, 'infergate_scheduler_duration_seconds_count'),
              ]
            : [0, 0];
        const r = await loadgen.run({ url: url[arm], mode: 'closed', concurrency, seconds: closedSeconds });
        closedRes[arm] = r;
        cpu[arm] = Object.fromEntries(
          Object.entries(pids).map(([k, pid]) => [
            k,
            round1(((cpuSeconds(pid) - before[k]!) / Math.max(1, r.ok)) * 1e6),
          ]),
        );
        if (arm === 'envoy+epp') {
          const sum =
            (await metric(eppMetrics, 'infergate_scheduler_duration_seconds_sum')) - schedBefore[0]!;
          const count =
            (await metric(eppMetrics, 'infergate_scheduler_duration_seconds_count')) - schedBefore[1]!;
          eppSchedulingUs = round1((sum / Math.max(1, count)) * 1e6);
        }
      }
      results.push({ round, order, rate: rateRes, closed: closedRes, cpuPerRequestUs: cpu, eppSchedulingUs });
      process.stderr.write(
        `round ${round + 1}/${rounds}: ${ARMS.map((a) => `${a} p99 ${closedRes[a] && rateRes[a].p99.toFixed(2)} ms, ${closedRes[a].rps.toFixed(0)} req/s`).join('; ')}\n`,
      );
    }
    const summary = summarize(results);
    const envoyStats = await envoyCounters(`http://127.0.0.1:${adminPort}`);
    const out = {
      command: COMMAND,
      startedAt,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        loadavgBefore: load0,
        loadavgAfter: loadavg(),
        shared: true,
      },
      settings: {
        rounds,
        rate,
        rateSeconds,
        closedSeconds,
        concurrency,
        envoyConcurrency: 1,
        from,
        responseBodies,
      },
      summary,
      envoyStats,
      rounds: results,
    };
    const md = renderMarkdown(out);
    process.stdout.write(`${md}\n`);
    if (!values['no-write']) {
      writeFileSync(RESULTS_JSON, `${JSON.stringify(out, null, 2)}\n`);
      writeFileSync(RESULTS_MD, md);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Envoy's counters that tell a latency- or concurrency-bound picker path from a CPU-bound one: the
 * ext_proc filter's stream and timeout counts, the picker and pool clusters' pending / overflow /
 * reset / HTTP/2 flood and protocol-error counts, health-check failures, circuit breakers open. Non-zero values only, read once at the end of the run.
 */
async function envoyCounters(adminUrl: string): Promise<Record<string, number>> {
  const filter =
    'ext_proc|upstream_rq_pending|overflow|flood|rq_timeout|_reset|cx_destroy|cx_protocol_error|http2\\.|health_check|circuit_breakers|rq_retry|upstream_rq_5xx|downstream_rq_5xx';
  const text = await fetch(`${adminUrl}/stats?filter=${encodeURIComponent(filter)}`).then(
    (r) => r.text(),
    () => '',
  );
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+): (\d+)$/.exec(line);
    if (m && Number(m[2]) > 0) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function summarize(rs: readonly RoundResult[]) {
  const arms = {} as Record<Arm, Record<string, unknown>>;
  for (const arm of ARMS) {
    const addedP50 = rs.map((r) => r.rate[arm].p50 - r.rate.direct.p50);
    const addedP99 = rs.map((r) => r.rate[arm].p99 - r.rate.direct.p99);
    const rps = rs.map((r) => r.closed[arm].rps);
    const ratio = rs.map((r) => r.closed[arm].rps / r.closed.direct.rps);
    const procs = Object.keys(rs[0]!.cpuPerRequestUs[arm]);
    arms[arm] = {
      p50Ms: round2(median(rs.map((r) => r.rate[arm].p50))),
      p99Ms: round2(median(rs.map((r) => r.rate[arm].p99))),
      addedP50Ms: round2(median(addedP50)),
      addedP99Ms: round2(median(addedP99)),
      addedP99SpreadMs: spread(addedP99).map(round2),
      errors: rs.reduce((s, r) => s + r.rate[arm].errors + r.closed[arm].errors, 0),
      maxRps: Math.round(median(rps)),
      maxRpsSpread: spread(rps).map(Math.round),
      ratioToDirect: round2(median(ratio)),
      ratioSpread: spread(ratio).map(round2),
      cpuPerRequestUs: Object.fromEntries(
        procs.map((p) => [p, round1(median(rs.map((r) => r.cpuPerRequestUs[arm][p]!)))]),
      ),
    };
  }
  return { arms, eppSchedulingUs: round1(median(rs.map((r) => r.eppSchedulingUs))) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function renderMarkdown(out: {
  command: string;
  startedAt: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  summary: ReturnType<typeof summarize>;
  envoyStats: Record<string, number>;
}): string {
  const s = out.summary;
  const lines = [
    '# Endpoint-picker overhead (bench/epp-overhead.ts)',
    '',
    `Run ${out.startedAt}: \`${out.command}\` — ${out.settings.rounds} rounds, arms rotated; medians over rounds, [min, max] spread.`,
    `Machine: ${String(out.machine.cpus)} cores (${String(out.machine.model)}), shared with other work (load average before ${(out.machine.loadavgBefore as number[]).map((x) => x.toFixed(1)).join(' ')}, after ${(out.machine.loadavgAfter as number[]).map((x) => x.toFixed(1)).join(' ')}).`,
    `Upstream: a minimal node:http server (not the simulator), small non-streamed chat requests; every process shares the same cores. Envoy 1.40 with one worker thread; serve and epp run as ${String(out.settings.from === 'build' ? 'built JavaScript' : 'sources through tsx')}; envoy-config --response-bodies ${String(out.settings.responseBodies)}.`,
    '',
    `| arm | p50 @ ${String(out.settings.rate)} req/s | p99 | added p50 | added p99 [spread] | max req/s [spread] | ÷ direct [spread] | errors |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const arm of ARMS) {
    const a = s.arms[arm] as Record<string, number & number[]>;
    lines.push(
      `| ${arm} | ${a.p50Ms} ms | ${a.p99Ms} ms | ${a.addedP50Ms} ms | ${a.addedP99Ms} ms [${(a.addedP99SpreadMs as unknown as number[]).join(', ')}] | ${a.maxRps} [${(a.maxRpsSpread as unknown as number[]).join(', ')}] | ${a.ratioToDirect} [${(a.ratioSpread as unknown as number[]).join(', ')}] | ${a.errors} |`,
    );
  }
  lines.push('', 'CPU per request during the closed-loop arms (µs, median over rounds):', '');
  const procs = Object.keys((s.arms.direct as { cpuPerRequestUs: Record<string, number> }).cpuPerRequestUs);
  lines.push(`| arm | ${procs.join(' | ')} |`, `|---|${procs.map(() => '---').join('|')}|`);
  for (const arm of ARMS) {
    const c = (s.arms[arm] as { cpuPerRequestUs: Record<string, number> }).cpuPerRequestUs;
    lines.push(`| ${arm} | ${procs.map((p) => c[p]).join(' | ')} |`);
  }
  lines.push(
    '',
    `The picker's scheduling (filters, scorers, picker: infergate_scheduler_duration_seconds) took ${s.eppSchedulingUs} µs per request of its CPU; the rest of the epp column is gRPC/HTTP2, protobuf and the ext_proc state machine.`,
    '',
    "Envoy's non-zero counters at the end of the run (ext_proc, pending / overflow, resets, 5xx, circuit breakers):",
    '',
    '```',
    ...Object.entries(out.envoyStats).map(([k, v]) => `${k}: ${v}`),
    '```',
    '',
  );
  return lines.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`epp-overhead: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
