/**
 * Simultaneous cold prompts at several gateways: how often two gateway replicas put a long cold
 * prefill on the same replica while others idle, because each decided before the other's load could
 * reach it. Issue 14's three-gateway runs saw this once in ~500 requests; this benchmark makes it the
 * whole workload so the rate can be measured.
 *
 *   npx tsx bench/simultaneous-cold.ts [--seeds 1,2,3] [--rounds 40] [--gateways 3] [--tokens 6000]
 *        [--targets no-peers,peers-no-settle,peers] [--extra "--flag value"] [--out DIR]
 *
 * Per seed and target: a fresh simulator (5 replicas, time scale 1), `--gateways` fresh `serve`
 * processes with the default scheduler: `no-peers` (each counts only its own requests),
 * `peers-no-settle` (sharing their load over --peer-listen/--peer, `--peer-settle 0`), `peers`
 * (sharing, with the default settle window); `--extra` flags go to every gateway.
 * Each round sends one distinct prompt of ≈ `--tokens` tokens (nothing of it cached anywhere) to
 * every gateway at the same instant, waits for all answers (4 output tokens), pauses 300 ms, and
 * records which replica each gateway chose (`--debug-headers`). A round is a collision when two of
 * its prompts went to one replica; with 5 replicas and 3 gateways there is always an idle one.
 * Latencies are wall time = simulated time (time scale 1). Writes <out>/simultaneous-cold.json and .md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ChildCli, peerLoadArgs } from '../src/bench/scenarios/processes.js';
import { reservePort } from '../src/util/ports.js';
import { SeededRng } from '../src/util/rng.js';

interface Args {
  seeds: number[];
  rounds: number;
  gateways: number;
  tokens: number;
  targets: string[];
  extra: string[];
  out: string;
}

const USAGE =
  'usage: npx tsx bench/simultaneous-cold.ts [--seeds 1,2,3] [--rounds 40] [--gateways 3] [--tokens 6000] [--targets no-peers,peers-no-settle,peers] [--extra "--flag value"] [--out DIR]';

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seeds: [1, 2, 3],
    rounds: 40,
    gateways: 3,
    tokens: 6000,
    targets: ['no-peers', 'peers-no-settle', 'peers'],
    extra: [],
    out: fileURLToPath(new URL('./results/simultaneous-cold/', import.meta.url)),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--seeds') a.seeds = value().split(',').map(Number);
    else if (flag === '--rounds') a.rounds = Number(value());
    else if (flag === '--gateways') a.gateways = Number(value());
    else if (flag === '--tokens') a.tokens = Number(value());
    else if (flag === '--targets') a.targets = value().split(',');
    else if (flag === '--extra') a.extra = value().split(' ').filter(Boolean);
    else if (flag === '--out') a.out = resolve(value());
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return a;
}

const MANIFESTS = `apiVersion: gateway.networking.k8s.io/v1
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
  - backendRefs: [{ group: inference.networking.k8s.io, kind: InferencePool, name: pool }]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: pool, namespace: default }
spec:
  selector: { matchLabels: { app: sim } }
  targetPorts: [{ number: 8000 }]
  endpointPickerRef: { name: unused, port: { number: 9002 } }
`;

const WORDS =
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(
    ' ',
  );

/** ≈ `tokens` tokens of text (the simulator counts ≈ 4 characters a token) that start uniquely. */
function coldPrompt(rng: SeededRng, tag: string, tokens: number): string {
  const parts = [`[${tag}]`];
  let chars = 0;
  while (chars < tokens * 4) {
    const w = WORDS[Math.floor(rng.next() * WORDS.length)]!;
    parts.push(w);
    chars += w.length + 1;
  }
  return parts.join(' ');
}

interface Sent {
  gateway: number;
  endpoint: string;
  ms: number;
  status: number;
}

interface TargetResult {
  target: string;
  seed: number;
  rounds: number;
  collisions: number;
  /** Requests that shared their replica with another of their round. */
  doubled: number;
  latency_mean_ms: number;
  latency_max_ms: number;
  /** Mean of each round's slowest answer. */
  round_max_mean_ms: number;
  failed: number;
  /** Decisions moved by settling (infergate_peer_settle_moves_total, all gateways). */
  settle_moves: number;
}

async function runTarget(args: Args, seed: number, target: string, dir: string): Promise<TargetResult> {
  const tag = `${seed}-${target}`;
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
      '1',
      '--served-model-name',
      'm',
      '--max-model-len',
      '32768',
      '--emit-pods',
      pods,
      '--pod-labels',
      'app=sim',
    ],
    join(dir, `sim-${tag}.log`),
  );
  const serves: ChildCli[] = [];
  try {
    await sim.waitForLine(/^sim ready \d+ replicas$/m, 60_000);
    const manifests = join(dir, 'gateway.yaml');
    writeFileSync(manifests, MANIFESTS);
    const peers = target.startsWith('peers');
    const ports = peers ? await Promise.all(Array.from({ length: args.gateways }, () => reservePort())) : [];
    const urls: string[] = [];
    const admins: string[] = [];
    for (let g = 0; g < args.gateways; g++) {
      const peerFlags = peers ? peerLoadArgs(ports, g) : [];
      const s = new ChildCli(
        'infergate serve',
        [
          'serve',
          '-f',
          manifests,
          '-f',
          pods,
          '--host',
          '127.0.0.1',
          '--port-map',
          '80=0',
          '--admin-port',
          '0',
          '--no-watch',
          '--debug-headers',
          '--seed',
          String(seed * 10 + g),
          '--scrape-interval',
          '20ms',
          ...peerFlags,
          ...(target === 'peers-no-settle' ? ['--peer-settle', '0'] : []),
          ...args.extra,
        ],
        join(dir, `serve-${tag}-${g}.log`),
      );
      serves.push(s);
      urls.push((await s.waitForLine(/^listener \S+ ready (http:\S+)/m, 60_000))[1]!);
      admins.push((await s.waitForLine(/^admin ready (http:\S+)/m, 60_000))[1]!);
    }
    await new Promise((r) => setTimeout(r, peers ? 2500 : 500)); // heartbeats heard, first scrapes done
    const rng = new SeededRng(seed);
    const sent: Sent[][] = [];
    for (let r = 0; r < args.rounds; r++) {
      const prompts = urls.map((_, g) => coldPrompt(rng, `${seed}/${r}/${g}`, args.tokens));
      const round = await Promise.all(
        urls.map(async (url, g): Promise<Sent> => {
          const t0 = performance.now();
          const res = await request(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-infergate-debug': 'endpoint' },
            body: JSON.stringify({
              model: 'm',
              messages: [{ role: 'user', content: prompts[g] }],
              max_tokens: 4,
            }),
            headersTimeout: 120_000,
            bodyTimeout: 120_000,
          });
          await res.body.dump();
          return {
            gateway: g,
            endpoint: String(res.headers['x-infergate-endpoint'] ?? ''),
            ms: performance.now() - t0,
            status: res.statusCode,
          };
        }),
      );
      sent.push(round);
      await new Promise((res) => setTimeout(res, 300));
    }
    let collisions = 0;
    let doubled = 0;
    const all = sent.flat();
    for (const round of sent) {
      const by = new Map<string, number>();
      for (const s of round) by.set(s.endpoint, (by.get(s.endpoint) ?? 0) + 1);
      const shared = [...by.values()].filter((n) => n > 1);
      if (shared.length > 0) collisions++;
      doubled += shared.reduce((a, n) => a + n, 0);
    }
    const ok = all.filter((s) => s.status === 200);
    let settleMoves = 0;
    for (const admin of admins) {
      const page = await (await request(`${admin}/metrics`)).body.text();
      for (const m of page.matchAll(/^infergate_peer_settle_moves_total\{[^}]*\} (\S+)$/gm))
        settleMoves += Number(m[1]);
    }
    return {
      target,
      seed,
      rounds: sent.length,
      collisions,
      doubled,
      latency_mean_ms: ok.reduce((a, s) => a + s.ms, 0) / Math.max(1, ok.length),
      latency_max_ms: Math.max(...ok.map((s) => s.ms)),
      round_max_mean_ms: sent.reduce((a, r) => a + Math.max(...r.map((s) => s.ms)), 0) / sent.length,
      failed: all.length - ok.length,
      settle_moves: settleMoves,
    };
  } finally {
    await Promise.all(serves.map((s) => s.stop()));
    await sim.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'infergate-simcold-'));
  const started = new Date().toISOString();
  const load = loadavg().map((l) => l.toFixed(2));
  const results: TargetResult[] = [];
  try {
    for (const seed of args.seeds) {
      for (const target of args.targets) {
        const r = await runTarget(args, seed, target, dir);
        results.push(r);
        console.error(
          `[seed ${seed} ${target}] collisions ${r.collisions}/${r.rounds}, mean ${r.latency_mean_ms.toFixed(0)} ms, round max mean ${r.round_max_mean_ms.toFixed(0)} ms, failed ${r.failed}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const command = `npx tsx bench/simultaneous-cold.ts ${process.argv.slice(2).join(' ')}`.trim();
  writeFileSync(
    join(args.out, 'simultaneous-cold.json'),
    `${JSON.stringify({ started, load_average_at_start: load, command, results }, null, 2)}\n`,
  );
  const md = [
    '# Simultaneous cold prompts at several gateways',
    '',
    `Measured ${started} (load average at start ${load.join(' / ')}), \`${command}\`. ${args.gateways} gateways, 5 simulated replicas at time scale 1 (wall ms = simulated ms), prompts of ≈ ${args.tokens} tokens, ${args.rounds} rounds per run.`,
    '',
    '| seed | target | rounds with a collision | requests sharing a replica | mean latency ms | mean of round max ms | settle moves | failed |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.seed} | ${r.target} | ${r.collisions} / ${r.rounds} | ${r.doubled} | ${r.latency_mean_ms.toFixed(0)} | ${r.round_max_mean_ms.toFixed(0)} | ${r.settle_moves} | ${r.failed} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(args.out, 'simultaneous-cold.md'), md);
  process.stderr.write(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
