/**
 * The vLLM metrics of one simulated replica, named, typed, labelled and bucketed exactly as vLLM
 * exposes them (sources: vllm/v1/metrics/loggers.py for `v1`, vLLM 0.10.x; vllm/engine/metrics.py
 * for `v0`, vLLM 0.7.x). Latencies are engine seconds (unscaled by --time-scale), as a real server
 * would report them.
 *
 * v1: labels {model_name, engine}; kv_cache_usage_perc, prefix_cache_{queries,hits}_total,
 *     inter_token_latency_seconds (+ the deprecated time_per_output_token_seconds beside it);
 *     lora_requests_info only with LoRA enabled.
 * v0: labels {model_name}; gpu_cache_usage_perc, num_requests_swapped, cpu_cache_usage_perc,
 *     {gpu,cpu}_prefix_cache_hit_rate, tokens_total, time_in_queue_requests; shorter buckets;
 *     lora_requests_info always.
 */
import { Histogram } from './histogram.js';
import { goFloat, header, labelString } from './prom-format.js';

export type MetricsVersion = 'v0' | 'v1';

const TTFT_V1 = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const TPOT_V1 = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const REQUEST_LATENCY_V1 = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];
const ITERATION_TOKENS_V1 = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const TTFT_V0 = TTFT_V1.slice(0, 16);
const TPOT_V0 = TPOT_V1.slice(0, 13);
const REQUEST_LATENCY_V0 = REQUEST_LATENCY_V1.slice(0, 15);
// vLLM 0.7's list for --enforce-eager (8096 is vLLM's own spelling).
const ITERATION_TOKENS_V0 = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8096];
const PARAMS_N = [1, 2, 5, 10, 20];

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50 … ≤ max. */
export function build125Buckets(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

/** Live engine state read at scrape time. */
export interface EngineGauges {
  running: number;
  waiting: number;
  kvUsage: number;
  /** V0: requests whose KV is swapped to CPU memory (default 0). */
  swapped?: number;
  /** V0: fraction of CPU swap blocks in use, 0–1 (default 0). */
  cpuUsage?: number;
}

export interface CacheConfigInfo {
  blockSize: number;
  numGpuBlocks: number;
  numGpuBlocksOverride: number | null;
  gpuMemoryUtilization: number;
  enablePrefixCaching: boolean;
  /** CPU swap blocks, when the engine allocated them (V0); `None` otherwise. */
  numCpuBlocks?: number | null;
  /** --swap-space in GiB (default 4). */
  swapSpaceGiB?: number;
}

export interface VllmMetricsOptions {
  version: MetricsVersion;
  modelName: string;
  maxModelLen: number;
  /** Present when LoRA is enabled. */
  maxLoras: number | null;
  cacheConfig: CacheConfigInfo;
}

/** At most this many lora_requests_info series are kept (vLLM keeps every one it ever set). */
const MAX_LORA_SERIES = 64;

export class VllmMetrics {
  readonly version: MetricsVersion;
  private readonly labels: string;
  private readonly opts: VllmMetricsOptions;

  promptTokens = 0;
  generationTokens = 0;
  preemptions = 0;
  prefixQueries = 0;
  prefixHits = 0;
  readonly success = { stop: 0, length: 0, abort: 0 };

  readonly ttft: Histogram;
  readonly itl: Histogram;
  readonly e2e: Histogram;
  readonly queue: Histogram;
  readonly inference: Histogram;
  readonly prefill: Histogram;
  readonly decode: Histogram;
  readonly promptTokensHist: Histogram;
  readonly generationTokensHist: Histogram;
  readonly maxGenerationTokensHist: Histogram;
  readonly maxTokensParamHist: Histogram;
  readonly paramsN: Histogram;
  readonly iterationTokens: Histogram;
  /** lora_requests_info series: label string → unix time (s) it was last set. */
  private readonly loraSeries = new Map<string, number>();
  private lastLoraKey = '';
  private lastRunning = '';
  private lastWaiting = '';

  constructor(opts: VllmMetricsOptions) {
    this.opts = opts;
    this.version = opts.version;
    const v1 = opts.version === 'v1';
    const pairs: [string, string][] = [['model_name', opts.modelName]];
    if (v1) pairs.push(['engine', '0']);
    this.labels = labelString(pairs).slice(1, -1);
    this.ttft = new Histogram(v1 ? TTFT_V1 : TTFT_V0);
    this.itl = new Histogram(v1 ? TPOT_V1 : TPOT_V0);
    const latency = v1 ? REQUEST_LATENCY_V1 : REQUEST_LATENCY_V0;
    this.e2e = new Histogram(latency);
    this.queue = new Histogram(latency);
    this.inference = new Histogram(latency);
    this.prefill = new Histogram(latency);
    this.decode = new Histogram(latency);
    const tokenBuckets = build125Buckets(opts.maxModelLen);
    this.promptTokensHist = new Histogram(tokenBuckets);
    this.generationTokensHist = new Histogram(tokenBuckets);
    this.maxGenerationTokensHist = new Histogram(tokenBuckets);
    this.maxTokensParamHist = new Histogram(tokenBuckets);
    this.paramsN = new Histogram(PARAMS_N);
    this.iterationTokens = new Histogram(v1 ? ITERATION_TOKENS_V1 : ITERATION_TOKENS_V0);
  }

  /** Labels of every vLLM series of this replica, without braces (for the sim_ families too). */
  get labelPairs(): string {
    return this.labels;
  }

  /**
   * Sets the lora_requests_info series for the current running/waiting adapters to `unixSeconds`
   * (a new series per distinct label set, as vLLM's set_to_current_time on new labels).
   */
  setLoraInfo(running: string, waiting: string, unixSeconds: number): void {
    if (this.opts.maxLoras === null && this.version === 'v1') return;
    if (this.lastLoraKey !== '' && running === this.lastRunning && waiting === this.lastWaiting) {
      this.loraSeries.set(this.lastLoraKey, unixSeconds);
      return;
    }
    const maxLora = String(this.opts.maxLoras ?? 0);
    const key =
      this.version === 'v1'
        ? labelString([
            ['max_lora', maxLora],
            ['waiting_lora_adapters', waiting],
            ['running_lora_adapters', running],
          ])
        : labelString([
            ['running_lora_adapters', running],
            ['max_lora', maxLora],
            ['waiting_lora_adapters', waiting],
          ]);
    this.loraSeries.delete(key); // re-insert as the newest
    if (this.loraSeries.size >= MAX_LORA_SERIES) {
      const oldest = this.loraSeries.keys().next().value;
      if (oldest !== undefined) this.loraSeries.delete(oldest);
    }
    this.loraSeries.set(key, unixSeconds);
    this.lastLoraKey = key;
    this.lastRunning = running;
    this.lastWaiting = waiting;
  }

  render(g: EngineGauges): string {
    return this.version === 'v1' ? this.renderV1(g) : this.renderV0(g);
  }

  private gauge(name: string, help: string, value: number): string {
    return `${header(name, 'gauge', help)}${name}{${this.labels}} ${goFloat(value)}\n`;
  }

  private counter(name: string, help: string, value: number): string {
    return `${header(name, 'counter', help)}${name}{${this.labels}} ${goFloat(value)}\n`;
  }

  private hist(name: string, help: string, h: Histogram): string {
    return header(name, 'histogram', help) + h.render(name, this.labels);
  }

  private successLines(reasons: readonly ('stop' | 'length' | 'abort')[]): string {
    let out = header('vllm:request_success_total', 'counter', 'Count of successfully processed requests.');
    for (const r of reasons) {
      out += `vllm:request_success_total{${this.labels},finished_reason="${r}"} ${goFloat(this.success[r])}\n`;
    }
    return out;
  }

  private loraLines(): string {
    if (this.loraSeries.size === 0) return '';
    let out = header('vllm:lora_requests_info', 'gauge', 'Running stats on lora requests.');
    for (const [labels, ts] of this.loraSeries) out += `vllm:lora_requests_info${labels} ${goFloat(ts)}\n`;
    return out;
  }

  private cacheConfigLines(): string {
    const c = this.opts.cacheConfig;
    const pairs: [string, string][] = [
      ['block_size', String(c.blockSize)],
      ['cache_dtype', 'auto'],
      ['calculate_kv_scales', 'False'],
      ['cpu_offload_gb', '0'],
      ['enable_prefix_caching', c.enablePrefixCaching ? 'True' : 'False'],
      ['gpu_memory_utilization', String(c.gpuMemoryUtilization)],
      ['is_attention_free', 'False'],
      ['num_cpu_blocks', c.numCpuBlocks == null ? 'None' : String(c.numCpuBlocks)],
      ['num_gpu_blocks', String(c.numGpuBlocks)],
      ['num_gpu_blocks_override', c.numGpuBlocksOverride === null ? 'None' : String(c.numGpuBlocksOverride)],
      ['sliding_window', 'None'],
      ['swap_space', String(c.swapSpaceGiB ?? 4)],
      ['swap_space_bytes', String(Math.floor((c.swapSpaceGiB ?? 4) * 1024 ** 3))],
    ];
    if (this.version === 'v1') {
      pairs.push(['prefix_caching_hash_algo', 'builtin']);
      pairs.push(['engine', '0']);
    }
    return `${header('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig')}vllm:cache_config_info${labelString(pairs)} 1.0\n`;
  }

  private renderV1(g: EngineGauges): string {
    return (
      this.gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', g.running) +
      this.gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', g.waiting) +
      this.gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', g.kvUsage) +
      this.counter(
        'vllm:prefix_cache_queries_total',
        'Prefix cache queries, in terms of number of queried tokens.',
        this.prefixQueries,
      ) +
      this.counter(
        'vllm:prefix_cache_hits_total',
        'Prefix cache hits, in terms of number of cached tokens.',
        this.prefixHits,
      ) +
      this.engineCounters() +
      this.successLines(['stop', 'length', 'abort']) +
      this.hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', this.promptTokensHist) +
      this.hist(
        'vllm:request_generation_tokens',
        'Number of generation tokens processed.',
        this.generationTokensHist,
      ) +
      this.hist(
        'vllm:iteration_tokens_total',
        'Histogram of number of tokens per engine_step.',
        this.iterationTokens,
      ) +
      this.requestParamHistograms() +
      this.hist(
        'vllm:time_to_first_token_seconds',
        'Histogram of time to first token in seconds.',
        this.ttft,
      ) +
      this.hist(
        'vllm:time_per_output_token_seconds',
        'Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.',
        this.itl,
      ) +
      this.hist(
        'vllm:inter_token_latency_seconds',
        'Histogram of inter-token latency in seconds.',
        this.itl,
      ) +
      this.hist(
        'vllm:e2e_request_latency_seconds',
        'Histogram of e2e request latency in seconds.',
        this.e2e,
      ) +
      this.phaseHistograms() +
      this.loraLines() +
      this.cacheConfigLines()
    );
  }

  /** Preemption and token counters, named alike in v0 and v1. */
  private engineCounters(): string {
    return (
      this.counter(
        'vllm:num_preemptions_total',
        'Cumulative number of preemption from the engine.',
        this.preemptions,
      ) +
      this.counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', this.promptTokens) +
      this.counter(
        'vllm:generation_tokens_total',
        'Number of generation tokens processed.',
        this.generationTokens,
      )
    );
  }

  /** The requested-parameter histograms, named alike in v0 and v1. */
  private requestParamHistograms(): string {
    return (
      this.hist(
        'vllm:request_max_num_generation_tokens',
        'Histogram of maximum number of requested generation tokens.',
        this.maxGenerationTokensHist,
      ) +
      this.hist('vllm:request_params_n', 'Histogram of the n request parameter.', this.paramsN) +
      this.hist(
        'vllm:request_params_max_tokens',
        'Histogram of the max_tokens request parameter.',
        this.maxTokensParamHist,
      )
    );
  }

  /** The per-phase request histograms, named alike in v0 and v1. */
  private phaseHistograms(): string {
    return (
      this.hist(
        'vllm:request_queue_time_seconds',
        'Histogram of time spent in WAITING phase for request.',
        this.queue,
      ) +
      this.hist(
        'vllm:request_inference_time_seconds',
        'Histogram of time spent in RUNNING phase for request.',
        this.inference,
      ) +
      this.hist(
        'vllm:request_prefill_time_seconds',
        'Histogram of time spent in PREFILL phase for request.',
        this.prefill,
      ) +
      this.hist(
        'vllm:request_decode_time_seconds',
        'Histogram of time spent in DECODE phase for request.',
        this.decode,
      )
    );
  }

  private renderV0(g: EngineGauges): string {
    const caching = this.opts.cacheConfig.enablePrefixCaching;
    const hitRate = caching ? (this.prefixQueries > 0 ? this.prefixHits / this.prefixQueries : 0) : -1;
    const reasons = (['stop', 'length', 'abort'] as const).filter((r) => this.success[r] > 0);
    return (
      this.gauge('vllm:num_requests_running', 'Number of requests currently running on GPU.', g.running) +
      this.gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', g.waiting) +
      this.loraLines() +
      this.gauge('vllm:num_requests_swapped', 'Number of requests swapped to CPU.', g.swapped ?? 0) +
      this.gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', g.kvUsage) +
      this.gauge(
        'vllm:cpu_cache_usage_perc',
        'CPU KV-cache usage. 1 means 100 percent usage.',
        g.cpuUsage ?? 0,
      ) +
      this.gauge('vllm:cpu_prefix_cache_hit_rate', 'CPU prefix cache block hit rate.', caching ? 0 : -1) +
      this.gauge('vllm:gpu_prefix_cache_hit_rate', 'GPU prefix cache block hit rate.', hitRate) +
      this.engineCounters() +
      this.counter(
        'vllm:tokens_total',
        'Number of prefill plus generation tokens processed.',
        this.promptTokens + this.generationTokens,
      ) +
      this.hist(
        'vllm:iteration_tokens_total',
        'Histogram of number of tokens per engine_step.',
        this.iterationTokens,
      ) +
      this.hist(
        'vllm:time_to_first_token_seconds',
        'Histogram of time to first token in seconds.',
        this.ttft,
      ) +
      this.hist(
        'vllm:time_per_output_token_seconds',
        'Histogram of time per output token in seconds.',
        this.itl,
      ) +
      this.hist(
        'vllm:e2e_request_latency_seconds',
        'Histogram of end to end request latency in seconds.',
        this.e2e,
      ) +
      this.phaseHistograms() +
      this.hist(
        'vllm:time_in_queue_requests',
        'Histogram of time the request spent in the queue in seconds.',
        this.queue,
      ) +
      this.hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', this.promptTokensHist) +
      this.hist(
        'vllm:request_generation_tokens',
        'Number of generation tokens processed.',
        this.generationTokensHist,
      ) +
      this.requestParamHistograms() +
      (reasons.length > 0 ? this.successLines(reasons) : '') +
      this.cacheConfigLines()
    );
  }
}
