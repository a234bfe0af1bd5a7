/**
 * Seed 004 (Alibaba ASM, Llama-2-7B with LoRA adapters on A10): three replicas serving ten LoRA
 * adapters (max 4 loaded per GPU), compared through the ASM gateway's port 8080 first with an Istio
 * VirtualService (traditional load balancing), then with an LLMRoute to the InferencePool. The
 * document compares dashboards only (llmperf, no numbers); the workload here is a LoRA mix centred
 * on its InferenceModel `tweet-summary`.
 */
import type { ScenarioDefinition } from './types.js';

const ADAPTERS = [
  'sql-lora',
  'sql-lora-1',
  'sql-lora-2',
  'sql-lora-3',
  'sql-lora-4',
  'tweet-summary',
  'tweet-summary-1',
  'tweet-summary-2',
  'tweet-summary-3',
  'tweet-summary-4',
];

const SIM_LORA_ARGS = [
  '--enable-lora',
  '--max-loras',
  '4',
  '--max-cpu-loras',
  '12',
  '--lora-modules',
  ...ADAPTERS.map((a) => `${a}=/adapters/${a}`),
];

/** Half the traffic to the document's InferenceModel, the rest spread over the other adapters. */
const LORA_SPLIT = [
  'tweet-summary:0.5',
  ...ADAPTERS.filter((a) => a !== 'tweet-summary').map((a) => `${a}:${(0.5 / 9).toFixed(4)}`),
].join(',');

const WORKLOAD = {
  datasetName: 'lora-mix',
  lora: LORA_SPLIT,
  model: '/model/llama2',
  endpoint: '/v1/completions',
  randomInputLen: '512',
  randomOutputLen: '128',
  randomRangeRatio: '0.5',
  seed: '0',
} as const;

/** Poisson arrivals per second: about 80 % of what the three replicas serve with this mix. */
const RATE = '4';
const SCALE = 0.2;

const COMMON = ['examples/seeds/004-vllm-service-ack.yaml', 'examples/seeds/004-gateway.yaml'];
const STANDARD_MANIFESTS = [...COMMON, 'examples/seeds/004-virtualservice.yaml'];

export const SEED_004: ScenarioDefinition = {
  name: 'seed-004',
  title: 'LoRA adapters on 3 replicas: VirtualService (traditional) vs LLMRoute → InferencePool',
  document: {
    file: '004_3e4a111fa1d2ad6e.txt',
    section:
      '(Optional) Compare performance with traditional load balancing using an observability dashboard',
  },
  manifests: COMMON,
  overlays: [],
  targets: [
    {
      name: 'standard',
      listener: 'default/llm-inference-gateway/http-service',
      declaredPort: 8080,
      manifests: STANDARD_MANIFESTS,
      serviceLb: 'least-request',
      description:
        'Istio VirtualService llm-vs → Service vllm-llama2-7b-pool, least-request (Istio’s default since 1.14)',
    },
    {
      name: 'round-robin',
      listener: 'default/llm-inference-gateway/http-service',
      declaredPort: 8080,
      manifests: STANDARD_MANIFESTS,
      serviceLb: 'round-robin',
      description: 'the same VirtualService, round-robin (Istio’s default before 1.14)',
    },
    {
      name: 'inference',
      listener: 'default/llm-inference-gateway/http-service',
      declaredPort: 8080,
      manifests: [
        ...COMMON,
        'examples/seeds/004-inferencepool.yaml',
        'examples/seeds/004-inferencemodel.yaml',
        'examples/seeds/004-llmroute.yaml',
      ],
      headers: { host: 'test.com' },
      scheduler: 'config',
      description:
        'LLMRoute test-llm-route (host test.com) → InferencePool vllm-llama2-7b-pool (load, KV and LoRA-affinity endpoint picking)',
    },
  ],
  full: {
    sim: {
      replicas: 3,
      profile: 'llama2-7b-a10',
      timeScale: SCALE,
      seed: 4,
      podLabels: 'app=vllm-llama2-7b-pool',
      servedModelName: '/model/llama2',
      spinWait: false,
      extraArgs: SIM_LORA_ARGS,
    },
    bench: { ...WORKLOAD, numPrompts: '1200', requestRate: RATE },
    deviations: [
      'the document gives no workload (llmperf) and no numbers: a LoRA mix is used, half to its InferenceModel tweet-summary',
      `the replicas are simulated (profile llama2-7b-a10) at time scale ${SCALE}; figures are in simulated time`,
    ],
  },
  quick: {
    sim: {
      replicas: 3,
      profile: 'llama2-7b-a10',
      timeScale: SCALE,
      seed: 4,
      podLabels: 'app=vllm-llama2-7b-pool',
      servedModelName: '/model/llama2',
      spinWait: false,
      extraArgs: SIM_LORA_ARGS,
    },
    bench: { ...WORKLOAD, numPrompts: '240', requestRate: RATE },
    deviations: [
      'quick: 240 requests instead of 1200',
      'the document gives no workload (llmperf) and no numbers: a LoRA mix is used, half to its InferenceModel tweet-summary',
      `the replicas are simulated (profile llama2-7b-a10) at time scale ${SCALE}; figures are in simulated time`,
    ],
  },
  documentNumbers: undefined,
  documentSays:
    'The comparison shows that LLM inference service load balancing provides better latency, throughput, and cache utilization (dashboards only; no figures given).',
  notes: [
    'The document deploys one route or the other (it deletes the InferencePool/LLMRoute before the VirtualService test), so each target is served from its own manifest set.',
  ],
};
