/**
 * Seed 002's closed loop replayed in engine time only: five simulated engines (src/sim's Engine, no
 * HTTP, no wall clock), 60 clients each sending its next request when the last one finishes, and a
 * routing rule in place of the gateway. It takes seconds of CPU whatever else the machine runs, so
 * it can vary one thing at a time — engine (V0 / V1), memory, routing — to see which dynamic makes
 * the standard route's TTFT tail. The routers are models, not the gateway: `p2c` is Envoy's
 * least-request (two random replicas, fewer requests in flight), `p2c ×K balancers` is K such
 * balancers side by side (e.g. K gateway replicas), each request drawn to one of them, each counting
 * only its own requests in flight; `round-robin` and `random` ignore load, `load` scores the replicas'
 * instantaneous waiting queue, KV use and in-flight count with the weights of infergate's default
 * profile (queue 2, KV 2, in-flight 2; the prefix scorer is the same for every replica here), read
 * without scrape delay. The `bench/seed-002-v0.ts` runs go through the real gateway.
 *
 *   npx tsx bench/seed-002-des.ts [--prompts 3000] [--seeds 0,1,2] [--out bench/results/seed-002-des]
 */
import { writeFileSync } from 'node:fs';
import { percentile } from '../src/bench/stats.js';
import { Engine } from '../src/sim/engine/engine.js';
import { EngineRequest, type FinishReason, type TokenSink } from '../src/sim/engine/request.js';
import { engineConfigOf, resolveReplicaOptions } from '../src/sim/options.js';
import { PROFILES } from '../src/sim/profiles.js';
import { FidelityStats } from '../src/sim/vllm-page/fidelity.js';
import { VllmMetrics } from '../src/sim/vllm-page/vllm-metrics.js';
import { SeededRng } from '../src/util/rng.js';

const REPLICAS = 5;
const CONCURRENCY = 60;
const PREFIX = 1000;

interface Variant {
  name: string;
  engine: 'v0' | 'v1';
  memory: number;
  routers: readonly Router[];
}

const ROUTERS = ['p2c', 'p2c ×2 balancers', 'p2c ×4 balancers', 'round-robin', 'random', 'load'] as const;
type Router = (typeof ROUTERS)[number];

const VARIANTS: Variant[] = [
  { name: 'V0, 0.95 memory (the document)', engine: 'v0', memory: 0.95, routers: ROUTERS },
  {
    name: 'V1, 0.95 memory (chunked prefill, prefix caching)',
    engine: 'v1',
    memory: 0.95,
    routers: ['p2c', 'load'],
  },
];

function makeEngine(v: Variant, seed: number): Engine {
  const o = resolveReplicaOptions({
    profile: 'qwq-32b-4xa10-tp4',
    engine: v.engine,
    gpuMemoryUtilization: v.memory,
    maxModelLen: 8192,
  });
  const metrics = new VllmMetrics({
    version: o.metricsVersion,
    modelName: 'qwq-32b',
    maxModelLen: o.maxModelLen,
    maxLoras: null,
    cacheConfig: {
      blockSize: o.blockSize,
      numGpuBlocks: o.numGpuBlocks,
      numGpuBlocksOverride: null,
      gpuMemoryUtilization: o.gpuMemoryUtilization,
      enablePrefixCaching: o.enablePrefixCaching,
    },
  });
  const cfg = engineConfigOf(o, { lora: null, seed });
  return new Engine(cfg, metrics, new FidelityStats());
}

interface Done {
  /** Send order: the first CONCURRENCY are the opening wave, sent at once. */
  id: number;
  replica: number;
  /** The request was preempted (and recomputed) at least once. */
  preempted: boolean;
  /** Replica state when the request arrived: waiting queue and KV use. */
  waitingAtArrival: number;
  kvAtArrival: number;
  ttftS: number;
  tpotMs: number;
  output: number;
}

function run(v: Variant, router: Router, prompts: number, seed: number) {
  const rng = new SeededRng(1000 + seed);
  const routeRng = new SeededRng(2000 + seed);
  const engines = Array.from({ length: REPLICAS }, (_, i) => makeEngine(v, seed * 10 + i));
  const inFlight = new Int32Array(REPLICAS);
  // `p2c ×K balancers`: K independent least-request balancers (e.g. K gateway replicas), each
  // request drawn to one of them at random, each counting only the requests it sent itself.
  const balancers = router.startsWith('p2c ×') ? Number(router.split('×')[1]!.split(' ')[0]) : 1;
  const ownInFlight = Array.from({ length: balancers }, () => new Int32Array(REPLICAS));
  const prefix = Array.from({ length: PREFIX }, (_, i) => 7_000_000 + i);
  const done: Done[] = [];
  const arrivals: number[] = []; // engine ms of pending sends
  let sent = 0;
  let rr = 0;
  const frontendMs = PROFILES['qwq-32b-4xa10-tp4']!.frontendMs; // API server: HTTP, tokenisation

  const pick = (counts: Int32Array): number => {
    if (router === 'round-robin') return rr++ % REPLICAS;
    if (router === 'random') return Math.floor(routeRng.next() * REPLICAS);
    if (router.startsWith('p2c')) {
      const a = Math.floor(routeRng.next() * REPLICAS);
      let b = Math.floor(routeRng.next() * (REPLICAS - 1));
      if (b >= a) b++;
      if (counts[a] === counts[b]) return routeRng.next() < 0.5 ? a : b;
      return counts[a]! < counts[b]! ? a : b;
    }
    // queue 2 + KV 2 + in-flight 2, min-max normalised like the scorers; first best wins.
    const q = engines.map((e) => e.numWaiting);
    const kv = engines.map((e) => e.kvUsage());
    const f = Array.from(inFlight);
    const inv = (xs: number[], i: number): number => {
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return hi === lo ? 1 : (hi - xs[i]!) / (hi - lo);
    };
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < REPLICAS; i++) {
      const s = 2 * inv(q, i) + 2 * (1 - kv[i]!) + 2 * inv(f, i);
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    return best;
  };

  const send = (now: number): void => {
    const own = ownInFlight[balancers > 1 ? Math.floor(routeRng.next() * balancers) : 0]!;
    const i = pick(balancers > 1 ? own : inFlight);
    inFlight[i]!++;
    own[i]!++;
    const input = 800 + Math.floor(rng.next() * 3201); // legacy range [0.2 × 4000, 4000]
    const output = 600 + Math.floor(rng.next() * 2401); // [0.2 × 3000, 3000]
    const tokens = prefix.concat(Array.from({ length: input }, (_, k) => 1_000_000 * (sent + 1) + k));
    const id = sent++;
    const waitingAtArrival = engines[i]!.numWaiting;
    const kvAtArrival = engines[i]!.kvUsage();
    let first = -1;
    const sink: TokenSink = {
      onToken: (req: EngineRequest, _t: string, finish: FinishReason | null): boolean => {
        if (first < 0) first = req.lastTokenMs;
        if (finish) {
          inFlight[i]!--;
          own[i]!--;
          done.push({
            id,
            replica: i,
            preempted: req.numPreemptions > 0,
            waitingAtArrival,
            kvAtArrival,
            ttftS: (first - req.arrivalMs) / 1000,
            tpotMs: req.numOutputTokens > 1 ? (req.lastTokenMs - first) / (req.numOutputTokens - 1) : 0,
            output: req.numOutputTokens,
          });
          if (sent < prompts) arrivals.push(req.lastTokenMs);
        }
        return false;
      },
      flush: () => 0,
    };
    engines[i]!.submit(
      new EngineRequest({
        id: `r${id}`,
        promptTokens: tokens,
        maxTokens: output,
        eos: null,
        stop: [],
        lora: null,
        arrivalMs: now,
        queuedMs: now + frontendMs,
        seed: id,
        sink,
        maxTokensParam: output,
        blockSize: 16,
      }),
    );
  };

  for (let c = 0; c < Math.min(CONCURRENCY, prompts); c++) send(0);
  let now = 0;
  for (;;) {
    while (arrivals.length > 0) send(arrivals.pop()!);
    let next = Number.POSITIVE_INFINITY;
    for (const e of engines) next = Math.min(next, e.advance(now));
    if (arrivals.length > 0) continue;
    if (!Number.isFinite(next)) break;
    now = next;
  }
  const ttft = done.map((d) => d.ttftS * 1000).sort((a, b) => a - b);
  const tpot = done.map((d) => d.tpotMs).sort((a, b) => a - b);
  const durationS = now / 1000;
  const steady = done
    .filter((d) => d.id >= CONCURRENCY)
    .map((d) => d.ttftS * 1000)
    .sort((a, b) => a - b);
  const p99 = percentile(ttft, 99);
  const slowest = done.filter((d) => d.ttftS * 1000 >= p99);
  const meanOf = (xs: readonly Done[], f: (d: Done) => number): number =>
    xs.length ? xs.reduce((s, d) => s + f(d), 0) / xs.length : 0;
  return {
    ttftMeanMs: Math.round(ttft.reduce((s, x) => s + x, 0) / ttft.length),
    ttftMedianMs: Math.round(percentile(ttft, 50)),
    ttftP99Ms: Math.round(percentile(ttft, 99)),
    tpotMeanMs: Math.round((tpot.reduce((s, x) => s + x, 0) / tpot.length) * 10) / 10,
    outputTokS: Math.round(done.reduce((s, d) => s + d.output, 0) / durationS),
    preemptions: engines.reduce((s, e) => s + e.metrics.preemptions, 0),
    perReplica: engines.map((_, i) => done.filter((d) => d.replica === i).length),
    /** P99 of the requests after the opening wave (the first 60 are sent at once). */
    steadyP99Ms: Math.round(percentile(steady, 99)),
    /** The slowest 1 %: share sent in the opening wave; their replicas' waiting queue and KV use at arrival. */
    tailInWave: Math.round((slowest.filter((d) => d.id < CONCURRENCY).length / slowest.length) * 100) / 100,
    tailWaitingAtArrival: Math.round(meanOf(slowest, (d) => d.waitingAtArrival) * 10) / 10,
    tailKvAtArrival: Math.round(meanOf(slowest, (d) => d.kvAtArrival) * 100) / 100,
    allKvAtArrival: Math.round(meanOf(done, (d) => d.kvAtArrival) * 100) / 100,
  };
}

function main(): void {
  const argv = process.argv.slice(2);
  const arg = (k: string, d: string): string => {
    const i = argv.indexOf(k);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
  };
  const prompts = Number(arg('--prompts', '3000'));
  const seeds = arg('--seeds', '0,1,2').split(',').map(Number);
  const out = arg('--out', 'bench/results/seed-002-des');
  const rows: Record<string, unknown>[] = [];
  const lines = [
    `Seed 002's closed loop in engine time (bench/seed-002-des.ts): ${prompts} prompts, concurrency 60, 5 replicas of qwq-32b-4xa10-tp4, seeds ${seeds.join(', ')}; routers are models (see the script). Mean of the seeds, [min–max] for P99.`,
    '',
    '| engine | router | mean TTFT (ms) | median TTFT | P99 TTFT [min–max] | P99 after the opening wave | slowest 1 %: in the wave / waiting at arrival / KV at arrival (all: KV) | mean TPOT | output tok/s | preemptions |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const v of VARIANTS) {
    for (const router of v.routers) {
      const rs = seeds.map((s) => run(v, router, prompts, s));
      const avg = (f: (r: (typeof rs)[number]) => number): number =>
        rs.reduce((s, r) => s + f(r), 0) / rs.length;
      const p99s = rs.map((r) => r.ttftP99Ms);
      rows.push({ engine: v.name, router, runs: rs });
      lines.push(
        `| ${v.name} | ${router} | ${Math.round(avg((r) => r.ttftMeanMs))} | ${Math.round(avg((r) => r.ttftMedianMs))} | ${Math.round(avg((r) => r.ttftP99Ms))} [${Math.min(...p99s)}–${Math.max(...p99s)}] | ${Math.round(avg((r) => r.steadyP99Ms))} | ${Math.round(avg((r) => r.tailInWave) * 100)} % / ${avg((r) => r.tailWaitingAtArrival).toFixed(1)} / ${avg((r) => r.tailKvAtArrival).toFixed(2)} (${avg((r) => r.allKvAtArrival).toFixed(2)}) | ${avg((r) => r.tpotMeanMs).toFixed(1)} | ${Math.round(avg((r) => r.outputTokS))} | ${Math.round(avg((r) => r.preemptions))} |`,
      );
      process.stderr.write(`${lines[lines.length - 1]}\n`);
    }
  }
  writeFileSync(`${out}.json`, `${JSON.stringify({ prompts, seeds, rows }, null, 2)}\n`);
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
