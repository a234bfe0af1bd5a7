/**
 * Seed 002 (ACK Gateway with AI Extension, QwQ-32B): five vLLM replicas of QwQ-32B on 4×A10 with
 * tensor parallel 4, vLLM's benchmark_serving random dataset (1000-token shared prefix, 4000 input
 * and 3000 output tokens with range ratio 0.2, 3000 prompts, 60 concurrent) through the gateway's
 * standard port 8080 and its inference-extension port 8081.
 */
import type { ScenarioDefinition } from './types.js';

/** The document's `benchmark_serving.py` flags, as written there. */
const DOCUMENT_WORKLOAD = {
  datasetName: 'random',
  randomPrefixLen: '1000',
  randomInputLen: '4000',
  randomOutputLen: '3000',
  randomRangeRatio: '0.2',
  // The document ran vLLM ≤ 0.8's benchmark_serving.py, whose range is [L·r, L]: its totals
  // (3,368 input / 1,784 output tokens per request) match that, not the centered range.
  randomRangeMode: 'legacy',
  endpoint: '/v1/completions',
  servedModelName: 'qwq-32b',
} as const;

/**
 * The replicas as the quality benchmark runs them: vLLM V1 (chunked prefill, prefix caching on,
 * vLLM's default 0.9 memory), the engine infergate targets today.
 */
export const SEED_002_SIM_V1 = {
  replicas: 5,
  profile: 'qwq-32b-4xa10-tp4',
  seed: 2,
  podLabels: 'app=qwq-32b',
  servedModelName: 'qwq-32b',
  spinWait: false,
  extraArgs: ['--max-model-len', '8192'],
} as const;

/**
 * The replicas as the document deployed them: `vllm serve … --max-model-len 8192
 * --gpu-memory-utilization 0.95 --enforce-eager` on the image vllm:v0.7.2, whose default engine is
 * V0 (VLLM_USE_V1=0): no chunked prefill at 8192 context, prefix caching off (the flags leave it
 * unset), prefill-only steps, preemption by recompute, V0 metric names.
 */
export const SEED_002_SIM = {
  ...SEED_002_SIM_V1,
  extraArgs: ['--engine', 'v0', '--max-model-len', '8192', '--gpu-memory-utilization', '0.95'],
} as const;

const SIM_NOTE = (scale: number): string =>
  `the replicas are simulated (profile qwq-32b-4xa10-tp4, vLLM 0.7's V0 scheduler as the document's vllm:v0.7.2 image ran it, 0.95 memory) at time scale ${scale}; figures are in simulated time`;

const FULL_SCALE = 0.1;
const FULL_PROMPTS = '600';
const QUICK_SCALE = 0.08;
const QUICK_PROMPTS = '400';
const DOCUMENT_SCALE = 0.1;

export const SEED_002: ScenarioDefinition = {
  name: 'seed-002',
  title: 'QwQ-32B on 5 replicas: standard routing (8080) vs inference-aware routing (8081)',
  document: {
    file: '002_6566a8cb71c85589.txt',
    section:
      'Step 3: Run stress tests on the inference service to monitor the performance and load balancing effects',
  },
  manifests: [
    'examples/seeds/002-gateway.yaml',
    'examples/seeds/002-inference-pool.yaml',
    'examples/seeds/002-inference-model.yaml',
    'examples/seeds/002-qwq-32b.yaml',
  ],
  overlays: [
    {
      // The document's 8080 HTTPRoute sends traffic to Service vllm-llama2-7b-pool, which it never
      // defines (its Service is qwq-32b-v1). Its measured run plainly reached the QwQ pods, so the
      // scenario supplies that Service over the same pods.
      name: 'seed-002-standard-service.yaml',
      yaml: [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        '  name: vllm-llama2-7b-pool',
        '  namespace: default',
        'spec:',
        '  selector:',
        '    app: qwq-32b',
        '  ports:',
        '    - port: 8000',
        '      protocol: TCP',
        '      targetPort: 8000',
        '',
      ].join('\n'),
    },
  ],
  targets: [
    {
      name: 'standard',
      listener: 'default/inference-gateway/http',
      declaredPort: 8080,
      serviceLb: 'least-request',
      documentColumn: 'standard',
      description: 'HTTPRoute → Service, least-request over the pods (Envoy Gateway’s default)',
    },
    {
      name: 'round-robin',
      listener: 'default/inference-gateway/http',
      declaredPort: 8080,
      serviceLb: 'round-robin',
      description: 'the same Service route, round-robin (a second plain baseline)',
    },
    {
      name: 'inference',
      listener: 'default/inference-gateway/llm-gw',
      declaredPort: 8081,
      scheduler: 'config',
      documentColumn: 'inference',
      description:
        'InferencePool reasoning-pool: infergate’s scheduler (default profile: load + prefix cache)',
    },
  ],
  full: {
    sim: { ...SEED_002_SIM, timeScale: FULL_SCALE },
    bench: { ...DOCUMENT_WORKLOAD, numPrompts: FULL_PROMPTS, maxConcurrency: '60', seed: '0' },
    deviations: [
      `${FULL_PROMPTS} prompts instead of 3000 (10 rounds of the 60-way concurrency instead of 50), the document's lengths: about 2 minutes per target; --full runs the document's 3000 (about 10 minutes per target)`,
      SIM_NOTE(FULL_SCALE),
    ],
  },
  documentSize: {
    sim: { ...SEED_002_SIM, timeScale: DOCUMENT_SCALE },
    bench: { ...DOCUMENT_WORKLOAD, numPrompts: '3000', maxConcurrency: '60', seed: '0' },
    deviations: [SIM_NOTE(DOCUMENT_SCALE)],
  },
  quick: {
    sim: { ...SEED_002_SIM, timeScale: QUICK_SCALE },
    bench: {
      ...DOCUMENT_WORKLOAD,
      // Outputs ÷10 keep the prefill-heavy shape and the 60-way queueing in a few seconds of wall time.
      randomOutputLen: '300',
      numPrompts: QUICK_PROMPTS,
      maxConcurrency: '60',
      seed: '0',
    },
    deviations: [
      `quick: ${QUICK_PROMPTS} prompts instead of 3000 and outputs ÷10 (U[60, 300] tokens): TTFT and queueing compare, absolute throughput does not`,
      SIM_NOTE(QUICK_SCALE),
    ],
  },
  documentNumbers: {
    standard: {
      completed: 2990,
      duration_s: 5822.6,
      total_input_tokens: 10071917,
      total_output_tokens: 5334789,
      request_throughput: 0.51,
      output_token_throughput: 916.22,
      total_token_throughput: 2646.02,
      'ttft.mean': 2456.44,
      'ttft.median': 1366.07,
      'ttft.p99': 23509.43,
      'tpot.mean': 63.5,
      'tpot.median': 63.33,
      'tpot.p99': 75.22,
      'itl.mean': 63.47,
      'itl.median': 55.49,
      'itl.p99': 59.16,
    },
    inference: {
      completed: 2990,
      duration_s: 5755.77,
      total_input_tokens: 10071917,
      total_output_tokens: 5332890,
      request_throughput: 0.52,
      output_token_throughput: 926.53,
      total_token_throughput: 2676.41,
      'ttft.mean': 1796.93,
      'ttft.median': 1470.97,
      'ttft.p99': 8857.07,
      'tpot.mean': 63.1,
      'tpot.median': 63.03,
      'tpot.p99': 70.68,
      'itl.mean': 63.06,
      'itl.median': 55.37,
      'itl.p99': 59.17,
    },
  },
  documentSays:
    'Inference-aware routing: mean TTFT −26.8 % (2456 → 1797 ms), P99 TTFT −62.3 % (23509 → 8857 ms), output throughput +1.1 % (916 → 927 tok/s).',
  notes: [
    'The 8080 route names Service vllm-llama2-7b-pool, which the document never defines; the scenario adds it over the app=qwq-32b pods.',
    'vLLM ≤ 0.8 drew random lengths from [L·r, L]; the scenario uses that legacy range (--random-range-mode legacy) to send what the document sent.',
    'The replicas run the V0 engine (infergate sim --engine v0), as vllm:v0.7.2 does by default; the quality benchmark (quality-002) keeps the V1 engine.',
  ],
};
