/**
 * Seed 003 (prefix-aware load balancing, Qwen2.5-7B-Instruct on L20): five replicas with automatic
 * prefix caching, LMCache's multi-round QA (8 users, 15 rounds, 0.1 QPS, 100-token shared system
 * prompt, 2000-token user history, answers ≤ 100 tokens, ShareGPT questions, 600 s) through the
 * standard port 8080 (Service, least-request) and port 8081 (InferencePool with the PREFIX_CACHE
 * routing strategy).
 */
import type { ScenarioDefinition } from './types.js';

/** The document's multi-round-qa.py flags, as written there (also the quality benchmark's). */
export const SEED_003_WORKLOAD = {
  datasetName: 'multi-round',
  numUsers: '8',
  numRounds: '15',
  qps: '0.1',
  sharedSystemPrompt: '100',
  userHistoryPrompt: '2000',
  answerLen: '100',
  // --sharegpt: questions (and answer caps) from ShareGPT; here the built-in ShareGPT distribution.
  questionLen: 'sharegpt',
  servedModelName: '/model/qwen',
  endpoint: '/v1/chat/completions',
  // LMCache does not send ignore_eos: answers end where the model (the simulator's EOS) ends them.
  ignoreEos: false,
  seed: '0',
} as const;

const SIM = {
  replicas: 5,
  profile: 'qwen2.5-7b-l20',
  seed: 3,
  podLabels: 'app=qwen',
  servedModelName: '/model/qwen',
  spinWait: false,
  extraArgs: [
    '--enable-prefix-caching',
    '--enable-lora',
    '--max-loras',
    '2',
    '--max-cpu-loras',
    '4',
    '--lora-modules',
    'travel-helper-v1=/models/Qwen-TravelHelper-Lora',
    'travel-helper-v2=/models/Qwen-TravelHelper-Lora-v2',
  ],
} as const;

const FULL_SCALE = 0.1;
const QUICK_SCALE = 0.05;
const QUICK_TIME = '300';

export const SEED_003: ScenarioDefinition = {
  name: 'seed-003',
  title: 'Multi-round chat on 5 replicas: standard routing (8080) vs prefix-aware routing (8081)',
  document: {
    file: '003_9975f282a9b4e97c.txt',
    section: '（可选）步骤五：通过多轮对话测试评估推理服务性能',
  },
  manifests: [
    'examples/seeds/003-vllm-service.yaml',
    'examples/seeds/003-inference-pool.yaml',
    'examples/seeds/003-inference-gateway.yaml',
  ],
  overlays: [],
  targets: [
    {
      name: 'standard',
      listener: 'default/qwen-inference-gateway/http',
      declaredPort: 8080,
      serviceLb: 'least-request',
      documentColumn: 'standard',
      description: 'HTTPRoute qwen-backend-no-inference → Service qwen, least-request (as the document says)',
    },
    {
      name: 'round-robin',
      listener: 'default/qwen-inference-gateway/http',
      declaredPort: 8080,
      serviceLb: 'round-robin',
      description: 'the same Service route, round-robin (a second plain baseline)',
    },
    {
      name: 'inference',
      listener: 'default/qwen-inference-gateway/llm-gw',
      declaredPort: 8081,
      scheduler: 'config',
      documentColumn: 'inference',
      description:
        'HTTPRoute qwen-backend → InferencePool vllm-qwen-pool (routing-strategy PREFIX_CACHE: the prefix-cache profile)',
    },
  ],
  full: {
    sim: { ...SIM, timeScale: FULL_SCALE },
    bench: { ...SEED_003_WORKLOAD, time: '600' },
    deviations: [
      `the replicas are simulated (profile qwen2.5-7b-l20) at time scale ${FULL_SCALE}; figures are in simulated time`,
      'questions follow the built-in ShareGPT length distribution (no ShareGPT file is downloaded)',
    ],
  },
  quick: {
    sim: { ...SIM, timeScale: QUICK_SCALE },
    bench: { ...SEED_003_WORKLOAD, time: QUICK_TIME },
    deviations: [
      `quick: ${QUICK_TIME} s of simulated time per target instead of 600, at time scale ${QUICK_SCALE}`,
      'questions follow the built-in ShareGPT length distribution (no ShareGPT file is downloaded)',
    ],
  },
  documentNumbers: {
    standard: {
      request_throughput: 0.108,
      input_token_throughput: 259.0703,
      output_token_throughput: 4.8576,
      'ttft.mean': 366.9,
      duration_s: 583.2,
    },
    inference: {
      request_throughput: 0.1081,
      input_token_throughput: 259.3009,
      output_token_throughput: 4.8548,
      'ttft.mean': 276.1,
      duration_s: 582.72,
    },
  },
  documentSays:
    'Prefix-aware routing: average TTFT 0.3669 s → 0.2761 s (−24.7 %) at the same processing speed (0.108 req/s) and token rates.',
  notes: [
    'LMCache reports "Processing speed" (requests/s), "Input/Output tokens per second" and "Average TTFT"; they are shown in the request throughput, input/output token throughput and mean TTFT rows.',
    'LMCache measures over the finished requests in its time range; we measure over the whole run including the grace period, so durations differ slightly.',
  ],
};
