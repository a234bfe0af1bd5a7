/**
 * The reference endpoint picker's metric families (gateway-api-inference-extension / llm-d-router
 * `pkg/epp/metrics`), exported beside infergate's own so dashboards built on the reference work
 * unchanged: same names, label names, units (seconds, tokens) and histogram buckets. Only requests
 * routed to an InferencePool are counted here (the picker sees no others).
 *
 *   inference_objective_request_total{model_name,target_model_name,priority}
 *   inference_objective_request_error_total{model_name,target_model_name,error_code}
 *   inference_objective_request_duration_seconds{model_name,target_model_name}   (histogram)
 *   inference_objective_input_tokens / _output_tokens{model_name,target_model_name} (histograms)
 *   inference_objective_running_requests{model_name}
 *   inference_pool_average_kv_cache_utilization / _average_queue_size / _ready_pods{name}
 *   inference_extension_scheduler_e2e_duration_seconds (histogram, no labels)
 *
 * Model label values pass a LabelCap (first 1000 distinct values, then `other`, as the reference).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FastHistogram, type HistogramChild } from './fast-histogram.js';
import { LabelCap } from './label-cap.js';
import { drainPending, type PendingCount } from './pending-count.js';

/** Seconds, 5 ms to 1 h (the reference's generalLatencyBuckets). */
const LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120,
  180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const INPUT_TOKEN_BUCKETS = [
  1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288,
  1048576,
];
const OUTPUT_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
/** Seconds, 100 µs to 100 ms. */
const SCHEDULER_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];

/** One finished pool request, as the reference's objective metrics see it. */
export interface ObjectiveRequestRecord {
  model: string | undefined;
  targetModel: string | undefined;
  /** HTTP status the client got (a stream cut mid-way: its failure status). */
  status: number;
  durationSeconds: number;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
}

/** The series of one (model, target model) pair, resolved once (see `childrenFor`). */
interface ObjectiveChildren {
  requests: PendingCount;
  errorsByStatus: Map<number, PendingCount>;
  duration: HistogramChild;
  input: HistogramChild;
  output: HistogramChild;
}

/** Raw model names, and target models per model, remembered for the lookup; beyond: resolved each time. */
const MAX_RAW_MODELS = 1000;
const MAX_RAW_TARGETS = 32;

/**
 * The inference_objective_* families. The hot path touches plain numbers and cached children
 * (counts are handed to prom-client when Prometheus scrapes), not prom-client's label hashing.
 */
export class ReferenceObjectiveMetrics {
  private readonly names = new LabelCap(1000);
  /** raw model → raw target model → children. */
  private readonly byRaw = new Map<string, Map<string, ObjectiveChildren>>();
  /** The same children by label values (after the cap): what the counters drain. */
  private readonly byLabels = new Map<string, ObjectiveChildren>();
  /** model label → requests running. */
  private readonly runningByModel = new Map<string, { n: number }>();
  private readonly duration: FastHistogram;
  private readonly input: FastHistogram;
  private readonly output: FastHistogram;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['model_name', 'target_model_name'] as const;
    const children = this.byLabels;
    new Counter({
      name: 'inference_objective_request_total',
      help: 'Counter of inference objective requests broken out for each model and target model.',
      labelNames: [...labelNames, 'priority'],
      registers,
      collect() {
        for (const c of children.values()) drainPending(this, [c.requests]);
      },
    });
    new Counter({
      name: 'inference_objective_request_error_total',
      help: 'Counter of inference objective requests errors broken out for each model and target model.',
      labelNames: [...labelNames, 'error_code'],
      registers,
      collect() {
        for (const c of children.values()) drainPending(this, c.errorsByStatus.values());
      },
    });
    this.duration = new FastHistogram(
      'inference_objective_request_duration_seconds',
      'Inference objective response latency distribution in seconds for each model and target model.',
      labelNames,
      LATENCY_BUCKETS,
      registry,
    );
    this.input = new FastHistogram(
      'inference_objective_input_tokens',
      'Inference objective input token count distribution for requests in each model.',
      labelNames,
      INPUT_TOKEN_BUCKETS,
      registry,
    );
    this.output = new FastHistogram(
      'inference_objective_output_tokens',
      'Inference objective output token count distribution for requests in each model.',
      labelNames,
      OUTPUT_TOKEN_BUCKETS,
      registry,
    );
    const running = this.runningByModel;
    new Gauge({
      name: 'inference_objective_running_requests',
      help: 'Inference objective number of running requests in each model.',
      labelNames: ['model_name'],
      registers,
      collect() {
        for (const [model_name, r] of running) this.set({ model_name }, r.n);
      },
    });
  }

  /** A pool request with a model started (pairs with finished(..., started = true)). */
  started(model: string): void {
    this.runningFor(this.names.value(model)).n++;
  }

  finished(r: ObjectiveRequestRecord, started: boolean): void {
    const c = this.childrenFor(r.model, r.targetModel ?? r.model);
    if (started) this.runningFor(c.requests.labels.model_name!).n--;
    // The reference counts a request once its response completes; priority is the objective's
    // (0 when none is selected).
    c.requests.n++;
    if (r.status >= 400) {
      let e = c.errorsByStatus.get(r.status);
      if (e === undefined) {
        const { model_name, target_model_name } = c.requests.labels;
        e = {
          labels: {
            model_name: model_name!,
            target_model_name: target_model_name!,
            error_code: String(r.status),
          },
          n: 0,
        };
        c.errorsByStatus.set(r.status, e);
      }
      e.n++;
      return;
    }
    c.duration.observe(r.durationSeconds);
    if (r.promptTokens) c.input.observe(r.promptTokens);
    if (r.completionTokens) c.output.observe(r.completionTokens);
  }

  private runningFor(model: string): { n: number } {
    let r = this.runningByModel.get(model);
    if (r === undefined) {
      r = { n: 0 };
      this.runningByModel.set(model, r);
    }
    return r;
  }

  private childrenFor(model: string | undefined, target: string | undefined): ObjectiveChildren {
    const modelKey = model ?? '';
    const targetKey = target ?? '';
    let byTarget = this.byRaw.get(modelKey);
    let c = byTarget?.get(targetKey);
    if (c !== undefined) return c;
    const labels = { model_name: this.names.value(model), target_model_name: this.names.value(target) };
    const key = `${labels.model_name}\u0000${labels.target_model_name}`;
    c = this.byLabels.get(key);
    if (c === undefined) {
      c = {
        requests: { labels: { ...labels, priority: '0' }, n: 0 },
        errorsByStatus: new Map(),
        duration: this.duration.child(key, labels),
        input: this.input.child(key, labels),
        output: this.output.child(key, labels),
      };
      this.byLabels.set(key, c);
    }
    // Raw names come from requests: remember a bounded number of them for the fast lookup.
    if (byTarget === undefined && this.byRaw.size < MAX_RAW_MODELS) {
      byTarget = new Map();
      this.byRaw.set(modelKey, byTarget);
    }
    if (byTarget !== undefined && byTarget.size < MAX_RAW_TARGETS) byTarget.set(targetKey, c);
    return c;
  }
}

/** One pool as the reference's pool gauges see it, read at scrape time. */
export interface ReferencePoolView {
  /** The InferencePool's name (label `name`). */
  readonly name: string;
  /** Endpoints in rotation. */
  readonly readyPods: number;
  /** KV-cache utilisation (0..1) of each endpoint with fresh metrics. */
  readonly kvUsages: readonly number[];
  /** Waiting queue length of each endpoint with fresh metrics. */
  readonly queueSizes: readonly number[];
}

/** The pool gauges and the scheduler latency histogram; returns the histogram to observe. */
export function registerReferencePoolMetrics(
  registry: Registry,
  pools: () => Iterable<ReferencePoolView>,
): Histogram<string> {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (p: ReferencePoolView) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['name'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) {
          const v = read(p);
          if (v !== undefined) this.set({ name: p.name }, v);
        }
      },
    });
  gauge(
    'inference_pool_average_kv_cache_utilization',
    'The average kv cache utilization for an inference server pool.',
    (p) => average(p.kvUsages),
  );
  gauge(
    'inference_pool_average_queue_size',
    'The average number of requests pending in the model server queue.',
    (p) => average(p.queueSizes),
  );
  gauge(
    'inference_pool_ready_pods',
    'The number of ready pods in the inference server pool.',
    (p) => p.readyPods,
  );
  return new Histogram({
    name: 'inference_extension_scheduler_e2e_duration_seconds',
    help: 'End-to-end scheduling latency distribution in seconds.',
    buckets: SCHEDULER_BUCKETS,
    registers,
  });
}

function average(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
