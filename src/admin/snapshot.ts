/**
 * The live page's data, transport-neutral: one JSON-ready PageSnapshot built from what the gateway
 * already holds — the plan, the pools' endpoint states, the metrics window (rates and percentiles of
 * the gateway's own counters, the same families the Grafana dashboard queries), the mirror
 * comparisons and the decision ring. Served by GET /admin/snapshot and drawn by src/admin/page/.
 * Reads only; never called on the request path.
 */
import type { Plan } from '../config/plan.js';
import type { PoolView } from '../requestcontrol/types.js';
import type { DecisionRecord, DecisionRing } from '../telemetry/decision-ring.js';
import {
  bucketIncreaseBy,
  histogramQuantile,
  increaseBy,
  type MetricSample,
  type MetricsWindow,
} from './metrics-window.js';

/** What the page reads from the process. */
export interface PageSource {
  /** The plan being served (undefined before the first). */
  plan(): Plan | undefined;
  /** GET /admin/plan's summary (generation, listeners with URLs, warnings). */
  planSummary(): unknown;
  /** Pool and endpoint state (empty when the pool routers keep none). */
  pools(): readonly PoolView[];
  /** GET /admin/mirrors's comparisons. */
  mirrors(): readonly unknown[];
  readonly decisions: DecisionRing;
  readonly window: MetricsWindow;
}

/** Seconds; undefined when nothing was observed. */
export interface Percentiles {
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
}

export interface EndpointPanel {
  id: string;
  podName: string | undefined;
  engine: string;
  routable: boolean;
  running: number | undefined;
  waiting: number | undefined;
  /** [0,1] */
  kvUsage: number | undefined;
  /** Replica's own prefix-cache hit rate (tokens) over the rate window, [0,1]. */
  prefixHitRate: number | undefined;
  activeLoras: readonly string[];
  waitingLoras: readonly string[];
  maxLoras: number | undefined;
  /** Age of the scraped metrics, ms. */
  metricsAgeMs: number | undefined;
  /** This gateway's requests in flight there. */
  inflight: number;
  /** Its peer gateways' requests in flight there (load sharing; 0 without it). */
  peerInflight: number;
  /** Share of the pool's picks over the rate window, [0,1]. */
  share: number | undefined;
  picks: number;
  lastError: string | undefined;
}

export interface PoolPanel {
  key: string;
  queued: number;
  /** Gateway prefix index: lookups whose pick held the prompt's first block, over the rate window. */
  prefixIndexHitRate: number | undefined;
  sheds: { reason: string; count: number; perSecond: number }[];
  endpoints: EndpointPanel[];
}

export interface TrafficRow {
  route: string;
  backend: string;
  model: string;
  targetModel: string;
  requests: number;
  requestsPerSecond: number;
  /** Prompt tokens per second (usage reported by the servers), by backend and model. */
  tokensInPerSecond: number;
  tokensOutPerSecond: number;
  ttft: Percentiles;
  tpot: Percentiles;
  /** HTTP status ≥ 400 → count over the rate window. */
  errors: Record<string, number>;
}

export interface ChartSeries {
  /** Unix seconds of each point. */
  t: number[];
  requestsPerSecond: number[];
  tokensInPerSecond: number[];
  tokensOutPerSecond: number[];
  errorsPerSecond: number[];
  /** Over a sliding 10 s window; null where nothing was observed. */
  ttftP50: (number | null)[];
  ttftP99: (number | null)[];
}

export interface CanarySplit {
  /** Where the split is configured, e.g. `HTTPRoute default/inference` or `InferenceModel travel-helper`. */
  scope: string;
  entries: { name: string; configuredPercent: number; observedPercent: number | undefined; count: number }[];
}

export interface PageSnapshot {
  generatedAt: string;
  window: {
    /** Seconds of history held (≤ 5 min). */
    heldSeconds: number;
    /** Seconds the rates are computed over (≤ 60). */
    rateSeconds: number;
    samples: number;
  };
  plan: {
    generation: number;
    loadedAt: string | undefined;
    listeners: { key: string; url: string }[];
    warnings: string[];
  };
  pools: PoolPanel[];
  traffic: TrafficRow[];
  series: ChartSeries;
  canary: CanarySplit[];
  mirrors: readonly unknown[];
  decisions: DecisionRecord[];
  recordingDecisions: boolean;
}

const RATE_SECONDS = 60;
const CHART_PERCENTILE_SPAN = 10;
const DECISIONS_ON_PAGE = 15;

/** Key separator inside grouped label values. */
const SEP = '\u0000';

export function buildPageSnapshot(src: PageSource): PageSnapshot {
  const history = src.window.history;
  const last = history[history.length - 1];
  const first = history[0];
  const rateFrom = last ? sampleBefore(history, last.t - RATE_SECONDS * 1000) : undefined;
  const rateSpan = last && rateFrom ? (last.t - rateFrom.t) / 1000 : 0;
  const pools = src.pools();
  return {
    generatedAt: new Date().toISOString(),
    window: {
      heldSeconds: last && first ? Math.round((last.t - first.t) / 1000) : 0,
      rateSeconds: Math.round(rateSpan),
      samples: history.length,
    },
    plan: planPanel(src),
    pools: pools.map((p) => poolPanel(p, rateFrom, last, rateSpan)),
    traffic: trafficRows(rateFrom, last, first, rateSpan),
    series: chartSeries(history),
    canary: canarySplits(src.plan(), rateFrom && rateSpan > 0 ? rateFrom : first, last),
    mirrors: src.mirrors(),
    decisions: src.decisions.recent(DECISIONS_ON_PAGE),
    recordingDecisions: src.decisions.recording,
  };
}

/** The newest sample at or before `t`, else the oldest. */
function sampleBefore(history: readonly MetricSample[], t: number): MetricSample | undefined {
  let found = history[0];
  for (const s of history) {
    if (s.t <= t) found = s;
    else break;
  }
  return found;
}

function planPanel(src: PageSource): PageSnapshot['plan'] {
  const summary = (src.planSummary() ?? {}) as {
    generation?: number;
    loadedAt?: string;
    listeners?: { key: string; url?: string }[];
    warnings?: { route: string; rule: number; message: string }[];
  };
  const warnings: string[] = [];
  for (const w of summary.warnings ?? []) warnings.push(`${w.route} rule ${w.rule}: ${w.message}`);
  for (const d of src.plan()?.diagnostics ?? []) {
    if (d.severity === 'error') continue;
    const where = [d.file + (d.doc !== undefined ? `#${d.doc}` : ''), d.object, d.path].filter(Boolean);
    warnings.push(`${where.join(' ')}: ${d.message}${d.fix ? ` (${d.fix})` : ''}`);
  }
  return {
    generation: summary.generation ?? 0,
    loadedAt: summary.loadedAt,
    listeners: (summary.listeners ?? []).map((l) => ({ key: l.key, url: l.url ?? '' })),
    warnings,
  };
}

function poolPanel(
  p: PoolView,
  from: MetricSample | undefined,
  to: MetricSample | undefined,
  span: number,
): PoolPanel {
  const picks =
    from && to
      ? increaseBy(from, to, 'infergate_scheduler_picks_total', (l) =>
          l.pool === p.key ? l.endpoint : undefined,
        )
      : new Map<string, number>();
  let poolPicks = 0;
  for (const v of picks.values()) poolPicks += v;
  const onlyPool = (l: Readonly<Record<string, string>>) => (l.pool === p.key ? 'all' : undefined);
  const lookups =
    from && to ? increaseBy(from, to, 'infergate_prefix_index_lookups_total', onlyPool) : undefined;
  const hits = from && to ? increaseBy(from, to, 'infergate_prefix_index_hits_total', onlyPool) : undefined;
  const l = lookups?.get('all') ?? 0;
  const sheds =
    from && to
      ? increaseBy(from, to, 'infergate_shed_total', (x) => (x.pool === p.key ? x.reason : undefined))
      : new Map<string, number>();
  return {
    key: p.key,
    queued: p.queued,
    prefixIndexHitRate: l > 0 ? (hits?.get('all') ?? 0) / l : undefined,
    sheds: [...sheds].map(([reason, count]) => ({
      reason,
      count,
      perSecond: span > 0 ? count / span : 0,
    })),
    endpoints: p.endpoints.map((e) => {
      const m = e.metrics;
      const n = picks.get(e.id) ?? 0;
      return {
        id: e.id,
        podName: e.podName,
        engine: e.engine,
        routable: e.routable,
        running: m?.running,
        waiting: m?.waiting,
        kvUsage: m?.kvUsage,
        prefixHitRate: replicaPrefixHitRate(e.id, m, from, to),
        activeLoras: m?.activeLoras ?? [],
        waitingLoras: m?.waitingLoras ?? [],
        maxLoras: m?.maxLoras,
        metricsAgeMs: e.metricsAgeMs !== undefined ? Math.round(e.metricsAgeMs) : undefined,
        inflight: e.inflight,
        peerInflight: e.peerInflight,
        share: poolPicks > 0 ? n / poolPicks : undefined,
        picks: n,
        lastError: e.lastError,
      };
    }),
  };
}

/** The keys under which the sampler records each endpoint's prefix-cache counters. */
export function prefixCounterKeys(endpoint: string): { queries: string; hits: string } {
  return { queries: `prefix_queries${SEP}${endpoint}`, hits: `prefix_hits${SEP}${endpoint}` };
}

function replicaPrefixHitRate(
  id: string,
  m: PoolView['endpoints'][number]['metrics'],
  from: MetricSample | undefined,
  to: MetricSample | undefined,
): number | undefined {
  const k = prefixCounterKeys(id);
  if (from && to && from !== to) {
    const dq = (to.extra.get(k.queries) ?? 0) - (from.extra.get(k.queries) ?? 0);
    const dh = (to.extra.get(k.hits) ?? 0) - (from.extra.get(k.hits) ?? 0);
    if (dq > 0 && dh >= 0) return Math.min(1, dh / dq);
  }
  if (m?.prefixCacheQueries !== undefined && m.prefixCacheHits !== undefined && m.prefixCacheQueries > 0) {
    return Math.min(1, m.prefixCacheHits / m.prefixCacheQueries);
  }
  return m?.prefixCacheHitRate;
}

const REQUEST_KEY = (l: Readonly<Record<string, string>>) =>
  `${l.route}${SEP}${l.backend}${SEP}${l.model}${SEP}${l.target_model}`;
const TOKEN_KEY = (l: Readonly<Record<string, string>>) =>
  `${l.backend}${SEP}${l.model}${SEP}${l.target_model}`;

function trafficRows(
  from: MetricSample | undefined,
  to: MetricSample | undefined,
  oldest: MetricSample | undefined,
  span: number,
): TrafficRow[] {
  if (!from || !to || !oldest) return [];
  const requests = increaseBy(from, to, 'infergate_requests_total', REQUEST_KEY);
  const errors = increaseBy(from, to, 'infergate_requests_total', (l) =>
    Number(l.status) >= 400 ? `${REQUEST_KEY(l)}${SEP}${l.status}` : undefined,
  );
  const tokensIn = increaseBy(from, to, 'infergate_prompt_tokens_total', TOKEN_KEY);
  const tokensOut = increaseBy(from, to, 'infergate_completion_tokens_total', TOKEN_KEY);
  // Percentiles over everything held ("the last minutes"), rates over the rate window.
  const ttft = bucketIncreaseBy(oldest, to, 'infergate_time_to_first_token_seconds', REQUEST_KEY);
  const tpot = bucketIncreaseBy(oldest, to, 'infergate_time_per_output_token_seconds', REQUEST_KEY);
  const held = increaseBy(oldest, to, 'infergate_requests_total', REQUEST_KEY);
  const rows: TrafficRow[] = [];
  for (const [key, heldCount] of held) {
    if (heldCount <= 0 && (requests.get(key) ?? 0) <= 0) continue;
    const [route = '', backend = '', model = '', targetModel = ''] = key.split(SEP);
    const tokenKey = `${backend}${SEP}${model}${SEP}${targetModel}`;
    const errs: Record<string, number> = {};
    for (const [k, v] of errors) {
      if (v > 0 && k.startsWith(`${key}${SEP}`)) errs[k.slice(key.length + 1)] = v;
    }
    const n = requests.get(key) ?? 0;
    rows.push({
      route,
      backend,
      model,
      targetModel,
      requests: n,
      requestsPerSecond: span > 0 ? n / span : 0,
      tokensInPerSecond: span > 0 ? (tokensIn.get(tokenKey) ?? 0) / span : 0,
      tokensOutPerSecond: span > 0 ? (tokensOut.get(tokenKey) ?? 0) / span : 0,
      ttft: percentiles(ttft.get(key)),
      tpot: percentiles(tpot.get(key)),
      errors: errs,
    });
  }
  rows.sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route));
  return rows;
}

function percentiles(buckets: ReadonlyMap<number, number> | undefined): Percentiles {
  if (!buckets) return { p50: undefined, p90: undefined, p99: undefined };
  return {
    p50: histogramQuantile(0.5, buckets),
    p90: histogramQuantile(0.9, buckets),
    p99: histogramQuantile(0.99, buckets),
  };
}

/** One chart point, computed once per sample (samples never change) and reused by later snapshots. */
interface ChartPoint {
  t: number;
  requestsPerSecond: number;
  errorsPerSecond: number;
  tokensInPerSecond: number;
  tokensOutPerSecond: number;
  ttftP50: number | null;
  ttftP99: number | null;
}

const chartPoints = new WeakMap<MetricSample, ChartPoint | null>();

function chartSeries(history: readonly MetricSample[]): ChartSeries {
  const out: ChartSeries = {
    t: [],
    requestsPerSecond: [],
    tokensInPerSecond: [],
    tokensOutPerSecond: [],
    errorsPerSecond: [],
    ttftP50: [],
    ttftP99: [],
  };
  for (let i = 1; i < history.length; i++) {
    const b = history[i]!;
    let p = chartPoints.get(b);
    if (p === undefined) {
      p = chartPoint(history, i);
      chartPoints.set(b, p);
    }
    if (p === null) continue;
    out.t.push(p.t);
    out.requestsPerSecond.push(p.requestsPerSecond);
    out.errorsPerSecond.push(p.errorsPerSecond);
    out.tokensInPerSecond.push(p.tokensInPerSecond);
    out.tokensOutPerSecond.push(p.tokensOutPerSecond);
    out.ttftP50.push(p.ttftP50);
    out.ttftP99.push(p.ttftP99);
  }
  return out;
}

/** The point of sample i: rates since sample i−1, TTFT percentiles over the 10 samples before it. */
function chartPoint(history: readonly MetricSample[], i: number): ChartPoint | null {
  const a = history[i - 1]!;
  const b = history[i]!;
  const dt = (b.t - a.t) / 1000;
  if (!(dt > 0)) return null;
  const all = () => 'all';
  const rate = (name: string, group: (l: Readonly<Record<string, string>>) => string | undefined = all) => {
    let sum = 0;
    for (const v of increaseBy(a, b, name, group).values()) sum += v;
    return round2(sum / dt);
  };
  const w = history[Math.max(0, i - CHART_PERCENTILE_SPAN)]!;
  const buckets = bucketIncreaseBy(w, b, 'infergate_time_to_first_token_seconds', all).get('all');
  return {
    t: Math.round(b.t / 1000),
    requestsPerSecond: rate('infergate_requests_total'),
    errorsPerSecond: rate('infergate_requests_total', (l) => (Number(l.status) >= 400 ? 'e' : undefined)),
    tokensInPerSecond: rate('infergate_prompt_tokens_total'),
    tokensOutPerSecond: rate('infergate_completion_tokens_total'),
    ttftP50: nullable(buckets && histogramQuantile(0.5, buckets)),
    ttftP99: nullable(buckets && histogramQuantile(0.99, buckets)),
  };
}

function canarySplits(
  plan: Plan | undefined,
  from: MetricSample | undefined,
  to: MetricSample | undefined,
): CanarySplit[] {
  if (!plan) return [];
  const out: CanarySplit[] = [];
  const observe = from && to && from !== to;
  for (const route of plan.routes) {
    for (const rule of route.rules) {
      if (rule.backends.length < 2) continue;
      const total = rule.backends.reduce((s, b) => s + b.weight, 0);
      const counts = observe
        ? increaseBy(from!, to!, 'infergate_requests_total', (l) =>
            l.route === route.key ? l.backend : undefined,
          )
        : new Map<string, number>();
      const label = (b: (typeof rule.backends)[number]) =>
        b.kind === 'InferencePool' ? `InferencePool ${b.key}` : `Service ${b.key}:${b.port ?? '?'}`;
      out.push(
        split(
          `${route.key} rule ${rule.index}`,
          rule.backends.map((b) => [label(b), b.weight]),
          total,
          counts,
        ),
      );
    }
  }
  for (const pool of plan.pools.values()) {
    for (const m of pool.models) {
      if (m.targetModels.length < 2) continue;
      const total = m.targetModels.reduce((s, t) => s + t.weight, 0);
      const backend = `InferencePool ${pool.key}`;
      const counts = observe
        ? increaseBy(from!, to!, 'infergate_requests_total', (l) =>
            l.backend === backend && l.model === m.modelName ? l.target_model : undefined,
          )
        : new Map<string, number>();
      out.push(
        split(
          `InferenceModel ${m.name} (${pool.key})`,
          m.targetModels.map((t) => [t.name, t.weight]),
          total,
          counts,
        ),
      );
    }
  }
  return out;
}

function split(
  scope: string,
  weights: [string, number][],
  total: number,
  counts: ReadonlyMap<string, number>,
): CanarySplit {
  let seen = 0;
  for (const [name] of weights) seen += counts.get(name) ?? 0;
  return {
    scope,
    entries: weights.map(([name, w]) => {
      const c = counts.get(name) ?? 0;
      return {
        name,
        configuredPercent: total > 0 ? round2((100 * w) / total) : 0,
        observedPercent: seen > 0 ? round2((100 * c) / seen) : undefined,
        count: c,
      };
    }),
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function nullable(v: number | undefined): number | null {
  return v === undefined ? null : Math.round(v * 10000) / 10000;
}
