/**
 * Scheduler micro-benchmark (issue 5).
 *
 *   node --expose-gc --import tsx bench/scheduler-micro.ts [--iterations N] [--memory-requests N]
 *     [--decisions none|idle|recording] [--out DIR]
 *   (or `npx tsx bench/scheduler-micro.ts`: same, without forced GC before heap readings)
 *
 * 1. Decision latency: a full `route()` of the default profile over 64 endpoints with metrics, for an
 *    8,000-character prompt, chat and completions shapes, after warm-up; p50/p90/p99/max. The
 *    dispatch hook (prefix-index insertion) is timed separately. Target: route p99 ≤ 200 µs.
 * 2. Index memory over 1 M requests with a realistic prefix mix (shared system prompts, multi-round
 *    conversations, unique questions), routed, dispatched and completed: index entries and heap at
 *    checkpoints. It must level off at the index bound instead of growing with the request count.
 *
 * `--decisions`: the pool routers get no decision ring (none, the default), one nobody looks at (idle:
 * as in the gateway when the live page is closed), or one recording every decision (recording: the
 * page open, or `--debug-headers`). bench/decision-ring-cost.ts compares them.
 *
 * Writes scheduler-micro.json and scheduler-micro.md into --out (default bench/results/; the table
 * in docs/scheduling.md). Workloads are seeded; timings depend on the machine (run it on a quiet one).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import type { EndpointAddress, Plan, PoolPlan } from '../src/config/plan.js';
import { createSchedulerRegistry } from '../src/requestcontrol/scheduler-registry.js';
import type { InferenceRequest, RoutingDecision } from '../src/requestcontrol/types.js';
import type { PrefixIndex } from '../src/scheduling/prefix/prefix-index.js';
import type { ModelServerMetrics } from '../src/scraping/model-server-metrics.js';
import { DecisionRing } from '../src/telemetry/decision-ring.js';
import { silentLogger } from '../src/util/log.js';
import { SeededRng } from '../src/util/rng.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const ITERATIONS = Number(args.get('iterations') ?? 20_000);
const WARMUP = Math.min(5_000, Math.ceil(ITERATIONS / 4));
const MEMORY_REQUESTS = Number(args.get('memory-requests') ?? 1_000_000);
const ENDPOINTS = 64;
const PROMPT_CHARS = 8_000;
const OUT_DIR = args.has('out')
  ? pathToFileURL(`${resolve(args.get('out')!)}/`)
  : new URL('./results/', import.meta.url);
const DECISIONS = args.get('decisions') ?? 'none';
if (!['none', 'idle', 'recording'].includes(DECISIONS)) {
  throw new Error(`--decisions must be none, idle or recording (got "${DECISIONS}")`);
}

const gc = (globalThis as { gc?: () => void }).gc;
const WORDS =
  'the of and to in is that for it as with was on be by at this from or have an are not but which'.split(' ');

function words(chars: number, r: SeededRng): string {
  let s = '';
  while (s.length < chars) s += `${WORDS[Math.floor(r.next() * WORDS.length)]}${r.next() < 0.1 ? '. ' : ' '}`;
  return s.slice(0, chars);
}

// ---- the pool -----------------------------------------------------------------------------------

function poolPlan(): PoolPlan {
  const endpoints: EndpointAddress[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    endpoints.push({
      address: `10.0.${i >> 8}.${i & 255}`,
      port: 8000,
      ready: true,
      labels: {},
      from: 'Pod',
    });
  }
  return {
    key: 'bench/pool',
    namespace: 'bench',
    name: 'pool',
    apiVersion: 'inference.networking.k8s.io/v1',
    selector: { matchLabels: { app: 'vllm' } },
    targetPorts: [8000],
    appProtocol: 'http',
    endpoints,
    workloads: [],
    models: [],
    objectives: [],
    rewrites: [],
    source: {
      file: 'bench',
      doc: 1,
      apiVersion: 'v1',
      kind: 'InferencePool',
      name: 'pool',
      namespace: 'bench',
    },
  };
}

const plan = (p: PoolPlan): Plan => ({
  listeners: [],
  routes: [],
  services: new Map(),
  pools: new Map([[p.key, p]]),
  ignored: [],
  diagnostics: [],
});

function decisionRing(): DecisionRing | undefined {
  if (DECISIONS === 'none') return undefined;
  const ring = new DecisionRing({ always: DECISIONS === 'recording' });
  return ring;
}

function setup() {
  const reg = createSchedulerRegistry({
    metrics: new Registry(),
    logger: silentLogger(),
    rng: new SeededRng(7),
    scrape: false,
    decisions: decisionRing(),
  });
  const p = poolPlan();
  reg.sync(plan(p));
  const router = reg.get(p.key)!;
  const states = p.endpoints.map((e) => reg.endpointState(`${e.address}:${e.port}`)!);
  /**
   * A "scrape" of every endpoint, from a crude server model: what this gateway has in flight there
   * runs (a little background load per endpoint), KV usage follows the tokens in flight. Keeps
   * metrics fresh (stale metrics would count as saturated) and lets load steer the picks.
   */
  const refresh = () => {
    const now = performance.now();
    for (let i = 0; i < states.length; i++) {
      const st = states[i]!;
      const numBlocks = 10_000 + 500 * (i % 7);
      const m: ModelServerMetrics = {
        waiting: i % 9 === 0 ? 1 : 0,
        running: (i % 3) + st.inflightRequests,
        kvUsage: Math.min(0.95, 0.05 + st.inflightPromptTokens / (numBlocks * 16)),
        activeLoras: [],
        waitingLoras: [],
        maxLoras: 4,
        blockSize: 16,
        numBlocks,
        models: ['m'],
      };
      st.beginScrape();
      st.applyScrape(m, now);
    }
    router.endpointsChanged();
  };
  refresh();
  // A safety net like a real scrape loop: if the machine stalls long enough for the metrics to go
  // stale, a request waits in the admission queue, the loop yields, and this timer frees it.
  const timer = setInterval(refresh, 50);
  const close = async () => {
    clearInterval(timer);
    await reg.close();
  };
  return { router, refresh, close };
}

// ---- requests -----------------------------------------------------------------------------------

const BODY = Buffer.alloc(PROMPT_CHARS + 200, 0x20); // router reads only its length (token estimate)
let nextId = 0;

function chat(system: string, history: string, question: string): InferenceRequest {
  const json = {
    model: 'm',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: history },
      { role: 'user', content: question },
    ],
    max_tokens: 256,
  };
  return {
    id: `r${nextId++}`,
    pool: 'bench/pool',
    path: '/v1/chat/completions',
    headers: {},
    body: BODY,
    json,
    model: 'm',
    stream: true,
    receivedAt: 0,
  };
}

function completion(prompt: string): InferenceRequest {
  const json = { model: 'm', prompt, max_tokens: 256 };
  return {
    id: `r${nextId++}`,
    pool: 'bench/pool',
    path: '/v1/completions',
    headers: {},
    body: BODY,
    json,
    model: 'm',
    stream: false,
    receivedAt: 0,
  };
}

/**
 * The realistic mix: 32 system prompts (1,500 chars); 4,000 conversations whose history grows by a
 * 300-character turn per request, up to 18 turns, then starts over; a unique question filling the
 * request up to 8,000 characters. Histories are rebuilt from a fixed pool of turns, so the workload
 * itself holds constant memory and the heap readings show the scheduler's.
 */
class Mix {
  private readonly systems = Array.from({ length: 32 }, (_, i) => words(1500, new SeededRng(i)));
  private readonly turns = Array.from({ length: 1024 }, (_, i) => words(300, new SeededRng(1000 + i)));
  private readonly rounds = new Uint8Array(4000);
  private readonly questions = Array.from({ length: 512 }, (_, i) => words(6500, new SeededRng(10_000 + i)));
  private q = 0;

  next(r: SeededRng, shape: 'chat' | 'completions'): InferenceRequest {
    const system = this.systems[Math.floor(r.next() * this.systems.length)]!;
    const conv = Math.floor(r.next() * this.rounds.length);
    const round = this.rounds[conv]!;
    this.rounds[conv] = (round + 1) % 18;
    let history = '';
    for (let k = 0; k <= round; k++) history += this.turns[(conv * 131 + k * 17) % this.turns.length]!;
    const question = this.questions[this.q++ % this.questions.length]!;
    const tail = `${nextId} ${question}`.slice(
      0,
      Math.max(64, PROMPT_CHARS - system.length - history.length),
    );
    return shape === 'chat' ? chat(system, history, tail) : completion(system + history + tail);
  }
}

interface Checkpoint {
  requests: number;
  /** (block, endpoint) entries. */
  indexEntries: number;
  /** Distinct blocks. */
  indexBlocks: number;
  /** The index's typed arrays (outside the JS heap). */
  indexMB: number;
  heapUsedMB: number;
  /** All ArrayBuffers of the process (the index's included). */
  arrayBuffersMB: number;
}

/** The default profile's prefix index, as the pool shares it (blockSize:maxBlocks:capacity:maxEntries). */
const INDEX_KEY = 'prefix-index:64:256:31250:2000000';
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

// ---- measurement --------------------------------------------------------------------------------

interface Stats {
  n: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

function stats(samples: Float64Array): Stats {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 1000;
  let sum = 0;
  for (const v of s) sum += v;
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    n: s.length,
    meanUs: round((sum / s.length) * 1000),
    p50Us: round(at(0.5)),
    p90Us: round(at(0.9)),
    p99Us: round(at(0.99)),
    maxUs: round(s[s.length - 1]! * 1000),
  };
}

const signal = new AbortController().signal;

async function latency(shape: 'chat' | 'completions') {
  const mix = new Mix();
  const { router, refresh, close } = setup();
  const r = new SeededRng(shape === 'chat' ? 1 : 2);
  const window: RoutingDecision[] = [];
  const routeT = new Float64Array(ITERATIONS);
  const dispatchT = new Float64Array(ITERATIONS);
  let lastRefresh = performance.now();
  for (let i = -WARMUP; i < ITERATIONS; i++) {
    const req = mix.next(r, shape);
    if (performance.now() - lastRefresh > 50) {
      refresh();
      lastRefresh = performance.now();
    }
    const t0 = performance.now();
    const d = await router.route(req, signal);
    const t1 = performance.now();
    d.onDispatch(d.endpoints[0]!);
    const t2 = performance.now();
    if (i >= 0) {
      routeT[i] = t1 - t0;
      dispatchT[i] = t2 - t1;
    }
    window.push(d);
    if (window.length > 256) {
      const old = window.shift()!;
      old.onComplete(old.endpoints[0]!, { status: 200, ok: true, promptTokens: 2000, completionTokens: 256 });
    }
  }
  await close();
  return { route: stats(routeT), dispatch: stats(dispatchT) };
}

async function memory() {
  const mix = new Mix();
  const { router, refresh, close } = setup();
  const r = new SeededRng(3);
  const window: RoutingDecision[] = [];
  const checkpoints: Checkpoint[] = [];
  const every = Math.max(1, Math.floor(MEMORY_REQUESTS / 10));
  let lastRefresh = performance.now();
  const t0 = performance.now();
  for (let i = 1; i <= MEMORY_REQUESTS; i++) {
    const req = mix.next(r, i % 2 ? 'chat' : 'completions');
    if (performance.now() - lastRefresh > 50) {
      refresh();
      lastRefresh = performance.now();
    }
    const d = await router.route(req, signal);
    d.onDispatch(d.endpoints[0]!);
    window.push(d);
    if (window.length > 256) {
      const old = window.shift()!;
      old.onComplete(old.endpoints[0]!, { status: 200, ok: true });
    }
    if (i % every === 0) {
      gc?.();
      const mem = process.memoryUsage();
      const index = router.sharedState(INDEX_KEY) as PrefixIndex;
      const c: Checkpoint = {
        requests: i,
        indexEntries: index.size,
        indexBlocks: index.distinctBlocks,
        indexMB: mb(index.bytes),
        heapUsedMB: mb(mem.heapUsed),
        arrayBuffersMB: mb(mem.arrayBuffers),
      };
      checkpoints.push(c);
      process.stderr.write(
        `  ${i} requests: ${c.indexEntries} entries, index ${c.indexMB} MB, heap ${c.heapUsedMB} MB\n`,
      );
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await close();
  return { requests: MEMORY_REQUESTS, seconds: Math.round(seconds), checkpoints };
}

async function main() {
  process.stderr.write(
    `scheduler micro-benchmark: ${ENDPOINTS} endpoints, ${PROMPT_CHARS}-char prompts, ${ITERATIONS} iterations\n`,
  );
  const chatLat = await latency('chat');
  const complLat = await latency('completions');
  process.stderr.write('memory over requests:\n');
  const mem = MEMORY_REQUESTS > 0 ? await memory() : undefined;
  const result = {
    benchmark: 'scheduler-micro',
    profile: 'default (saturation filter; queue 2, kv 2, prefix 3, inflight 2, lora 1; max-score)',
    endpoints: ENDPOINTS,
    promptChars: PROMPT_CHARS,
    iterations: ITERATIONS,
    decisions: DECISIONS,
    warmup: WARMUP,
    forcedGc: gc !== undefined,
    environment: {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavg1m: Math.round(loadavg()[0]! * 100) / 100,
    },
    latency: { chat: chatLat, completions: complLat },
    memory: mem,
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(new URL('scheduler-micro.json', OUT_DIR), `${JSON.stringify(result, null, 2)}\n`);
  const table = markdown(result);
  writeFileSync(new URL('scheduler-micro.md', OUT_DIR), table);
  process.stdout.write(table);
}

function markdown(r: {
  latency: { chat: { route: Stats; dispatch: Stats }; completions: { route: Stats; dispatch: Stats } };
  memory: Awaited<ReturnType<typeof memory>> | undefined;
  environment: { node: string; cpu: string; cores: number; loadavg1m: number };
  iterations: number;
}): string {
  const row = (name: string, s: Stats) =>
    `| ${name} | ${s.p50Us} | ${s.p90Us} | ${s.p99Us} | ${s.maxUs} | ${s.meanUs} |`;
  const lines = [
    `Scheduler decision, 64 endpoints, 8,000-character prompt, ${r.iterations} iterations after warm-up (µs):`,
    '',
    '| operation | p50 | p90 | p99 | max | mean |',
    '|---|---|---|---|---|---|',
    row('route() chat', r.latency.chat.route),
    row('route() completions', r.latency.completions.route),
    row('onDispatch() chat (index insert)', r.latency.chat.dispatch),
    row('onDispatch() completions', r.latency.completions.dispatch),
    '',
  ];
  if (r.memory) {
    lines.push(
      `Prefix index over ${r.memory.requests.toLocaleString('en-US')} requests (${r.memory.seconds} s):`,
      '',
      '| requests | index entries | distinct blocks | index arrays (MB) | JS heap used (MB) | all ArrayBuffers (MB) |',
      '|---|---|---|---|---|---|',
      ...r.memory.checkpoints.map(
        (c) =>
          `| ${c.requests.toLocaleString('en-US')} | ${c.indexEntries.toLocaleString('en-US')} | ${c.indexBlocks.toLocaleString('en-US')} | ${c.indexMB} | ${c.heapUsedMB} | ${c.arrayBuffersMB} |`,
      ),
      '',
    );
  }
  lines.push(
    `Node ${r.environment.node}, ${r.environment.cpu}, ${r.environment.cores} cores, load average ${r.environment.loadavg1m} at the end.`,
    '',
  );
  return lines.join('\n');
}

await main();
