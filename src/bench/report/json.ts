/**
 * The `--json FILE` report: every figure per target, in the targets' time (ms, tokens, per second),
 * with stable keys (snake_case, like vLLM's result JSON) documented in docs/benchmark.md.
 * Per-request records only with saveDetailed.
 */
import type { BenchReport, TargetResult } from '../bench.js';
import type { Distribution } from '../stats.js';
import { countFigures, figureRows, figureValues, ratio } from './figures.js';
import { downsample } from './svg.js';

export const JSON_SCHEMA_VERSION = 1;

/** Replica samples kept per target (evenly spaced, first and last included): enough to draw. */
export const MAX_TIMELINE_SAMPLES = 300;

/** `v` rounded to `decimals` places (timeline samples: their precision is the sampler's, not more). */
function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/**
 * The report as text: indented like JSON.stringify(…, null, 2), but an array of plain values
 * (numbers, strings, null) stays on one line, so timelines take a line per sample, not per number.
 */
export function stringifyReport(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return `[${value.map((v) => JSON.stringify(v ?? null)).join(', ')}]`;
    }
    const inner = `${indent}  `;
    return `[\n${value.map((v) => `${inner}${stringifyReport(v ?? null, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const body = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringifyReport(v, inner)}`);
    return `{\n${body.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function dist(d: Distribution): Record<string, number> {
  return {
    mean: d.mean,
    median: d.median,
    p90: d.p90,
    p99: d.p99,
    std: d.std,
    count: d.count,
    ...d.percentiles,
  };
}

function groups(g: TargetResult['byModel']): Record<string, unknown> | undefined {
  if (!g) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(g)) {
    out[k] = {
      completed: v.completed,
      failed: v.failed,
      errors: v.errors,
      ttft: dist(v.ttft),
      tpot: dist(v.tpot),
      e2e: dist(v.e2el),
    };
  }
  return out;
}

function targetJson(r: TargetResult, timeScale: number, detailed: boolean): Record<string, unknown> {
  const m = r.metrics;
  const toTarget = (ms: number): number => ms / timeScale;
  const out: Record<string, unknown> = {
    name: r.name,
    url: r.url,
    ...countFigures(m),
    ttft: dist(m.ttft),
    tpot: dist(m.tpot),
    itl: dist(m.itl),
    e2e: dist(m.e2el),
    prefix_cache_hit_rate: r.prefixCache?.hitRate ?? null,
    prefix_cache: r.prefixCache
      ? {
          source: r.prefixCache.source,
          replicas: r.prefixCache.replicas.map((x) => ({
            url: x.url,
            requests: x.requests,
            prefix_cache_queries: x.prefixQueries,
            prefix_cache_hits: x.prefixHits,
            hit_rate: x.hitRate,
            ...(x.error ? { error: x.error } : {}),
          })),
        }
      : null,
    request_cache: r.requestCache
      ? {
          hit_rate: r.requestCache.hitRate,
          cached_tokens: r.requestCache.cachedTokens,
          prompt_tokens: r.requestCache.promptTokens,
          requests: r.requestCache.requests,
        }
      : null,
    prefix_cache_ideal: r.idealPrefixCache
      ? {
          hit_rate: r.idealPrefixCache.hitRate,
          block_size: r.idealPrefixCache.blockSize,
          requests: r.idealPrefixCache.requests,
          query_tokens: r.idealPrefixCache.queryTokens,
          hit_tokens: r.idealPrefixCache.hitTokens,
          achieved_over_ideal: ratio(
            r.requestCache?.hitRate ?? r.prefixCache?.hitRate,
            r.idealPrefixCache.hitRate,
          ),
        }
      : null,
    errors: m.errors,
    unsent: r.unsent,
    aborted: r.aborted,
    generator: {
      event_loop_lag_ms: {
        p50: r.generator.lag.p50Ms,
        p99: r.generator.lag.p99Ms,
        max: r.generator.lag.maxMs,
      },
      event_loop_utilization: r.generator.lag.utilization,
      cpu_percent: r.generator.lag.cpuPercent,
      connections: r.generator.connections,
    },
    ...(r.processCpuS ? { process_cpu_s: r.processCpuS } : {}),
    warnings: r.warnings,
    notes: r.notes,
  };
  const byModel = groups(r.byModel);
  if (byModel) out.by_model = byModel;
  const byObjective = groups(r.byObjective);
  if (byObjective) out.by_objective = byObjective;
  if (r.timeline.length > 0) {
    out.timeline = {
      replicas: r.scrapeUrls,
      samples: downsample(r.timeline, MAX_TIMELINE_SAMPLES).map((s) => ({
        t_s: round(toTarget(s.tMs) / 1000, 3),
        running: s.running,
        waiting: s.waiting,
        kv_usage: s.kvUsage.map((v) => (v === undefined ? v : round(v, 4))),
        request_success: s.requestSuccess,
      })),
    };
  }
  if (r.tail) out.tail = r.tail;
  if (r.floor) out.ttft_floor = r.floor;
  if (detailed) {
    out.requests = r.records.map((x) => ({
      index: x.index,
      start_s: toTarget(x.startMs) / 1000,
      success: x.success,
      status: x.status,
      error: x.error ?? null,
      ttft_ms: x.success ? toTarget(x.ttftMs) : null,
      e2e_ms: x.success ? toTarget(x.latencyMs) : null,
      prompt_tokens: x.promptTokens,
      output_tokens: x.outputTokens,
      model: x.model,
      ...(x.objective !== undefined ? { objective: x.objective } : {}),
      ...(x.group !== undefined ? { group: x.group } : {}),
      ...r.requestEvidence?.(x),
    }));
  }
  return out;
}

/** The whole report as a plain object (JSON.stringify it). */
export function reportJson(report: BenchReport, version: string): Record<string, unknown> {
  const o = report.options;
  const baseline = report.targets[0];
  const ratios: Record<string, Record<string, number | null>> = {};
  if (baseline && report.targets.length > 1) {
    const rows = figureRows({
      percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'],
      percentiles: [90, 99],
      goodput: o.goodput !== undefined,
    });
    const base = figureValues(baseline);
    for (const t of report.targets.slice(1)) {
      const v = figureValues(t);
      const r: Record<string, number | null> = {};
      for (const row of rows) if (row.key !== 'duration_s') r[row.key] = ratio(v[row.key], base[row.key]);
      ratios[t.name] = r;
    }
  }
  return {
    tool: 'infergate bench',
    version,
    schema: JSON_SCHEMA_VERSION,
    started_at: report.startedAt,
    time_scale: o.timeScale,
    config: {
      workload: report.workload,
      load: {
        request_rate: Number.isFinite(o.load.requestRate) ? o.load.requestRate : 'inf',
        max_concurrency: o.load.maxConcurrency ?? null,
        num_prompts: o.load.numPrompts ?? null,
        duration_s: o.load.durationS ?? null,
        grace_s: o.load.graceS ?? null,
        request_timeout_s: o.load.requestTimeoutS,
      },
      goodput: o.goodput
        ? {
            ttft_ms: o.goodput.ttftMs ?? null,
            tpot_ms: o.goodput.tpotMs ?? null,
            e2el_ms: o.goodput.e2elMs ?? null,
          }
        : null,
      targets: o.targets.map((t) => ({ name: t.name, url: t.url })),
    },
    ...(report.scenario ? { scenario: report.scenario } : {}),
    baseline: baseline?.name ?? null,
    targets: report.targets.map((t) => targetJson(t, o.timeScale, o.saveDetailed)),
    ratios,
  };
}
