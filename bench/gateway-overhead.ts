/**
 * Gateway overhead benchmark: what one `infergate serve` process adds to small non-streamed requests,
 * measured against a minimal fast upstream (not the simulator), gateway and direct in the same run,
 * on loopback, each party in its own process:
 *
 *   load generator ──► upstream                       (direct)
 *   load generator ──► infergate serve ──► upstream   (through the gateway: HTTPRoute → Service)
 *
 * 1. Fixed rate (open loop, 1,000 req/s): p50 / p99 latency direct and through the gateway, and the
 *    latency the gateway adds. Target: added p99 ≤ 2 ms.
 * 2. Maximum throughput (closed loop): req/s direct and through the gateway, and their ratio.
 *    Target: gateway ≥ 0.5 × direct.
 * Each measurement is repeated `--rounds` times, alternating direct and gateway; the median is kept.
 * For context the same is measured through the smallest possible Node.js proxy hop
 * (bench/gateway-overhead.reference.ts): what any extra Node.js process on the path costs here.
 *
 * Run:  npx tsx bench/gateway-overhead.ts [--duration 10] [--rounds 3] [--rate 1000] [--concurrency 32]
 *       npx tsx bench/gateway-overhead.ts --quick        (2 s, 1 round: checks that it works)
 *       npm run build && npx tsx bench/gateway-overhead.ts --dist   (the gateway from dist/, as
 *       installed; by default it runs from the sources through tsx, which costs a few percent more)
 * Writes bench/results/gateway-overhead.json and the results table in docs/gateway.md (between the
 * `gateway-overhead` markers). The gateway runs with its defaults plus `--access-log FILE` (the
 * access log is written, to a file rather than a terminal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench/results/gateway-overhead.json');
const DOC = join(ROOT, 'docs/gateway.md');
const BEGIN = '<!-- gateway-overhead:begin -->';
const END = '<!-- gateway-overhead:end -->';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    quick: { type: 'boolean', default: false },
    dist: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const duration = quick ? 2 : Number(values.duration);
const rounds = quick ? 1 : Number(values.rounds);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);

interface LoadResult {
  mode: string;
  sent: number;
  ok: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts a TypeScript entry point under tsx; resolves with the first stdout line matching `re`. */
function start(args: string[], re: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  // Built JavaScript runs as is; TypeScript sources through tsx.
  const loader = args[0]!.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, ...args], {
    cwd: ROOT,
    env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out starting ${args.join(' ')}\n${err}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${err}`));
    });
  });
}

/** Runs the load generator to completion and returns its result line. */
function load(url: string, args: string[]): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/gateway-overhead.load.ts', '--url', url, ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
    });
  });
}

function manifests(upstreamPort: number): string {
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
  - backendRefs: [{name: upstream, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: upstream, namespace: default}
spec:
  selector: {app: upstream}
  ports: [{port: 8000, targetPort: 8000}]
---
apiVersion: v1
kind: Pod
metadata: {name: upstream-0, namespace: default, labels: {app: upstream}}
spec:
  containers:
  - name: upstream
    image: bench
    ports: [{containerPort: 8000, hostPort: ${upstreamPort}}]
status:
  phase: Running
  podIP: 127.0.0.1
  hostIP: 127.0.0.1
  conditions: [{type: Ready, status: "True"}]
`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-overhead-'));
  const loadBefore = loadavg().map(r2);
  try {
    const up = await start(['bench/gateway-overhead.upstream.ts'], /upstream ready (http:\S+)/);
    const direct = `${up.match[1]}/v1/chat/completions`;
    writeFileSync(join(dir, 'bench.yaml'), manifests(Number(new URL(up.match[1]!).port)));
    const gw = await start(
      [
        values.dist === true ? 'dist/cli/main.js' : 'src/cli/main.ts',
        'serve',
        '-f',
        join(dir, 'bench.yaml'),
        '--host',
        '127.0.0.1',
        '--port-map',
        '80=0',
        '--admin-port',
        '0',
        '--no-watch',
        '--access-log',
        join(dir, 'access.log'),
      ],
      /listener default\/bench\/http ready (http:\S+)/,
    );
    const gateway = `${gw.match[1]}/v1/chat/completions`;
    const ref = await start(
      ['bench/gateway-overhead.reference.ts', up.match[1]!],
      /reference ready (http:\S+)/,
    );
    const reference = `${ref.match[1]}/v1/chat/completions`;

    const rateArgs = ['--mode', 'rate', '--rate', String(rate), '--duration', String(duration)];
    const closedArgs = [
      '--mode',
      'closed',
      '--concurrency',
      String(concurrency),
      '--duration',
      String(duration),
    ];
    process.stderr.write(`warming up (direct, gateway, reference; ${quick ? 1 : 3} s each)…\n`);
    const warm = ['--mode', 'rate', '--rate', '500', '--duration', quick ? '1' : '3'];
    await load(direct, warm);
    await load(gateway, warm);
    await load(reference, warm);

    const runs = {
      rateDirect: [] as LoadResult[],
      rateGateway: [] as LoadResult[],
      rateReference: [] as LoadResult[],
      maxDirect: [] as LoadResult[],
      maxGateway: [] as LoadResult[],
      maxReference: [] as LoadResult[],
    };
    for (let i = 0; i < rounds; i++) {
      process.stderr.write(
        `round ${i + 1}/${rounds}: ${rate} req/s, then closed loop (${concurrency}): direct, gateway, reference…\n`,
      );
      runs.rateDirect.push(await load(direct, rateArgs));
      runs.rateGateway.push(await load(gateway, rateArgs));
      runs.rateReference.push(await load(reference, rateArgs));
      runs.maxDirect.push(await load(direct, closedArgs));
      runs.maxGateway.push(await load(gateway, closedArgs));
      runs.maxReference.push(await load(reference, closedArgs));
    }
    up.child.kill('SIGTERM');
    gw.child.kill('SIGTERM');
    ref.child.kill('SIGTERM');

    const pick = (rs: LoadResult[], k: 'p50' | 'p99' | 'rps') => r2(median(rs.map((r) => r[k])));
    const errors = Object.values(runs)
      .flat()
      .reduce((n, r) => n + r.errors, 0);
    const fixed = {
      rate,
      direct: { p50Ms: pick(runs.rateDirect, 'p50'), p99Ms: pick(runs.rateDirect, 'p99') },
      gateway: { p50Ms: pick(runs.rateGateway, 'p50'), p99Ms: pick(runs.rateGateway, 'p99') },
      reference: { p50Ms: pick(runs.rateReference, 'p50'), p99Ms: pick(runs.rateReference, 'p99') },
      addedP50Ms: 0,
      addedP99Ms: 0,
    };
    fixed.addedP50Ms = r2(fixed.gateway.p50Ms - fixed.direct.p50Ms);
    fixed.addedP99Ms = r2(fixed.gateway.p99Ms - fixed.direct.p99Ms);
    const max = {
      concurrency,
      directRps: pick(runs.maxDirect, 'rps'),
      gatewayRps: pick(runs.maxGateway, 'rps'),
      referenceRps: pick(runs.maxReference, 'rps'),
      ratio: 0,
      referenceRatio: 0,
    };
    max.ratio = r2(max.gatewayRps / max.directRps);
    max.referenceRatio = r2(max.referenceRps / max.directRps);
    const cpu = cpus();
    const result = {
      benchmark: 'gateway-overhead',
      date: new Date().toISOString(),
      machine: {
        cpu: cpu[0]?.model ?? 'unknown',
        cores: cpu.length,
        memoryGiB: r2(totalmem() / 1024 ** 3),
        os: `${platform()} ${release()}`,
        node: process.version,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg().map(r2),
      },
      settings: {
        durationSeconds: duration,
        rounds,
        quick,
        gatewayFrom: values.dist === true ? 'dist/ (built)' : 'sources through tsx',
        requestBytes: 87,
        responseBytes: 246,
        route: 'HTTPRoute → Service (least-request)',
      },
      fixedRate: fixed,
      maxThroughput: max,
      errors,
      targets: {
        addedP99AtRateMs: { target: 2, value: fixed.addedP99Ms, met: fixed.addedP99Ms <= 2 },
        throughputRatio: { target: 0.5, value: max.ratio, met: max.ratio >= 0.5 },
      },
      runs,
    };
    if (values['no-write'] !== true) {
      writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
      updateDoc(result);
    }
    process.stdout.write(`${table(result)}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

type Result = {
  date: string;
  machine: { cpu: string; cores: number; node: string; os: string; loadAverageBefore: number[] };
  settings: { durationSeconds: number; rounds: number; quick: boolean; gatewayFrom: string };
  fixedRate: {
    rate: number;
    direct: { p50Ms: number; p99Ms: number };
    gateway: { p50Ms: number; p99Ms: number };
    reference: { p50Ms: number; p99Ms: number };
    addedP50Ms: number;
    addedP99Ms: number;
  };
  maxThroughput: {
    concurrency: number;
    directRps: number;
    gatewayRps: number;
    referenceRps: number;
    ratio: number;
    referenceRatio: number;
  };
  errors: number;
  targets: { addedP99AtRateMs: { met: boolean }; throughputRatio: { met: boolean } };
};

function table(r: Result): string {
  const f = r.fixedRate;
  const m = r.maxThroughput;
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  return [
    `| measurement | direct | through the gateway | added / ratio | target |`,
    `|---|---|---|---|---|`,
    `| p50 latency at ${f.rate} req/s | ${f.direct.p50Ms} ms | ${f.gateway.p50Ms} ms | +${f.addedP50Ms} ms | |`,
    `| p99 latency at ${f.rate} req/s | ${f.direct.p99Ms} ms | ${f.gateway.p99Ms} ms | +${f.addedP99Ms} ms | ≤ 2 ms: ${ok(r.targets.addedP99AtRateMs.met)} |`,
    `| max throughput (closed loop, ${m.concurrency} concurrent) | ${m.directRps} req/s | ${m.gatewayRps} req/s | ${m.ratio}× | ≥ 0.5×: ${ok(r.targets.throughputRatio.met)} |`,
    '',
    `Reference, the smallest Node.js proxy hop (node:http + undici, no routing, metrics or logs) in the same run: ` +
      `p50 ${f.reference.p50Ms} ms, p99 ${f.reference.p99Ms} ms at ${f.rate} req/s; ` +
      `${m.referenceRps} req/s closed loop (${m.referenceRatio}× direct).`,
    '',
    `Run ${r.date.slice(0, 10)} on ${r.machine.cpu} (${r.machine.cores} cores), ${r.machine.os}, Node ${r.machine.node}; ` +
      `${r.settings.rounds} round(s) of ${r.settings.durationSeconds} s, medians; load average before: ` +
      `${r.machine.loadAverageBefore.join(' / ')}; gateway run from ${r.settings.gatewayFrom}; ${r.errors} errors.` +
      (r.settings.quick ? ' **Quick run (smoke test only): rerun without --quick for numbers.**' : ''),
  ].join('\n');
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

main().catch((err: unknown) => {
  process.stderr.write(`gateway-overhead: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
