/**
 * Options of one simulated replica: vLLM's engine arguments (same names, same defaults where vLLM
 * has them) and the simulator's own. `resolveReplicaOptions` fills defaults from the profile and
 * validates, throwing SimConfigError with vLLM-like messages.
 */

import type { EngineConfig, EngineVersion } from './engine/engine.js';
import { type PreemptionMode, V0_WATERMARK } from './engine/scheduler-v0.js';
import type { KvEventsConfig, KvEventsLayout } from './kv/kv-events-config.js';
import { DEFAULT_PROFILE, findProfile, kvBlocksFor, profileNames, type TimingProfile } from './profiles.js';
import { FAILURE_TYPES, type FailureType } from './server/failures.js';
import type { MetricsVersion } from './vllm-page/vllm-metrics.js';

export interface LoraModule {
  name: string;
  path: string;
}

export type SlowStartMode = 'refuse' | 'unavailable';

/** Everything one replica needs; `Partial` of it is what callers pass. */
export interface SimReplicaOptions {
  /** Timing preset (profiles.ts). */
  profile: string;
  /**
   * Which vLLM engine to model: v1 (vLLM 0.10.x, the default) or v0 (vLLM 0.7.x's default engine:
   * prefill-only steps, no chunked prefill, prefix caching off, V0 metric names by default).
   */
  engine: EngineVersion;
  /** V0: --preemption-mode (vLLM leaves it unset: recompute for single-sequence requests). */
  preemptionMode: PreemptionMode;
  /** V0: --swap-space, GiB of CPU memory per GPU for swapped KV blocks (vLLM default 4). */
  swapSpaceGiB: number;
  /** --model; default: the profile's model path. */
  model: string;
  /** --served-model-name; the first is the metrics label and /v1/models id. Default [model]. */
  servedModelNames: string[];
  maxNumSeqs: number;
  maxModelLen: number;
  /** Token budget per step; default 2048 with chunked prefill, else max(max-model-len, 2048). */
  maxNumBatchedTokens: number;
  blockSize: number;
  /** --num-gpu-blocks-override; null derives it from the profile and gpuMemoryUtilization. */
  numGpuBlocks: number | null;
  gpuMemoryUtilization: number;
  enablePrefixCaching: boolean;
  enableChunkedPrefill: boolean;
  enableLora: boolean;
  maxLoras: number;
  /** Default: maxLoras. */
  maxCpuLoras: number | null;
  loraModules: LoraModule[];
  /** --enable-prompt-tokens-details: usage.prompt_tokens_details.cached_tokens. */
  enablePromptTokensDetails: boolean;
  seed: number;
  /** Wall seconds per engine second: 0.01 runs 100× faster. */
  timeScale: number;
  metricsVersion: MetricsVersion;
  /**
   * When /metrics' engine values change: `step` (vLLM's way: the gauges, counters and histograms
   * of the last completed step; a request arriving mid-step shows after the next step ends) or
   * `live` (the engine's state at the scrape, as the simulator did before; for reproducing older runs).
   */
  metricsRefresh: 'step' | 'live';
  /** Mean generated tokens before the simulated EOS (0: never stops early); off with ignore_eos. */
  naturalOutputLen: number;
  /** The EOS point is uniform in naturalOutputLen × [1 − r, 1 + r]. */
  naturalOutputRange: number;
  failureRate: number;
  failureTypes: FailureType[];
  hangRate: number;
  disconnectRate: number;
  /** Wall seconds before the replica serves (model loading). */
  slowStartSeconds: number;
  /** refuse: not listening until ready; unavailable: listening, 503 until ready. */
  slowStartMode: SlowStartMode;
  /** Falling-behind threshold for first tokens: written more than this many wall ms late. */
  lagWarnMs: number;
  /**
   * How far (wall ms) the engine may run ahead of the tokens written; a process that wakes later
   * stretches engine time instead (see EngineDriver). Default 2: above libuv's 1 ms timer grain.
   */
  maxEmitLagMs: number;
  /**
   * Poll (setImmediate) for a step that emits first or last tokens in under 1 ms of wall time
   * instead of waiting for a 1 ms timer: more precise TTFT at small time scales, at the cost of a
   * busy core while requests start and finish. Off by default (see docs/simulator.md).
   */
  spinWait: boolean;
  /** --kv-events-config (vLLM's JSON, parsed); null: no KV events. */
  kvEventsConfig: KvEventsConfig | null;
  /** Event layout on the wire: current vLLM's tagged maps (default) or the legacy tagged arrays. */
  kvEventsLayout: KvEventsLayout;
  /** --tokenizer: `stand-in` (default) or a local tokenizer.json / directory. */
  tokenizer: string;
  /** --chat-template: a Jinja file overriding the tokenizer's template, or null. */
  chatTemplate: string | null;
}

export class SimConfigError extends Error {
  readonly code = 'SIM_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'SimConfigError';
  }
}

export interface ResolvedReplicaOptions extends SimReplicaOptions {
  timing: TimingProfile;
  numGpuBlocks: number;
  maxCpuLoras: number;
  /** V0: CPU swap blocks (--swap-space over the bytes of one block per GPU). */
  numCpuBlocks: number;
  /** V0: engine ms to copy one KV block between GPU and host (all TP ranks in parallel). */
  swapMsPerBlock: number;
  /** V0: SelfAttnBlockSpaceManager's watermark. */
  watermark: number;
}

const GIB = 1024 ** 3;

function check(cond: boolean, message: string): void {
  if (!cond) throw new SimConfigError(message);
}

function isRate(x: number): boolean {
  return Number.isFinite(x) && x >= 0 && x <= 1;
}

export function resolveReplicaOptions(o: Partial<SimReplicaOptions>): ResolvedReplicaOptions {
  const profileName = o.profile ?? DEFAULT_PROFILE;
  const timing = findProfile(profileName);
  if (!timing)
    throw new SimConfigError(`unknown profile "${profileName}" (known: ${profileNames().join(', ')})`);
  const model = o.model ?? timing.defaultModel;
  const served =
    o.servedModelNames && o.servedModelNames.length > 0
      ? o.servedModelNames
      : [o.model === undefined && timing.defaultServedModelName ? timing.defaultServedModelName : model];
  const maxModelLen = o.maxModelLen ?? timing.maxModelLen;
  const blockSize = o.blockSize ?? 16;
  const gpuMemoryUtilization = o.gpuMemoryUtilization ?? 0.9;
  const engine = o.engine ?? 'v1';
  const v0 = engine === 'v0';
  // vLLM 0.7.2 V0 (engine/arg_utils.py create_engine_config): chunked prefill only above 32K
  // context (or for multimodal models), prefix caching only when asked (= VLLM_USE_V1).
  const chunked = o.enableChunkedPrefill ?? (v0 ? maxModelLen > 32768 : true);
  const maxNumBatchedTokens = o.maxNumBatchedTokens ?? (chunked ? 2048 : Math.max(maxModelLen, 2048));
  const numGpuBlocks = o.numGpuBlocks ?? kvBlocksFor(timing, gpuMemoryUtilization, blockSize);
  const maxLoras = o.maxLoras ?? 1;
  const swapSpaceGiB = o.swapSpaceGiB ?? 4;
  // CacheEngine.get_cache_block_size is per GPU: the KV of one block over the TP ranks.
  const blockBytesPerGpu = (blockSize * timing.kvBytesPerToken) / timing.tensorParallel;
  const r: ResolvedReplicaOptions = {
    profile: profileName,
    engine,
    preemptionMode: o.preemptionMode ?? 'recompute',
    swapSpaceGiB,
    numCpuBlocks: Math.floor((swapSpaceGiB * GIB) / blockBytesPerGpu),
    swapMsPerBlock: (blockBytesPerGpu / (timing.hostLinkGBs * 1e9)) * 1000,
    watermark: V0_WATERMARK,
    timing,
    model,
    servedModelNames: served,
    maxNumSeqs: o.maxNumSeqs ?? 256,
    maxModelLen,
    maxNumBatchedTokens,
    blockSize,
    numGpuBlocks,
    gpuMemoryUtilization,
    enablePrefixCaching: o.enablePrefixCaching ?? !v0,
    enableChunkedPrefill: chunked,
    enableLora: o.enableLora ?? false,
    maxLoras,
    maxCpuLoras: o.maxCpuLoras ?? maxLoras,
    loraModules: o.loraModules ?? [],
    enablePromptTokensDetails: o.enablePromptTokensDetails ?? false,
    seed: o.seed ?? 0,
    timeScale: o.timeScale ?? 1,
    metricsVersion: o.metricsVersion ?? (v0 ? 'v0' : 'v1'),
    metricsRefresh: o.metricsRefresh ?? 'step',
    naturalOutputLen: o.naturalOutputLen ?? 256,
    naturalOutputRange: o.naturalOutputRange ?? 0.5,
    failureRate: o.failureRate ?? 0,
    failureTypes: o.failureTypes ?? ['server-error', 'unavailable'],
    hangRate: o.hangRate ?? 0,
    disconnectRate: o.disconnectRate ?? 0,
    slowStartSeconds: o.slowStartSeconds ?? 0,
    slowStartMode: o.slowStartMode ?? 'refuse',
    lagWarnMs: o.lagWarnMs ?? 10,
    kvEventsConfig: o.kvEventsConfig ?? null,
    kvEventsLayout: o.kvEventsLayout ?? 'map',
    tokenizer: o.tokenizer ?? 'stand-in',
    chatTemplate: o.chatTemplate ?? null,
    maxEmitLagMs: o.maxEmitLagMs ?? 2,
    spinWait: o.spinWait ?? false,
  };
  check(Number.isInteger(r.maxNumSeqs) && r.maxNumSeqs >= 1, 'max-num-seqs must be a positive integer');
  check(Number.isInteger(r.maxModelLen) && r.maxModelLen >= 2, 'max-model-len must be an integer ≥ 2');
  check(Number.isInteger(r.blockSize) && r.blockSize >= 1 && r.blockSize <= 256, 'block-size must be 1–256');
  check(
    Number.isInteger(r.numGpuBlocks) && r.numGpuBlocks >= 1,
    `num-gpu-blocks must be ≥ 1 (got ${r.numGpuBlocks})`,
  );
  check(
    Number.isInteger(r.maxNumBatchedTokens) && r.maxNumBatchedTokens >= 1,
    'max-num-batched-tokens must be a positive integer',
  );
  check(
    r.enableChunkedPrefill || r.maxNumBatchedTokens >= r.maxModelLen,
    `max-num-batched-tokens (${r.maxNumBatchedTokens}) is smaller than max-model-len (${r.maxModelLen}). ` +
      'Without chunked prefill that would reject long prompts; raise it or enable chunked prefill.',
  );
  check(
    r.numGpuBlocks * r.blockSize >= r.maxModelLen,
    `The model's max seq len (${r.maxModelLen}) is larger than the maximum number of tokens that can be stored ` +
      `in KV cache (${r.numGpuBlocks * r.blockSize}). Try increasing gpu-memory-utilization or decreasing max-model-len.`,
  );
  check(
    r.gpuMemoryUtilization > 0 && r.gpuMemoryUtilization <= 1,
    'gpu-memory-utilization must be in (0, 1]',
  );
  check(Number.isInteger(r.maxLoras) && r.maxLoras >= 1, 'max-loras must be a positive integer');
  check(
    Number.isInteger(r.maxCpuLoras) && r.maxCpuLoras >= r.maxLoras,
    `max-cpu-loras (${r.maxCpuLoras}) must be greater than or equal to max-loras (${r.maxLoras})`,
  );
  check(r.loraModules.length === 0 || r.enableLora, '--lora-modules needs --enable-lora');
  check(r.timeScale > 0 && Number.isFinite(r.timeScale), 'time-scale must be > 0');
  check(r.engine === 'v0' || r.engine === 'v1', 'engine must be v0 or v1');
  check(
    r.preemptionMode === 'recompute' || r.preemptionMode === 'swap',
    'preemption-mode must be recompute or swap',
  );
  check(r.swapSpaceGiB >= 0 && Number.isFinite(r.swapSpaceGiB), 'swap-space must be ≥ 0 GiB');
  if (v0) {
    check(
      !r.enableChunkedPrefill,
      "--engine v0 models V0's scheduler without chunked prefill (_schedule_default); its chunked-prefill policy is not simulated: use --no-enable-chunked-prefill or --engine v1",
    );
    // V0's can_allocate answers NEVER for a sequence that would leave less than the watermark.
    const longest = Math.ceil(r.maxModelLen / r.blockSize);
    check(
      r.numGpuBlocks - longest >= Math.floor(r.watermark * r.numGpuBlocks),
      `a max-model-len (${r.maxModelLen}) sequence needs ${longest} KV blocks, which would leave fewer than ` +
        `the watermark's ${Math.floor(r.watermark * r.numGpuBlocks)} of ${r.numGpuBlocks} free. ` +
        'Try increasing gpu-memory-utilization or decreasing max-model-len.',
    );
  } else {
    check(
      r.preemptionMode === 'recompute',
      '--preemption-mode swap needs --engine v0 (vLLM V1 preempts by recompute only)',
    );
  }
  check(r.metricsVersion === 'v0' || r.metricsVersion === 'v1', 'metrics-version must be v0 or v1');
  check(r.metricsRefresh === 'step' || r.metricsRefresh === 'live', 'metrics-refresh must be step or live');
  check(r.naturalOutputLen >= 0 && Number.isFinite(r.naturalOutputLen), 'natural-output-len must be ≥ 0');
  check(r.naturalOutputRange >= 0 && r.naturalOutputRange < 1, 'natural-output-range must be in [0, 1)');
  check(
    isRate(r.failureRate) && isRate(r.hangRate) && isRate(r.disconnectRate),
    'failure, hang and disconnect rates must be in [0, 1]',
  );
  check(
    r.failureRate + r.hangRate + r.disconnectRate <= 1,
    'failure + hang + disconnect rates must not exceed 1',
  );
  for (const t of r.failureTypes) {
    check(
      (FAILURE_TYPES as readonly string[]).includes(t),
      `unknown failure type "${t}" (known: ${FAILURE_TYPES.join(', ')})`,
    );
  }
  check(r.slowStartSeconds >= 0 && Number.isFinite(r.slowStartSeconds), 'slow-start must be ≥ 0 seconds');
  check(r.lagWarnMs > 0, 'lag-warn-ms must be > 0');
  check(r.maxEmitLagMs > 0 && Number.isFinite(r.maxEmitLagMs), 'max-emit-lag-ms must be > 0');
  return r;
}

/** Parses `name=path` (vLLM's --lora-modules syntax; a JSON object {name, path} is accepted too). */
export function parseLoraModule(spec: string): LoraModule {
  const s = spec.trim();
  if (s.startsWith('{')) {
    let j: unknown;
    try {
      j = JSON.parse(s);
    } catch {
      throw new SimConfigError(`invalid --lora-modules JSON: ${spec}`);
    }
    const o = j as { name?: unknown; path?: unknown };
    if (typeof o.name === 'string' && typeof o.path === 'string') return { name: o.name, path: o.path };
    throw new SimConfigError(`--lora-modules JSON needs "name" and "path": ${spec}`);
  }
  const eq = s.indexOf('=');
  if (eq <= 0 || eq === s.length - 1)
    throw new SimConfigError(`--lora-modules expects name=path, got "${spec}"`);
  return { name: s.slice(0, eq), path: s.slice(eq + 1) };
}

/**
 * The engine configuration a replica with these options runs; `run` adds what is per engine (its
 * LoRA manager, jitter seed, clock). Tools that replay the engine (benchmarks) start from the same
 * configuration and override what they model differently.
 */
export function engineConfigOf(
  o: ResolvedReplicaOptions,
  run: Pick<EngineConfig, 'lora' | 'seed' | 'unixSecondsAt'>,
): EngineConfig {
  return {
    profile: o.timing,
    blockSize: o.blockSize,
    numGpuBlocks: o.numGpuBlocks,
    maxNumSeqs: o.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens,
    chunkedPrefill: o.enableChunkedPrefill,
    prefixCaching: o.enablePrefixCaching,
    engine: o.engine,
    v0: {
      watermark: o.watermark,
      preemptionMode: o.preemptionMode,
      numCpuBlocks: o.numCpuBlocks,
      swapMsPerBlock: o.swapMsPerBlock,
    },
    ...run,
  };
}
