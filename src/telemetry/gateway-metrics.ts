/**
 * The gateway's own Prometheus metrics. One prom-client `Registry` per process (createPromRegistry);
 * the gateway's metrics live in GatewayMetrics, and the pool/scheduling room registers its own metrics
 * in the same Registry (it receives it through the pool-registry factory).
 *
 * Label cardinality is bounded: route/backend/listener come from the config; model names come from
 * requests and pass through a LabelCap (the first 100 distinct values, the rest folded into `other`).
 * Children are cached per label combination so the hot path does one Map lookup per metric family.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { FastHistogram, type HistogramChild } from './fast-histogram.js';
import { LabelCap } from './label-cap.js';
import { drainPending, type PendingCount } from './pending-count.js';
import { ReferenceObjectiveMetrics } from './reference-metrics.js';

/** Seconds. Covers sub-millisecond proxy answers up to long generations. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds. */
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];
/** Seconds per output token after the first (vLLM's TPOT range). */
const TPOT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1];

export function createPromRegistry(opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    // prom-client's names already start with `process_` / `nodejs_`: infergate_process_cpu_seconds_total.
    collectDefaultMetrics({ register: registry, prefix: 'infergate_' });
    // Gauges named like counters (promtool's lint rejects them); their `_total`-less twins stay.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
      registry.removeSingleMetric(`infergate_nodejs_${name}`);
  }
  return registry;
}

/** One finished client request, as the metrics see it. */
export interface RequestRecord {
  /** Listener key (`namespace/gateway/listener`), '' when no listener matched. */
  listener: string;
  /** Route key (`HTTPRoute ns/name`), '' when no route matched. */
  route: string;
  /** Backend label (`InferencePool ns/name`, `Service ns/name:port`), '' when none was chosen. */
  backend: string;
  /** The request body's `model`, as the client sent it. */
  model: string | undefined;
  /** The model sent upstream (after an InferenceModel target draw / rewrite). */
  targetModel: string | undefined;
  /** HTTP status sent to the client (499: the client went away first). */
  status: number;
  durationSeconds: number;
  ttftSeconds: number | undefined;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
}

/** What happened to one upstream attempt (label `result` of infergate_upstream_attempts_total). */
export type AttemptResult =
  | 'response'
  | 'connect_error'
  | 'reset'
  | 'timeout'
  | 'status_503_retried'
  | 'client_abort'
  | 'error';

export type MirrorResult = 'sent' | 'dropped' | 'completed' | 'failed';

/** One primary-vs-mirror pair, both sides finished. */
export interface MirrorPairRecord {
  route: string;
  mirror: string;
  sameStatus: boolean;
  primary: SideRecord;
  mirrorSide: SideRecord;
}

export interface SideRecord {
  latencySeconds: number;
  ttftSeconds: number | undefined;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
}

interface RequestChildren {
  labels: Readonly<Record<string, string>>;
  requestsByStatus: Map<number, PendingCount>;
  duration: HistogramChild;
  ttft: HistogramChild;
  tpot: HistogramChild;
  prompt: PendingCount;
  completion: PendingCount;
}

export class GatewayMetrics {
  readonly registry: Registry;
  /** The reference picker's inference_objective_* families (pool requests only). */
  readonly reference: ReferenceObjectiveMetrics;
  private readonly models = new LabelCap(100);
  private readonly targetModels = new LabelCap(100);
  private readonly endpoints = new LabelCap(1000);
  /** listener → route → backend → model → target model → children (raw values as keys). */
  private readonly children = new Map<string, Nested<Nested<Nested<Nested<RequestChildren>>>>>();
  /** The same children by their label values (after the caps): what the counters drain. */
  private readonly childrenByLabels = new Map<string, RequestChildren>();
  private inFlightNow = 0;
  /** backend → endpoint → result → count. */
  private readonly attemptCounts = new Map<string, Nested<Map<AttemptResult, PendingCount>>>();

  private readonly duration: FastHistogram;
  private readonly ttft: FastHistogram;
  private readonly tpot: FastHistogram;
  private readonly retries: Counter<string>;
  private readonly ejections: Counter<string>;
  private readonly reloads: Counter<string>;
  private readonly endpointUpdates: Counter<string>;
  private readonly streamErrors: Counter<string>;
  private readonly generation: Gauge<string>;
  private readonly mirrorRequests: Counter<string>;
  private readonly mirrorStatus: Counter<string>;
  private readonly mirrorLatency: FastHistogram;
  private readonly mirrorTtft: FastHistogram;
  private readonly mirrorTokens: Counter<string>;

  constructor(registry: Registry) {
    this.registry = registry;
    this.reference = new ReferenceObjectiveMetrics(registry);
    const registers = [registry];
    // Counters fed from pending counts at scrape time (their `collect`); the Registry holds them.
    const children = this.childrenByLabels;
    const attemptCounts = this.attemptCounts;
    new Counter({
      name: 'infergate_requests_total',
      help: 'Client requests answered, by listener, route, backend, model, target model and HTTP status.',
      labelNames: ['listener', 'route', 'backend', 'model', 'target_model', 'status'],
      registers,
      collect() {
        for (const c of children.values()) drainPending(this, c.requestsByStatus.values());
      },
    });
    const requestLabels = ['listener', 'route', 'backend', 'model', 'target_model'];
    this.duration = new FastHistogram(
      'infergate_request_duration_seconds',
      'Time from request arrival to the last response byte sent to the client.',
      requestLabels,
      DURATION_BUCKETS,
      registry,
    );
    this.ttft = new FastHistogram(
      'infergate_time_to_first_token_seconds',
      'Streamed requests: time from request arrival to the first chunk with non-empty choices.',
      requestLabels,
      TTFT_BUCKETS,
      registry,
    );
    this.tpot = new FastHistogram(
      'infergate_time_per_output_token_seconds',
      'Streamed requests with usage and ≥ 2 output tokens: (duration − TTFT) / (output tokens − 1).',
      requestLabels,
      TPOT_BUCKETS,
      registry,
    );
    new Counter({
      name: 'infergate_prompt_tokens_total',
      help: 'Prompt (input) tokens reported by the model server usage (asm_llm_proxy_prompt_tokens).',
      labelNames: ['model', 'target_model', 'backend'],
      registers,
      collect() {
        for (const c of children.values()) drainPending(this, [c.prompt]);
      },
    });
    new Counter({
      name: 'infergate_completion_tokens_total',
      help: 'Completion (output) tokens reported by the model server usage (asm_llm_proxy_completion_tokens).',
      labelNames: ['model', 'target_model', 'backend'],
      registers,
      collect() {
        for (const c of children.values()) drainPending(this, [c.completion]);
      },
    });
    // Read at scrape time: no per-request cost.
    const inFlight = () => this.inFlightNow;
    new Gauge({
      name: 'infergate_requests_in_flight',
      help: 'Client requests being processed (streams included).',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    new Counter({
      name: 'infergate_upstream_attempts_total',
      help: 'Upstream attempts by backend, endpoint and result.',
      labelNames: ['backend', 'endpoint', 'result'],
      registers,
      collect() {
        for (const byEndpoint of attemptCounts.values()) {
          for (const byResult of byEndpoint.values()) drainPending(this, byResult.values());
        }
      },
    });
    this.retries = new Counter({
      name: 'infergate_upstream_retries_total',
      help: 'Attempts made after a first attempt failed before any response byte was sent.',
      labelNames: ['backend'],
      registers,
    });
    this.ejections = new Counter({
      name: 'infergate_outlier_ejections_total',
      help: 'Service endpoints ejected by passive outlier detection.',
      labelNames: ['backend', 'endpoint'],
      registers,
    });
    this.streamErrors = new Counter({
      name: 'infergate_stream_errors_total',
      help:
        'Responses that failed after their head was sent (the request is counted in infergate_requests_total ' +
        'with the failure status, e.g. 502), by backend and reason (reset, timeout, shutdown, ...).',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.reloads = new Counter({
      name: 'infergate_config_reloads_total',
      help: 'Configuration reloads by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.endpointUpdates = new Counter({
      name: 'infergate_endpoint_updates_total',
      help:
        'Plan changes that touched only endpoint sets (pod churn), applied without rebuilding routes or ' +
        'pool routers (full rebuilds are counted in infergate_config_reloads_total).',
      registers,
    });
    this.generation = new Gauge({
      name: 'infergate_config_generation',
      help: 'Generation number of the plan being served (1 = the first plan loaded).',
      registers,
    });
    this.mirrorRequests = new Counter({
      name: 'infergate_mirror_requests_total',
      help: 'Mirrored copies by route, mirror backend and result (sent, dropped, completed, failed).',
      labelNames: ['route', 'mirror', 'result'],
      registers,
    });
    this.mirrorStatus = new Counter({
      name: 'infergate_mirror_status_comparisons_total',
      help: 'Finished primary/mirror pairs by whether both answered with the same HTTP status.',
      labelNames: ['route', 'mirror', 'agreement'],
      registers,
    });
    this.mirrorLatency = new FastHistogram(
      'infergate_mirror_latency_seconds',
      'Latency of finished primary/mirror pairs, by side (primary, mirror).',
      ['route', 'mirror', 'side'],
      DURATION_BUCKETS,
      registry,
    );
    this.mirrorTtft = new FastHistogram(
      'infergate_mirror_time_to_first_token_seconds',
      'TTFT of finished streamed primary/mirror pairs, by side (primary, mirror).',
      ['route', 'mirror', 'side'],
      TTFT_BUCKETS,
      registry,
    );
    this.mirrorTokens = new Counter({
      name: 'infergate_mirror_tokens_total',
      help: 'Tokens of finished primary/mirror pairs, by side and kind (prompt, completion).',
      labelNames: ['route', 'mirror', 'side', 'kind'],
      registers,
    });
  }

  requestStarted(): void {
    this.inFlightNow++;
  }

  requestFinished(r: RequestRecord): void {
    this.inFlightNow--;
    const c = this.childrenFor(r);
    let byStatus = c.requestsByStatus.get(r.status);
    if (byStatus === undefined) {
      byStatus = { labels: { ...c.labels, status: String(r.status) }, n: 0 };
      c.requestsByStatus.set(r.status, byStatus);
    }
    byStatus.n++;
    c.duration.observe(r.durationSeconds);
    if (r.ttftSeconds !== undefined) {
      c.ttft.observe(r.ttftSeconds);
      const out = r.completionTokens;
      if (out !== undefined && out > 1) c.tpot.observe((r.durationSeconds - r.ttftSeconds) / (out - 1));
    }
    if (r.promptTokens) c.prompt.n += r.promptTokens;
    if (r.completionTokens) c.completion.n += r.completionTokens;
  }

  attempt(backend: string, endpoint: string, result: AttemptResult): void {
    let byEndpoint = this.attemptCounts.get(backend);
    if (byEndpoint === undefined) {
      byEndpoint = new Map();
      this.attemptCounts.set(backend, byEndpoint);
    }
    let byResult = byEndpoint.get(endpoint);
    if (byResult === undefined) {
      byResult = new Map();
      byEndpoint.set(endpoint, byResult);
    }
    let c = byResult.get(result);
    if (c === undefined) {
      c = { labels: { backend, endpoint: this.endpoints.value(endpoint), result }, n: 0 };
      byResult.set(result, c);
    }
    c.n++;
  }

  retry(backend: string): void {
    this.retries.inc({ backend });
  }

  ejection(backend: string, endpoint: string): void {
    this.ejections.inc({ backend, endpoint: this.endpoints.value(endpoint) });
  }

  /** A response failed after its head was sent; `reason` is the failure kind (reset, timeout, ...). */
  streamError(backend: string, reason: string): void {
    this.streamErrors.inc({ backend, reason });
  }

  reload(ok: boolean, generation?: number): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    if (generation !== undefined) this.generation.set(generation);
  }

  /** Pod churn applied to the endpoint sets in place (routes kept). */
  endpointUpdate(): void {
    this.endpointUpdates.inc();
  }

  mirrorRequest(route: string, mirror: string, result: MirrorResult): void {
    this.mirrorRequests.inc({ route, mirror, result });
  }

  mirrorPair(p: MirrorPairRecord): void {
    const { route, mirror } = p;
    this.mirrorStatus.inc({ route, mirror, agreement: p.sameStatus ? 'same' : 'different' });
    this.side(route, mirror, 'primary', p.primary);
    this.side(route, mirror, 'mirror', p.mirrorSide);
  }

  private side(route: string, mirror: string, side: string, s: SideRecord): void {
    const key = `${route}\u0000${mirror}\u0000${side}`;
    const labels = { route, mirror, side };
    this.mirrorLatency.child(key, labels).observe(s.latencySeconds);
    if (s.ttftSeconds !== undefined) this.mirrorTtft.child(key, labels).observe(s.ttftSeconds);
    if (s.promptTokens) this.mirrorTokens.inc({ route, mirror, side, kind: 'prompt' }, s.promptTokens);
    if (s.completionTokens) {
      this.mirrorTokens.inc({ route, mirror, side, kind: 'completion' }, s.completionTokens);
    }
  }

  /**
   * The children of a request's label set, found through nested maps keyed by the label values as
   * they are (no key string is built per request). Model names pass the label caps only when a
   * combination is seen for the first time.
   */
  private childrenFor(r: RequestRecord): RequestChildren {
    // listener, route and backend come from the configuration: bounded.
    const byModel = nested(nested(nested(this.children, r.listener), r.route), r.backend);
    // Model names come from requests: the lookup maps remember at most MAX_RAW_NAMES of them.
    const modelKey = r.model ?? '';
    let byTarget = byModel.get(modelKey);
    if (byTarget === undefined) {
      byTarget = new Map();
      if (byModel.size < MAX_RAW_NAMES) byModel.set(modelKey, byTarget);
    }
    const targetKey = r.targetModel ?? '';
    let c = byTarget.get(targetKey);
    if (c === undefined) {
      c = this.childrenForLabels(r.listener, r.route, r.backend, r.model, r.targetModel);
      if (byTarget.size < MAX_RAW_NAMES) byTarget.set(targetKey, c);
    }
    return c;
  }

  /** First sight of a raw (model, target) pair: its label values after the caps, and their children. */
  private childrenForLabels(
    listener: string,
    route: string,
    backend: string,
    rawModel: string | undefined,
    rawTarget: string | undefined,
  ): RequestChildren {
    const model = this.models.value(rawModel);
    const target = this.targetModels.value(rawTarget);
    const key = `${listener}\u0000${route}\u0000${backend}\u0000${model}\u0000${target}`;
    let c = this.childrenByLabels.get(key);
    if (c === undefined) {
      // Requests without a model (GET /v1/models, health probes) carry no model labels at all
      // rather than model="" (an empty label value reads as a real, nameless model on dashboards).
      const m: Record<string, string> = {};
      if (model !== '') m.model = model;
      if (target !== '') m.target_model = target;
      const l = { listener, route, backend, ...m };
      const t = { ...m, backend };
      c = {
        labels: l,
        requestsByStatus: new Map(),
        duration: this.duration.child(key, l),
        ttft: this.ttft.child(key, l),
        tpot: this.tpot.child(key, l),
        prompt: { labels: t, n: 0 },
        completion: { labels: t, n: 0 },
      };
      this.childrenByLabels.set(key, c);
    }
    return c;
  }
}

/** Raw model names remembered per lookup map; rarer names beyond it are resolved through their labels. */
const MAX_RAW_NAMES = 256;

type Nested<V> = Map<string, V>;

function nested<V>(m: Map<string, Map<string, V>>, k: string): Map<string, V> {
  let inner = m.get(k);
  if (inner === undefined) {
    inner = new Map();
    m.set(k, inner);
  }
  return inner;
}
