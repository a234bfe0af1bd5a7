/**
 * Timing presets ("profiles") for the simulated engine: one per model × hardware pair found in the
 * user's documents, plus a default matching llm-d-inference-sim. Every constant is in engine
 * milliseconds (unscaled; `--time-scale` maps them to wall time later) and is either derived from
 * published hardware/model figures by `fromHardware` below or stated with its source.
 *
 * The step-time formula that consumes these constants lives in timing.ts; docs/simulator.md shows
 * every profile's derived numbers and how they compare with the documents' measurements.
 */

/** The constants of one profile, as the step-time formula (timing.ts) uses them. */
export interface TimingProfile {
  readonly name: string;
  readonly description: string;
  /** Where the figures come from (hardware data sheets, model configs, the documents). */
  readonly sources: readonly string[];
  /** `--model` default: the path the documents pass to `vllm serve`. */
  readonly defaultModel: string;
  /** `--served-model-name` default (vLLM defaults it to --model). */
  readonly defaultServedModelName?: string;
  readonly maxModelLen: number;
  /** KV blocks at --gpu-memory-utilization 0.9 (vLLM's default) and block size 16. */
  readonly numGpuBlocks: number;
  /** KV cache bytes per token over the whole model (all layers, K and V, all TP ranks). */
  readonly kvBytesPerToken: number;
  /** GPUs one replica spans (tensor parallel); the KV cache and swap space split across them. */
  readonly tensorParallel: number;
  /** Host link of each GPU, one direction (GB/s): V0 swapping copies KV blocks over it. */
  readonly hostLinkGBs: number;
  /** Bytes available to the engine before the KV cache: `gpuMemBytes × util − weights − reserve`. */
  readonly memory: {
    readonly gpuMemBytes: number;
    readonly weightBytes: number;
    readonly reserveBytes: number;
  };
  /** Per-step fixed cost: scheduler, input preparation, kernel launches (eager mode costs more). */
  readonly stepOverheadMs: number;
  /** Reading every weight once from HBM: the floor of any step (decode is memory-bound). */
  readonly weightReadMs: number;
  /** Linear-layer compute (2 × params FLOPs) + tensor-parallel traffic, per prefill token. */
  readonly prefillMsPerToken: number;
  /** Attention compute per prefill token per 1000 tokens of context it attends to. */
  readonly prefillAttnMsPerTokenPerKCtx: number;
  /** Per decoding sequence: sampling, detokenisation, per-row compute not hidden by weight reads. */
  readonly decodeMsPerSeq: number;
  /** Reading the KV cache of 1000 context tokens during decode attention. */
  readonly kvReadMsPerKTokens: number;
  /** Tensor-parallel all-reduce latency per step (2 per layer), 0 without TP. */
  readonly tpCommMsPerStep: number;
  /** API-server time before the request reaches the engine (HTTP, tokenisation); counts in TTFT. */
  readonly frontendMs: number;
  /** Relative standard deviation of step times (seeded normal noise, clamped to ±3σ). */
  readonly jitter: number;
  /** Loading a LoRA adapter from disk into a GPU slot / activating one already in the CPU cache. */
  readonly loraLoadMs: number;
  readonly loraActivateMs: number;
  /** Relative extra step cost when the batch runs any LoRA adapter (punica/SGMV kernels). */
  readonly loraStepOverhead: number;
}

/** Physical description from which most constants are derived. */
export interface HardwareModelSpec {
  /** Model: parameter count, layers, hidden size, KV heads × head dim (GQA), context length. */
  paramsB: number;
  layers: number;
  hidden: number;
  kvHeads: number;
  headDim: number;
  /** GPU: memory visible to CUDA (bytes), HBM bandwidth (GB/s), dense fp16 tensor TFLOPS. */
  gpuMemBytes: number;
  memBwGBs: number;
  fp16Tflops: number;
  /** PCIe to the host, one direction (GB/s): half the data sheet's bidirectional figure. */
  hostLinkGBs: number;
  tensorParallel: number;
  /** All-reduce latency per call (µs) and effective bus bandwidth (GB/s) between TP ranks. */
  allReduceLatencyUs: number;
  allReduceBusGBs: number;
  /** Achieved fraction of peak: memory bandwidth (decode) and FLOPS (prefill). */
  mbu: number;
  mfu: number;
  /** Activation peak + CUDA context + non-torch memory per GPU, bytes. */
  reservePerGpuBytes: number;
}

const GB = 1e9;

/**
 * Derives the formula's constants from a physical spec (fp16 weights and KV cache):
 * - weightReadMs = params × 2 B / TP / (bandwidth × mbu)
 * - prefillMsPerToken = 2 × params / (TP × TFLOPS × mfu) + TP traffic per token
 *   (2 all-reduces per layer, ring: 2 × (TP−1)/TP × hidden × 2 B each, over the bus bandwidth)
 * - prefillAttnMsPerTokenPerKCtx = 4 × layers × hidden × 1000 / (TP × TFLOPS × mfu)  (QKᵀ and AV)
 * - kvReadMsPerKTokens = 1000 × kvBytesPerToken / TP / (bandwidth × mbu)
 * - tpCommMsPerStep = 2 × layers × all-reduce latency (TP > 1)
 */
export function fromHardware(spec: HardwareModelSpec): {
  weightReadMs: number;
  prefillMsPerToken: number;
  prefillAttnMsPerTokenPerKCtx: number;
  kvReadMsPerKTokens: number;
  tpCommMsPerStep: number;
  kvBytesPerToken: number;
  tensorParallel: number;
  hostLinkGBs: number;
  memory: TimingProfile['memory'];
} {
  const tp = spec.tensorParallel;
  const weightBytes = spec.paramsB * GB * 2;
  const bwPerGpu = spec.memBwGBs * GB * spec.mbu; // bytes/s
  const flopsPerGpu = spec.fp16Tflops * 1e12 * spec.mfu; // FLOP/s
  const kvBytesPerToken = 2 * spec.layers * spec.kvHeads * spec.headDim * 2;
  const commBytesPerToken = tp > 1 ? 2 * spec.layers * ((2 * (tp - 1)) / tp) * spec.hidden * 2 : 0;
  return {
    weightReadMs: (weightBytes / tp / bwPerGpu) * 1000,
    prefillMsPerToken:
      ((2 * spec.paramsB * GB) / (tp * flopsPerGpu)) * 1000 +
      (tp > 1 ? (commBytesPerToken / (spec.allReduceBusGBs * GB)) * 1000 : 0),
    prefillAttnMsPerTokenPerKCtx: ((4 * spec.layers * spec.hidden * 1000) / (tp * flopsPerGpu)) * 1000,
    kvReadMsPerKTokens: ((1000 * kvBytesPerToken) / tp / bwPerGpu) * 1000,
    tpCommMsPerStep: tp > 1 ? (2 * spec.layers * spec.allReduceLatencyUs) / 1000 : 0,
    kvBytesPerToken,
    tensorParallel: tp,
    hostLinkGBs: spec.hostLinkGBs,
    memory: {
      gpuMemBytes: spec.gpuMemBytes * tp,
      weightBytes,
      reserveBytes: spec.reservePerGpuBytes * tp,
    },
  };
}

/** KV blocks that fit: (memory × utilisation − weights − reserve) / (bytes per token × block size). */
export function kvBlocksFor(
  profile: Pick<TimingProfile, 'memory' | 'kvBytesPerToken'>,
  gpuMemoryUtilization: number,
  blockSize: number,
): number {
  const m = profile.memory;
  const free = m.gpuMemBytes * gpuMemoryUtilization - m.weightBytes - m.reserveBytes;
  return Math.max(0, Math.floor(free / (profile.kvBytesPerToken * blockSize)));
}

// NVIDIA A10: 24 GB GDDR6 (23.7e9 bytes visible to CUDA), 600 GB/s, 125 TFLOPS dense fp16 tensor
// (NVIDIA A10 data sheet). PCIe Gen4 only, no NVLink: TP all-reduces cross PCIe. The data sheet's
// PCIe Gen4 64 GB/s is both directions: 32 GB/s each way.
const A10 = { gpuMemBytes: 23.7 * GB, memBwGBs: 600, fp16Tflops: 125, hostLinkGBs: 32 } as const;
// NVIDIA L20: 48 GB GDDR6 (47.7e9 visible), 864 GB/s, 119.5 TFLOPS dense fp16, PCIe Gen4 x16
// (64 GB/s both ways: 32 each) (NVIDIA L20 data sheet).
const L20 = { gpuMemBytes: 47.7 * GB, memBwGBs: 864, fp16Tflops: 119.5, hostLinkGBs: 32 } as const;

function withKvBlocks(p: Omit<TimingProfile, 'numGpuBlocks'>): TimingProfile {
  return { ...p, numGpuBlocks: kvBlocksFor(p, 0.9, 16) };
}

// Llama-2-7B (config.json: 6.74e9 params, 32 layers, hidden 4096, 32 KV heads × 128) on one A10,
// CUDA graphs on (seed 004 does not pass --enforce-eager). Seeds 000 and 004.
const LLAMA2_7B_A10 = fromHardware({
  paramsB: 6.74,
  layers: 32,
  hidden: 4096,
  kvHeads: 32,
  headDim: 128,
  ...A10,
  tensorParallel: 1,
  allReduceLatencyUs: 0,
  allReduceBusGBs: 1,
  mbu: 0.8,
  mfu: 0.45,
  reservePerGpuBytes: 1.5 * GB,
});

// Qwen2.5-7B-Instruct (config.json: 7.62e9 params, 28 layers, hidden 3584, 4 KV heads × 128) on one
// L20 with --enforce-eager and LoRA (seed 003).
const QWEN25_7B_L20 = fromHardware({
  paramsB: 7.62,
  layers: 28,
  hidden: 3584,
  kvHeads: 4,
  headDim: 128,
  ...L20,
  tensorParallel: 1,
  allReduceLatencyUs: 0,
  allReduceBusGBs: 1,
  mbu: 0.8,
  mfu: 0.5,
  reservePerGpuBytes: 2 * GB,
});

// QwQ-32B (Qwen2.5-32B architecture, config.json: 32.76e9 params, 64 layers, hidden 5120, 8 KV
// heads × 128) on 4 × A10 with --tensor-parallel 4 --enforce-eager --max-model-len 8192 (seed 002).
// All-reduce over PCIe: ~80 µs per small call, ~20 GB/s effective bus bandwidth (NCCL ring, PCIe 4).
const QWQ_32B_4XA10 = fromHardware({
  paramsB: 32.76,
  layers: 64,
  hidden: 5120,
  kvHeads: 8,
  headDim: 128,
  ...A10,
  tensorParallel: 4,
  allReduceLatencyUs: 80,
  allReduceBusGBs: 20,
  mbu: 0.8,
  mfu: 0.5,
  reservePerGpuBytes: 1.5 * GB,
});

export const PROFILES: Readonly<Record<string, TimingProfile>> = {
  // llm-d-inference-sim's figures (REFERENCE.md): TTFT ≈ 30 ms + 0.25 ms × uncached prompt token,
  // ITL ≈ 12 ms ± 2 growing with batch size, 16-token KV blocks. Here TTFT = frontend 18 + overhead 2
  // + weights 10 + 0.25 × tokens; ITL = 12 ms + 0.05 ms per sequence + KV reads. Memory as an 8B
  // model (Llama-3.1-8B: 32 layers, 8 KV heads × 128 → 128 KiB/token) on one H100 80 GB.
  'sim-default': withKvBlocks({
    name: 'sim-default',
    description:
      '8B model on one H100, figures of llm-d-inference-sim (TTFT 30 ms + 0.25 ms/token, ITL 12 ms)',
    sources: [
      'llm-d-inference-sim defaults (REFERENCE.md)',
      'Llama-3.1-8B config.json',
      'H100 SXM data sheet',
    ],
    defaultModel: 'meta-llama/Llama-3.1-8B-Instruct',
    maxModelLen: 8192,
    kvBytesPerToken: 2 * 32 * 8 * 128 * 2,
    tensorParallel: 1,
    // H100 SXM data sheet: PCIe Gen5 128 GB/s both ways.
    hostLinkGBs: 64,
    memory: { gpuMemBytes: 79.6 * GB, weightBytes: 16.06 * GB, reserveBytes: 4 * GB },
    stepOverheadMs: 2,
    weightReadMs: 10,
    prefillMsPerToken: 0.25,
    prefillAttnMsPerTokenPerKCtx: 0,
    decodeMsPerSeq: 0.05,
    kvReadMsPerKTokens: 0.065,
    tpCommMsPerStep: 0,
    frontendMs: 18,
    jitter: 0.1,
    loraLoadMs: 20,
    loraActivateMs: 1,
    loraStepOverhead: 0.1,
  }),
  'llama2-7b-a10': withKvBlocks({
    name: 'llama2-7b-a10',
    description: 'Llama-2-7B on one NVIDIA A10 24 GB (seeds 000, 004)',
    sources: ['NVIDIA A10 data sheet: 24 GB, 600 GB/s, 125 TFLOPS fp16', 'Llama-2-7b-hf config.json'],
    defaultModel: '/model/llama2',
    maxModelLen: 4096,
    ...LLAMA2_7B_A10,
    stepOverheadMs: 3,
    decodeMsPerSeq: 0.1,
    frontendMs: 10,
    jitter: 0.03,
    loraLoadMs: 40,
    loraActivateMs: 2,
    loraStepOverhead: 0.15,
  }),
  'qwen2.5-7b-l20': withKvBlocks({
    name: 'qwen2.5-7b-l20',
    description: 'Qwen2.5-7B-Instruct on one NVIDIA L20 48 GB, --enforce-eager, LoRA (seed 003)',
    sources: ['NVIDIA L20 data sheet: 48 GB, 864 GB/s, 119.5 TFLOPS fp16', 'Qwen2.5-7B-Instruct config.json'],
    defaultModel: '/models/Qwen-2.5-7B-Instruct',
    defaultServedModelName: '/model/qwen',
    maxModelLen: 32768,
    ...QWEN25_7B_L20,
    stepOverheadMs: 10,
    decodeMsPerSeq: 0.1,
    frontendMs: 10,
    jitter: 0.03,
    loraLoadMs: 40,
    loraActivateMs: 2,
    loraStepOverhead: 0.15,
  }),
  'qwq-32b-4xa10-tp4': withKvBlocks({
    name: 'qwq-32b-4xa10-tp4',
    description:
      'QwQ-32B on 4 × NVIDIA A10 with tensor parallel 4, --enforce-eager, max-model-len 8192 (seed 002)',
    sources: [
      'NVIDIA A10 data sheet: 24 GB, 600 GB/s, 125 TFLOPS fp16; PCIe Gen4, no NVLink',
      'QwQ-32B config.json (Qwen2.5-32B architecture)',
      'seed 002: TPOT ≈ 63 ms, median ITL ≈ 55 ms, median TTFT ≈ 1.4 s at 60 concurrent over 5 replicas',
    ],
    defaultModel: '/models/QwQ-32B',
    defaultServedModelName: 'qwq-32b',
    maxModelLen: 8192,
    ...QWQ_32B_4XA10,
    stepOverheadMs: 3,
    decodeMsPerSeq: 0.1,
    frontendMs: 15,
    jitter: 0.03,
    loraLoadMs: 60,
    loraActivateMs: 3,
    loraStepOverhead: 0.15,
  }),
};

export const DEFAULT_PROFILE = 'sim-default';

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}

/** The profile named `name`, or undefined. */
export function findProfile(name: string): TimingProfile | undefined {
  return Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
}
