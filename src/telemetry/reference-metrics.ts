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
import { LabelCap } from './label-cap.js';

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

type ModelLabel = 'model_name' | 'target_model_name';

export class ReferenceObjectiveMetrics {
  private readonly names = new LabelCap(1000);
  private readonly requests: Counter<ModelLabel | 'priority'>;
  private readonly errors: Counter<ModelLabel | 'error_code'>;
  private readonly duration: Histogram<ModelLabel>;
  private readonly input: Histogram<ModelLabel>;
  private readonly output: Histogram<ModelLabel>;
  private readonly running: Gauge<'model_name'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['model_name', 'target_model_name'] as const;
    this.requests = new Counter({
      name: 'inference_objective_request_total',
      help: 'Counter of inference objective requests broken out for each model and target model.',
      labelNames: [...labelNames, 'priority'],
      registers,
    });
    this.errors = new Counter({
      name: 'inference_objective_request_error_total',
      help: 'Counter of inference objective requests errors broken out for each model and target model.',
      labelNames: [...labelNames, 'error_code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'inference_objective_request_duration_seconds',
      help: 'Inference objective response latency distribution in seconds for each model and target model.',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.input = new Histogram({
      name: 'inference_objective_input_tokens',
      help: 'Inference objective input token count distribution for requests in each model.',
      labelNames,
      buckets: INPUT_TOKEN_BUCKETS,
      registers,
    });
    this.output = new Histogram({
      name: 'inference_objective_output_tokens',
      help: 'Inference objective output token count distribution for requests in each model.',
      labelNames,
      buckets: OUTPUT_TOKEN_BUCKETS,
      registers,
    });
    this.running = new Gauge({
      name: 'inference_objective_running_requests',
      help: 'Inference objective number of running requests in each model.',
      labelNames: ['model_name'],
      registers,
    });
  }

  /** A pool request with a model started (pairs with finished(..., started = true)). */
  started(model: string): void {
    this.running.inc({ model_name: this.names.value(model) });
  }

  finished(r: ObjectiveRequestRecord, started: boolean): void {
    const model = this.names.value(r.model);
    const labels = { model_name: model, target_model_name: this.names.value(r.targetModel ?? r.model) };
    if (started) this.running.dec({ model_name: model });
    // The reference counts a request once its response completes; priority is the objective's
    // (0 when none is selected).
    this.requests.inc({ ...labels, priority: '0' });
    if (r.status >= 400) {
      this.errors.inc({ ...labels, error_code: String(r.status) });
      return;
    }
    this.duration.observe(labels, r.durationSeconds);
    if (r.promptTokens) this.input.observe(labels, r.promptTokens);
    if (r.completionTokens) this.output.observe(labels, r.completionTokens);
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
