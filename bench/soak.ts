/**
 * Soak benchmark (issue 12): a long run at a steady rate of streamed chat through `infergate serve`,
 * with the fleet failing the way production does:
 *
 *   load (open loop, --rate req/s) ──► infergate serve ──► InferencePool: --replicas `infergate sim`
 *                                            │              processes, one replica each; every
 *                                            │              --restart-every one of them (in turn) is
 *                                            │              SIGKILLed and restarted on the same port
 *                                            └─ RequestMirror ──► a Service that accepts and never answers
 *
 * Each request is classified by what its client saw:
 *   ok                  200 and the stream ends with `data: [DONE]`;
 *   cutOnKilledReplica  the stream was cut, its endpoint (x-infergate-endpoint, serve runs with
 *                       --debug-headers) is a replica killed while the request was open;
 *   failedAtKill        failed without an endpoint while a kill happened during the request (could
 *                       not be attributed to the killed replica: reported, not excused);
 *   lost                any other failure (the goal: 0). `lostAtKill` ⊂ `failedAtKill` is not
 *                       counted as lost; everything else is.
 * Every --sample-every the gateway's RSS (/proc/<pid>/status VmRSS) and open file descriptors
 * (/proc/<pid>/fd) are sampled with the load average. At the end the gateway gets SIGTERM (its exit
 * code is recorded) and its log (stderr) is searched for unhandled rejections / uncaught exceptions.
 *
 * Run (no bench lock: a low-rate long run; the machine is shared, say so with the uptime figures):
 *   timeout 40m npx tsx bench/soak.ts                      (30 min, writes bench/results/soak.{json,md})
 *   npx tsx bench/soak.ts --smoke                          (60 s, restart every 15 s; writes nothing)
 *   options: --duration 30m --rate 30 --restart-every 2m --sample-every 30s --replicas 2
 *            --max-tokens 64 --time-scale 1 --mirror-timeout 10s --write / --no-write
 * Linux only (/proc). The simulator runs at --time-scale (1 = its H100 timing preset in real time).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { podManifestsYaml } from '../src/sim/pods.js';
import { parseDuration } from '../src/util/duration.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const COMMAND = ['npx', 'tsx', 'bench/soak.ts', ...process.argv.slice(2)].join(' ');

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30m' },
    rate: { type: 'string', default: '30' },
    'restart-every': { type: 'string', default: '2m' },
    'sample-every': { type: 'string', default: '30s' },
    replicas: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '64' },
    'time-scale': { type: 'string', default: '1' },
    'mirror-timeout': { type: 'string', default: '10s' },
    smoke: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/soak' },
  },
});
const smoke = values.smoke === true;
const durationMs = ms(smoke ? '60s' : values.duration);
const restartEveryMs = ms(smoke ? '15s' : values['restart-every']);
const sampleEveryMs = ms(smoke ? '10s' : values['sample-every']);
const rate = Number(values.rate);
const replicas = Number(values.replicas);
const maxTokens = Number(values['max-tokens']);
const write = values.write === true || (!smoke && values['no-write'] !== true);
/** A request still open this long is given up (counted as failed). */
const REQUEST_TIMEOUT_MS = 30_000;

function ms(text: string): number {
  const v = parseDuration(text);
  if (v === undefined || v <= 0) throw new Error(`not a positive duration: ${text}`);
  return v;
}

interface Replica {
  index: number;
  port: number;
  proc: ChildProcess;
}

function node(args: string[], stderrFile: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', openSync(stderrFile, 'a')],
  });
}

/** Resolves with the first stdout line of `proc` matching `re`. */
function line(proc: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${buf}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = buf
        .split('\n')
        .map((l) => l.match(re))
        .find((x) => x !== null);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        resolve(m);
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`exited (${code}) before ${re}: ${buf}`)));
  });
}

async function startReplica(dir: string, index: number, port: number): Promise<Replica> {
  const proc = node(
    [
      'sim',
      '--port',
      String(port),
      '--time-scale',
      values['time-scale'],
      '--served-model-name',
      'soak-model',
      '--seed',
      String(index),
    ],
    join(dir, `sim-${index}.err`),
  );
  const m = await line(proc, /^replica 0 ready http:\/\/127\.0\.0\.1:(\d+)/);
  return { index, port: Number(m[1]), proc };
}

function manifests(replicaPorts: number[], mirrorPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: pool}
spec:
  targetPortNumber: 8000
  selector: {app: sim}
  extensionRef: {name: none}
---
apiVersion: v1
kind: Service
metadata: {name: hung-mirror}
spec:
  selector: {app: hung-mirror}
  ports: [{port: 8000, targetPort: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {group: inference.networking.x-k8s.io, kind: InferencePool, name: pool}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {kind: Service, name: hung-mirror, port: 8000}
---
${podManifestsYaml(
  replicaPorts.map((port, index) => ({ index, host: '127.0.0.1', port })),
  { labels: { app: 'sim' } },
)}---
${podManifestsYaml([{ index: 0, host: '127.0.0.1', port: mirrorPort }], { labels: { app: 'hung-mirror' }, namePrefix: 'hung' })}`;
}

interface Outcome {
  start: number;
  end: number;
  status: number;
  endpoint: string | undefined;
  done: boolean;
  error: string | undefined;
}

const agent = new Agent({ connections: 512, keepAliveTimeout: 4_000 });
const BODY = JSON.stringify({
  model: 'soak-model',
  messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse.' }],
  max_tokens: maxTokens,
  stream: true,
});

async function oneRequest(url: string): Promise<Outcome> {
  const start = Date.now();
  const o: Outcome = { start, end: start, status: 0, endpoint: undefined, done: false, error: undefined };
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: BODY,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    o.status = res.statusCode;
    const ep = res.headers['x-infergate-endpoint'];
    o.endpoint = typeof ep === 'string' ? ep : undefined;
    const text = await res.body.text();
    o.done = res.statusCode === 200 && /data: \[DONE\]\s*$/.test(text) && !text.includes('"error"');
    if (!o.done) o.error = text.slice(-300);
  } catch (err) {
    o.error = (err as Error).message;
  }
  o.end = Date.now();
  return o;
}

function procStatus(pid: number): { rssBytes: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? Number.NaN);
  return { rssBytes: kb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-soak-'));
  const uptimeBefore = uptime();
  console.log(`soak: ${durationMs / 1000}s at ${rate} req/s, restart every ${restartEveryMs / 1000}s`);
  console.log(`uptime before: ${uptimeBefore}`);

  // The hung mirror target: accepts connections, reads and never answers.
  const hungSockets = new Set<Socket>();
  const hung = createServer((s) => {
    hungSockets.add(s);
    s.on('data', () => undefined);
    s.on('close', () => hungSockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const hungPort = (hung.address() as { port: number }).port;

  const fleet: Replica[] = [];
  let gateway: ChildProcess | undefined;
  const gatewayLog = join(dir, 'serve.err');
  try {
    for (let i = 0; i < replicas; i++) fleet.push(await startReplica(dir, i, 0));
    const manifestFile = join(dir, 'soak.yaml');
    writeFileSync(
      manifestFile,
      manifests(
        fleet.map((r) => r.port),
        hungPort,
      ),
    );
    gateway = node(
      [
        'serve',
        '-f',
        manifestFile,
        '--host',
        '127.0.0.1',
        '--port-map',
        '8080=0',
        '--admin-port',
        '0',
        '--scheduler',
        'default',
        '--debug-headers',
        '--mirror-timeout',
        values['mirror-timeout'],
        '--access-log',
        join(dir, 'access.log'),
      ],
      gatewayLog,
    );
    const urlP = line(gateway, /^listener default\/gw\/http ready (http:\S+)$/);
    const adminP = line(gateway, /^admin ready (http:\S+)$/);
    const url = (await urlP)[1]!;
    const admin = (await adminP)[1]!;
    const pid = gateway.pid!;
    const gatewayExit = new Promise<number | string>((r) => gateway!.once('exit', (c, s) => r(c ?? s ?? -1)));

    const kills: { replica: number; endpoint: string; at: number; readyAt: number }[] = [];
    const samples: { t: number; rssBytes: number; fds: number; load1: number; mirrorDropped: number }[] = [];
    const sample = async (t0: number) => {
      const mirrors = (await (await fetch(`${admin}/admin/mirrors`)).json()) as {
        mirrors: { dropped?: number }[];
      };
      samples.push({
        t: Math.round((Date.now() - t0) / 1000),
        ...procStatus(pid),
        load1: loadavg()[0]!,
        mirrorDropped: mirrors.mirrors.reduce((s, m) => s + (m.dropped ?? 0), 0),
      });
      const last = samples.at(-1)!;
      console.log(
        `t=${last.t}s rss=${(last.rssBytes / 2 ** 20).toFixed(1)}MiB fds=${last.fds} load1=${last.load1.toFixed(2)} mirror dropped=${last.mirrorDropped}`,
      );
    };

    // Open loop: request i is due at t0 + i / rate.
    const t0 = Date.now();
    const total = Math.floor((rate * durationMs) / 1000);
    const outcomes: Promise<Outcome>[] = [];
    let nextRestart = t0 + restartEveryMs;
    let nextSample = t0;
    let victim = 0;
    let restarting: Promise<void> | undefined;
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const now = Date.now();
      if (due > now) await sleep(due - now);
      outcomes.push(oneRequest(url));
      if (Date.now() >= nextSample) {
        nextSample += sampleEveryMs;
        void sample(t0);
      }
      if (Date.now() >= nextRestart && restarting === undefined) {
        nextRestart += restartEveryMs;
        const r = fleet[victim]!;
        victim = (victim + 1) % fleet.length;
        restarting = (async () => {
          const exited = new Promise((x) => r.proc.once('exit', x));
          const at = Date.now();
          r.proc.kill('SIGKILL');
          await exited;
          const next = await startReplica(dir, r.index, r.port);
          fleet[r.index] = next;
          kills.push({ replica: r.index, endpoint: `127.0.0.1:${r.port}`, at, readyAt: Date.now() });
          console.log(
            `t=${Math.round((at - t0) / 1000)}s killed replica ${r.index}, back in ${Date.now() - at} ms`,
          );
        })().finally(() => {
          restarting = undefined;
        });
      }
    }
    await restarting;
    const results = await Promise.all(outcomes);
    await sample(t0);
    const elapsedS = (Date.now() - t0) / 1000;

    const overlapsKill = (o: Outcome, endpoint?: string) =>
      kills.some(
        (k) => o.start <= k.at && k.at <= o.end && (endpoint === undefined || k.endpoint === endpoint),
      );
    const counts = { sent: results.length, ok: 0, cutOnKilledReplica: 0, failedAtKill: 0, lost: 0 };
    const lostExamples: Outcome[] = [];
    const failedAtKillExamples: Outcome[] = [];
    for (const o of results) {
      if (o.done) counts.ok++;
      else if (o.endpoint !== undefined && overlapsKill(o, o.endpoint)) counts.cutOnKilledReplica++;
      else if (o.endpoint === undefined && overlapsKill(o)) {
        counts.failedAtKill++;
        if (failedAtKillExamples.length < 5) failedAtKillExamples.push(o);
      } else {
        counts.lost++;
        if (lostExamples.length < 10) lostExamples.push(o);
      }
    }
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    gateway.kill('SIGTERM');
    const exitCode = await Promise.race([gatewayExit, sleep(40_000).then(() => 'no exit within 40 s')]);
    const log = readFileSync(gatewayLog, 'utf8');
    const unhandled = log.split('\n').filter((l) => /unhandled|uncaught|UnhandledPromiseRejection/i.test(l));
    const uptimeAfter = uptime();
    console.log(`uptime after: ${uptimeAfter}`);

    const rss = samples.map((s) => s.rssBytes);
    const fds = samples.map((s) => s.fds);
    const summary = {
      command: COMMAND,
      date: new Date(t0).toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?' },
      shared: 'machine shared with other engineers; no bench lock (low-rate long run)',
      uptimeBefore,
      uptimeAfter,
      settings: {
        durationS: durationMs / 1000,
        elapsedS,
        rate,
        replicas,
        restartEveryS: restartEveryMs / 1000,
        maxTokens,
        timeScale: Number(values['time-scale']),
        mirrorTimeout: values['mirror-timeout'],
        gateway: 'tsx from src (node --import tsx src/cli/main.ts serve)',
      },
      counts,
      kills: kills.map((k) => ({ ...k, at: (k.at - t0) / 1000, readyAt: (k.readyAt - t0) / 1000 })),
      rss: { startMiB: mib(rss[0]!), endMiB: mib(rss.at(-1)!), maxMiB: mib(Math.max(...rss)) },
      fds: { start: fds[0]!, end: fds.at(-1)!, max: Math.max(...fds) },
      gatewayExit: exitCode,
      unhandledRejections: unhandled,
      streamErrors: metricLines(metrics, 'infergate_stream_errors_total'),
      upstreamAttempts: metricLines(metrics, 'infergate_upstream_attempts_total'),
      samples,
      lostExamples,
      failedAtKillExamples,
    };
    console.log(JSON.stringify({ counts, rss: summary.rss, fds: summary.fds, exitCode, unhandled }, null, 1));
    if (write) {
      writeFileSync(join(ROOT, `${values.out}.json`), `${JSON.stringify(summary, null, 1)}\n`);
      writeFileSync(join(ROOT, `${values.out}.md`), render(summary));
      console.log(`wrote ${values.out}.json and .md`);
    }
  } finally {
    gateway?.kill('SIGKILL');
    for (const r of fleet) r.proc.kill('SIGKILL');
    for (const s of hungSockets) s.destroy();
    hung.close();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function mib(b: number): number {
  return Math.round((b / 2 ** 20) * 10) / 10;
}

function metricLines(text: string, family: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${family}{`));
}

function render(s: {
  command: string;
  date: string;
  uptimeBefore: string;
  uptimeAfter: string;
  settings: Record<string, unknown>;
  counts: Record<string, number>;
  rss: Record<string, number>;
  fds: Record<string, number>;
  gatewayExit: number | string;
  unhandledRejections: string[];
  streamErrors: string[];
  samples: { t: number; rssBytes: number; fds: number; load1: number; mirrorDropped: number }[];
  kills: unknown[];
}): string {
  const c = s.counts;
  return `# Soak: ${s.settings.durationS} s of streamed chat through \`serve\`, replicas killed, a hung mirror

Command: \`${s.command}\` (script: bench/soak.ts), started ${s.date}.
The machine (2 cores) was **shared** with other engineers' jobs; the soak ran without the bench lock.
Load average — before: \`${s.uptimeBefore}\`; after: \`${s.uptimeAfter}\`; per sample in the table.

Settings: ${s.settings.rate} req/s open loop (streamed chat, max_tokens ${s.settings.maxTokens}), ${s.settings.replicas} \`infergate sim\`
replicas (simulator, time scale ${s.settings.timeScale}: the sim-default timing preset in real time), one SIGKILLed and
restarted on the same port every ${s.settings.restartEveryS} s (${s.kills.length} kills), every request mirrored to a Service
that accepts and never answers (\`--mirror-timeout ${s.settings.mirrorTimeout}\`). Gateway: ${s.settings.gateway}.

| outcome | requests |
|---|---|
| sent | ${c.sent} |
| ok (200, stream ends with [DONE]) | ${c.ok} |
| cut mid-stream on a replica killed while the request was open | ${c.cutOnKilledReplica} |
| failed without an endpoint while a kill happened (not attributed) | ${c.failedAtKill} |
| **lost** (any other failure; goal 0) | **${c.lost}** |

Gateway RSS: start ${s.rss.startMiB} MiB, end ${s.rss.endMiB} MiB, max ${s.rss.maxMiB} MiB.
Open file descriptors: start ${s.fds.start}, end ${s.fds.end}, max ${s.fds.max}.
Gateway exit after SIGTERM: ${s.gatewayExit}. Unhandled rejections / uncaught exceptions in its log: ${s.unhandledRejections.length}.
Stream errors by reason (gateway /metrics): ${s.streamErrors.map((l) => `\`${l}\``).join(', ') || 'none'}.

| t (s) | RSS (MiB) | fds | load1 | mirror copies dropped (cumulative) |
|---|---|---|---|---|
${s.samples.map((x) => `| ${x.t} | ${mib(x.rssBytes)} | ${x.fds} | ${x.load1.toFixed(2)} | ${x.mirrorDropped} |`).join('\n')}
`;
}

await main();
