/**
 * Runs a benchmark: the same seeded workload against each target in turn, measuring requests,
 * the replicas' /metrics (before, during, after) and the generator's own event-loop lag.
 * `runTarget` is one target (scenarios call it between restarts of their simulators); `runBench`
 * is the whole comparison.
 */

import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { RequestRecord } from './client.js';
import { TargetClient } from './client.js';
import { BenchError } from './errors.js';
import { type IdealPrefixResult, idealPrefixCache, type SentRequest } from './ideal-prefix.js';
import { assessLag, type LoopLag, LoopLagMonitor } from './loop-lag.js';
import {
  type BenchOptions,
  DEFAULT_GRACE_S,
  DEFAULT_OPEN_LOOP_CONNECTIONS,
  type TargetSpec,
} from './options.js';
import { ProgressReporter, type ProgressStream } from './progress.js';
import { RunRecorder } from './recorder.js';
import {
  MetricsSampler,
  metricsUrl,
  type PrefixCacheResult,
  prefixCacheDelta,
  type ReplicaSnapshot,
  scrapeAll,
  type TimelineSample,
} from './replica-metrics.js';
import { type LoadPlan, type RunTiming, runIndexed, runSessions } from './runner.js';
import { breakdown, calculateMetrics, type GroupStats, percentile, type ServingMetrics } from './stats.js';
import type { RequestEvidence, TailEvidence } from './tail.js';
import type { TtftFloorEvidence } from './ttft-floor.js';
import { RequestFactory } from './workload/encode.js';
import { SplitPicker } from './workload/mix.js';
import { MultiRoundWorkload } from './workload/multi-round.js';
import { RandomWorkload } from './workload/random.js';
import { SharedPrefixWorkload } from './workload/shared-prefix.js';
import { ShareGptWorkload } from './workload/sharegpt.js';
import type { BenchRequest, IndexedWorkload } from './workload/types.js';

/** vLLM's (and the simulator's) KV block size, when the replicas do not say theirs. */
const DEFAULT_BLOCK_SIZE = 16;

export interface TargetResult {
  name: string;
  url: string;
  metrics: ServingMetrics;
  /** Null when no /metrics URL was given for this target. */
  prefixCache: PrefixCacheResult | null;
  /** Replica samples during the run (times in wall ms since the run started). */
  timeline: TimelineSample[];
  scrapeUrls: string[];
  generator: { lag: LoopLag; connections: number };
  /** Arrivals never sent (duration ended while they waited for a slot). */
  unsent: number;
  /** In-flight requests aborted at the end of the grace period or by Ctrl-C. */
  aborted: number;
  /**
   * Prefix-cache hit rate from the requests' own usage: Σ cached_tokens / Σ prompt tokens of the
   * successful requests that report cached_tokens (each request once, at its first scheduling — unlike
   * the replicas' counters, which count a preempted request's lookup again). Null when none does.
   */
  requestCache: RequestCacheResult | null;
  /**
   * The best hit rate any placement could reach on the stream this run sent (ideal-prefix.ts);
   * null unless asked for (RunTargetContext.idealPrefix) or not computable (a model mix).
   */
  idealPrefixCache: IdealPrefixResult | null;
  /** Per-slice figures when a model or objective mix was used. */
  byModel: Record<string, GroupStats> | undefined;
  byObjective: Record<string, GroupStats> | undefined;
  /** Every request as measured (wall ms); the JSON report keeps them only with saveDetailed. */
  records: RequestRecord[];
  /**
   * CPU seconds per process over the run, when known (scenarios: the simulator, the gateway and
   * this generator), to show who had the cores.
   */
  processCpuS?: Record<string, number> | undefined;
  /** The P99 TTFT requests with what is known of them (scenarios; see tail.ts). */
  tail?: TailEvidence | undefined;
  /**
   * The same evidence for every request (scenarios with saveDetailed): the JSON report adds it to
   * the per-request records.
   */
  requestEvidence?: ((r: RequestRecord) => RequestEvidence) | undefined;
  /** TTFT against the stream's floor on an idle replica (scenarios on the simulator; ttft-floor.ts). */
  floor?: TtftFloorEvidence | undefined;
  /** Conditions that may have distorted the figures (generator lag, simulators falling behind …). */
  warnings: string[];
  /** Limits of resolution that leave the figures standing (ITL percentiles at small time scales). */
  notes: string[];
}

export interface RequestCacheResult {
  /** 0–1. */
  hitRate: number;
  cachedTokens: number;
  promptTokens: number;
  requests: number;
}

/**
 * The requests' own cached_tokens, summed (see TargetResult.requestCache). vLLM (and the simulator)
 * with prompt-tokens details on omits the field when nothing was cached, so once any request
 * reports it, a request without it counts as 0; when none does, the server does not report it.
 */
export function requestCacheOf(records: readonly RequestRecord[]): RequestCacheResult | null {
  if (!records.some((r) => r.success && r.cachedTokens !== undefined)) return null;
  let cached = 0;
  let prompt = 0;
  let requests = 0;
  for (const r of records) {
    if (!r.success) continue;
    cached += r.cachedTokens ?? 0;
    prompt += r.promptTokens;
    requests++;
  }
  return requests > 0 && prompt > 0
    ? { hitRate: cached / prompt, cachedTokens: cached, promptTokens: prompt, requests }
    : null;
}

export interface BenchReport {
  startedAt: string;
  options: BenchOptions;
  /** The workload's defining parameters. */
  workload: Record<string, unknown>;
  targets: TargetResult[];
  /** What a scenario started and compared (scenarios/run.ts), written as the JSON's `scenario`. */
  scenario?: Record<string, unknown> | undefined;
}

/** The workload and request encoder an options object describes. */
export interface BuiltWorkload {
  indexed?: IndexedWorkload | undefined;
  sessions?: MultiRoundWorkload | undefined;
  factory: RequestFactory;
  describe(): Record<string, unknown>;
}

export function buildWorkload(opts: BenchOptions): BuiltWorkload {
  const d = opts.dataset;
  const seed = opts.seed;
  let indexed: IndexedWorkload | undefined;
  let sessions: MultiRoundWorkload | undefined;
  switch (d.name) {
    case 'random':
    case 'lora-mix':
      indexed = new RandomWorkload({ ...d, seed }, d.name);
      break;
    case 'shared-prefix':
      indexed = new SharedPrefixWorkload({ ...d, seed });
      break;
    case 'sharegpt':
      indexed = new ShareGptWorkload({ file: d.file, outputLen: d.outputLen, seed });
      break;
    case 'multi-round':
      sessions = new MultiRoundWorkload({ ...d, seed });
      break;
  }
  const factory = new RequestFactory({
    endpoint: opts.endpoint,
    model: opts.model,
    ignoreEos: opts.ignoreEos,
    temperature: sessions ? 0 : undefined,
    modelMix: opts.modelMix ? new SplitPicker(opts.modelMix, seed, 'model-mix') : undefined,
    objectiveMix: opts.objectiveMix ? new SplitPicker(opts.objectiveMix, seed, 'objective-mix') : undefined,
  });
  const source = (indexed ?? sessions)!;
  return {
    indexed,
    sessions,
    factory,
    describe: () => ({
      ...source.describe(),
      endpoint: opts.endpoint,
      model: opts.model,
      ignore_eos: opts.ignoreEos,
      seed,
      ...(opts.modelMix ? { model_mix: opts.modelMix } : {}),
      ...(opts.objectiveMix ? { objective_mix: opts.objectiveMix } : {}),
    }),
  };
}

/** The load plan in wall units. */
export function loadPlan(opts: BenchOptions): LoadPlan {
  const l = opts.load;
  const s = opts.timeScale;
  const grace = l.graceS ?? (l.durationS !== undefined ? DEFAULT_GRACE_S : Number.POSITIVE_INFINITY);
  return {
    ratePerSec: Number.isFinite(l.requestRate) ? l.requestRate / s : Number.POSITIVE_INFINITY,
    concurrency: l.maxConcurrency,
    count: l.numPrompts,
    durationMs: l.durationS !== undefined ? l.durationS * 1000 * s : undefined,
    graceMs: Number.isFinite(grace) ? grace * 1000 * s : Number.POSITIVE_INFINITY,
    requestTimeoutMs: l.requestTimeoutS * 1000 * s,
    seed: opts.seed,
  };
}

export interface RunTargetContext {
  workload: BuiltWorkload;
  /** Where progress goes (stderr by default). */
  progressStream?: ProgressStream | undefined;
  /**
   * Keep every request body and answer and compute the ideal prefix-cache hit rate of the stream
   * (costs memory for the bodies and, after the run, a replay; not for LoRA / model mixes).
   */
  idealPrefix?: boolean | undefined;
}

/** Runs the workload against one target and computes its figures. */
export async function runTarget(
  opts: BenchOptions,
  target: TargetSpec,
  ctx: RunTargetContext,
): Promise<TargetResult> {
  const plan = loadPlan(opts);
  const connections =
    opts.maxConnections ??
    opts.load.maxConcurrency ??
    (ctx.workload.sessions ? 64 : DEFAULT_OPEN_LOOP_CONNECTIONS);
  const client = new TargetClient(target.url, opts.endpoint, {
    connections,
    apiKey: opts.apiKey,
    headers: target.headers,
    requestIdPrefix: target.requestIdPrefix,
  });
  const scrapeUrls = (target.scrapeUrls ?? opts.scrapeUrls).map(metricsUrl);
  const sampler = new MetricsSampler(scrapeUrls, Math.max(50, opts.sampleIntervalS * 1000 * opts.timeScale));
  const recorder = new RunRecorder();
  const progress = new ProgressReporter(
    ctx.progressStream ?? process.stderr,
    opts.progress,
    { label: target.name, total: plan.count, durationMs: plan.durationMs },
    recorder,
  );
  const sent: SentRequest[] | undefined = ctx.idealPrefix && !opts.modelMix ? [] : undefined;
  const capture = sent
    ? (req: BenchRequest, record: RequestRecord): void => {
        sent.push({ sentAt: record.startMs, index: req.index, body: req.body, output: record.text });
      }
    : undefined;
  const lag = new LoopLagMonitor();
  const initialTest =
    ctx.workload.indexed && opts.initialTest
      ? await sendInitialTest(client, ctx.workload, plan, opts.signal)
      : undefined;
  const before = scrapeUrls.length > 0 ? await scrapeAll(scrapeUrls) : [];
  if (target.adminUrl !== undefined) {
    (ctx.progressStream ?? process.stderr).write(
      `bench: ${target.name}: live page ${target.adminUrl}/ (decisions: ${target.adminUrl}/admin/decisions)\n`,
    );
  }
  lag.start();
  progress.start();
  let timing: RunTiming;
  try {
    const run = { client, recorder, signal: opts.signal, capture };
    // The sampler's clock is the run's; both start together.
    const started = performance.now();
    sampler.start(started);
    if (ctx.workload.sessions) {
      timing = await runSessions(run, ctx.workload.sessions, ctx.workload.factory, {
        count: plan.count,
        durationMs: plan.durationMs,
        graceMs: plan.graceMs,
        requestTimeoutMs: plan.requestTimeoutMs,
        timeScale: opts.timeScale,
      });
    } else {
      timing = await runIndexed(run, ctx.workload.indexed!, ctx.workload.factory, plan);
    }
  } finally {
    progress.stop();
    await sampler.stop();
    await client.close();
  }
  const loopLag = lag.stop();
  const after = scrapeUrls.length > 0 ? await scrapeAll(scrapeUrls) : [];
  const records = recorder.records.sort((a, b) => a.index - b.index);
  const metricOpts = { slo: opts.goodput, percentiles: opts.tablePercentiles, timeScale: opts.timeScale };
  const metrics = calculateMetrics(records, recorder.itls, timing.endedAt - timing.startedAt, metricOpts);
  const { warnings, notes } = assessLag(loopLag, {
    ttftMs: metrics.ttft.median * opts.timeScale,
    decodeSpanMs: medianDecodeSpanMs(records),
    itlMs: metrics.itl.median * opts.timeScale,
  });
  if (metrics.completed === 0 && records.length > 0) {
    warnings.unshift(
      `every request failed (${JSON.stringify(metrics.errors)}): check --url, --endpoint and --model`,
    );
  }
  if (initialTest !== undefined && !initialTest.success) {
    warnings.push(`the initial test request (not counted) failed: ${initialTest.error ?? 'no detail'}`);
  }
  if (timing.unsent > 0)
    warnings.push(
      `${timing.unsent} arrivals were never sent: the duration ended while they waited for a slot`,
    );
  warnings.push(...simulatorWarnings(after, sampler.samples, opts.timeScale));
  const prefixCache = scrapeUrls.length > 0 ? prefixCacheDelta(before, after) : null;
  const blockSize = after.find((s) => s.blockSize !== undefined)?.blockSize ?? DEFAULT_BLOCK_SIZE;
  const idealPrefix = sent ? idealPrefixCache(opts.endpoint, sent, blockSize) : null;
  for (const r of prefixCache?.replicas ?? []) {
    if (r.error) warnings.push(`could not read ${r.url}: ${r.error}`);
  }
  return {
    name: target.name,
    url: target.url,
    metrics,
    prefixCache,
    timeline: sampler.samples,
    scrapeUrls,
    generator: { lag: loopLag, connections },
    unsent: timing.unsent,
    aborted: timing.aborted,
    requestCache: requestCacheOf(records),
    idealPrefixCache: idealPrefix,
    byModel: opts.modelMix ? breakdown(records, (r) => r.model, metricOpts) : undefined,
    byObjective: opts.objectiveMix ? breakdown(records, (r) => r.objective, metricOpts) : undefined,
    records,
    warnings,
    notes,
  };
}

/**
 * vLLM's benchmark_serving sends its first request once before the run ("initial single prompt test
 * run") and counts it nowhere; so does this client for indexed workloads, before the metrics baseline
 * is scraped. The request warms the same replica cache it warms under vLLM. A failure does not stop
 * the run: the report says so and the run's own records show the errors.
 */
async function sendInitialTest(
  client: TargetClient,
  workload: BuiltWorkload,
  plan: LoadPlan,
  signal: AbortSignal | undefined,
): Promise<RequestRecord> {
  const req = workload.factory.build(0, workload.indexed!.draft(0));
  return client.send(req, {
    signal: signal ?? new AbortController().signal,
    timeoutMs: plan.requestTimeoutMs,
    collectText: false,
    itl: { push: () => {} },
    runStart: performance.now(),
  });
}

/** Median of E2E − TTFT (wall ms) over successful requests with more than one token; 0 if none. */
function medianDecodeSpanMs(records: readonly RequestRecord[]): number {
  const spans: number[] = [];
  for (const r of records) if (r.success && r.outputTokens > 1) spans.push(r.latencyMs - r.ttftMs);
  spans.sort((a, b) => a - b);
  return spans.length > 0 ? percentile(spans, 50) : 0;
}

/** How the warning about simulators that fell behind (sim_falling_behind) starts. */
export const SIM_BEHIND_WARNING = 'simulated replica(s)';

/** Warnings from infergate simulators among the scraped replicas (time scale, falling behind). */
export function simulatorWarnings(
  after: readonly ReplicaSnapshot[],
  timeline: readonly TimelineSample[],
  timeScale: number,
): string[] {
  const out: string[] = [];
  const scales = new Set(after.map((s) => s.simTimeScale).filter((v): v is number => v !== undefined));
  for (const scale of scales) {
    if (Math.abs(scale - timeScale) > 1e-9 * Math.max(1, scale)) {
      out.push(
        `the replicas are simulators at time scale ${scale} but --time-scale is ${timeScale}: pass --time-scale ${scale} to read figures in simulated time`,
      );
    }
  }
  const behind = new Set<number>();
  for (const s of timeline) {
    for (let r = 0; r < s.fallingBehind.length; r++) if (s.fallingBehind[r] === 1) behind.add(r);
  }
  if (behind.size > 0) {
    out.push(
      `${SIM_BEHIND_WARNING} ${[...behind].map((r) => `r${r}`).join(', ')} fell behind their own schedule during the run (sim_falling_behind): their latencies are overstated; use a larger time scale or a quieter machine`,
    );
  }
  return out;
}

/** Runs every target in order (the first is the baseline) with the same seeded workload. */
export async function runBench(
  opts: BenchOptions,
  hooks: { progressStream?: ProgressStream; onTargetDone?: (r: TargetResult) => void } = {},
): Promise<BenchReport> {
  if (opts.targets.length === 0)
    throw new BenchError('BAD_OPTION', 'no target: give --url, --compare or --target', '--url');
  const startedAt = new Date().toISOString();
  const workload = buildWorkload(opts);
  const targets: TargetResult[] = [];
  for (const target of opts.targets) {
    if (opts.signal?.aborted) break;
    const result = await runTarget(opts, target, { workload, progressStream: hooks.progressStream });
    targets.push(result);
    hooks.onTargetDone?.(result);
  }
  return { startedAt, options: opts, workload: workload.describe(), targets };
}

/** The first model a server lists on GET /v1/models (vLLM's benchmark does the same without --model). */
export async function discoverModel(baseUrl: string, apiKey?: string): Promise<string | undefined> {
  try {
    const url = new URL(baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/models`;
    const res = await request(url, {
      method: 'GET',
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const body = (await res.body.json()) as { data?: { id?: unknown }[] };
    const id = res.statusCode === 200 ? body.data?.[0]?.id : undefined;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
