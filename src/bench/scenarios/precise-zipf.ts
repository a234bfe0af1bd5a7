/**
 * Issue 14's skewed workload: issue 16's quality-zipf stream (20 shared system prompts of 3,000
 * tokens with Zipf 1.35 popularity, the first taking ≈ 40 % of the requests) through least-request,
 * infergate's default profile (approximate prefix scorer) and the same profile with the precise
 * prefix-cache scorer fed by the replicas' KV events. Goal: precise P99 TTFT no worse than
 * least-request's (prefix affinity must not pile the hot prefix onto one replica) while its mean
 * TTFT is ≤ 0.6× least-request's.
 *
 * The replicas publish KV events (`--kv-events-config`, OS-chosen ports written on the emitted Pods)
 * and, like the scorer, use the stand-in tokenizer: the workload's text is sized in its tokens.
 */
import { QUALITY_ZIPF, ZIPF_WORKLOAD } from './peer-quality.js';
import type { ScenarioDefinition, ScenarioGoal, ScenarioTarget } from './types.js';

/**
 * The EndpointPickerConfig of the precise target: the default (cost-aware) profile with the prefix
 * scorer swapped — prefill-cost-scorer then weighs the exact cached share from the events against
 * each replica's pending prefill.
 */
const PRECISE_PICKER_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
metadata: { name: inference-gateway-ext-proc, namespace: default }
plugins:
- type: saturation-filter
- type: precise-prefix-cache-scorer
  name: prefix
  parameters: { blockSize: 16 }
- type: prefill-cost-scorer
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: inflight-load-scorer
- type: lora-affinity-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - { pluginRef: saturation-filter }
  - { pluginRef: prefix, weight: 1 }
  - { pluginRef: prefill-cost-scorer, weight: 8 }
  - { pluginRef: queue-scorer, weight: 1 }
  - { pluginRef: kv-cache-utilization-scorer, weight: 1 }
  - { pluginRef: inflight-load-scorer, weight: 1 }
  - { pluginRef: lora-affinity-scorer, weight: 1 }
  - { pluginRef: max-score-picker }
`;

const KV_EVENTS_CONFIG = JSON.stringify({
  enable_kv_cache_events: true,
  endpoint: 'tcp://127.0.0.1:*',
  replay_endpoint: 'tcp://127.0.0.1:*',
  topic: 'kv@sim@qwen',
});

const [LEAST_REQUEST, INFERGATE] = QUALITY_ZIPF.targets as [ScenarioTarget, ScenarioTarget];

const TARGETS: readonly ScenarioTarget[] = [
  LEAST_REQUEST,
  INFERGATE,
  {
    name: 'infergate-precise',
    listener: INFERGATE.listener,
    declaredPort: INFERGATE.declaredPort,
    scheduler: 'config',
    description:
      'InferencePool vllm-qwen-pool, the default (cost-aware) profile with precise-prefix-cache-scorer (KV events) as its prefix scorer',
  },
];

const GOALS: readonly ScenarioGoal[] = [
  {
    key: 'ttft.p99',
    label: 'P99 TTFT',
    kind: 'at-most',
    value: 1,
    against: LEAST_REQUEST.name,
    targets: ['infergate-precise'],
  },
  {
    key: 'ttft.mean',
    label: 'mean TTFT',
    kind: 'at-most',
    value: 0.6,
    against: LEAST_REQUEST.name,
    targets: ['infergate-precise'],
  },
];

const withEvents = (run: ScenarioDefinition['full']): ScenarioDefinition['full'] => ({
  ...run,
  sim: { ...run.sim, extraArgs: [...run.sim.extraArgs, '--kv-events-config', KV_EVENTS_CONFIG] },
  bench: { ...ZIPF_WORKLOAD, ...run.bench },
  deviations: [
    ...run.deviations,
    'the replicas publish KV events (vLLM --kv-events-config) for every target',
  ],
});

export const QUALITY_ZIPF_PRECISE: ScenarioDefinition = {
  ...QUALITY_ZIPF,
  name: 'quality-zipf-precise',
  title:
    'Issue 14, skewed shared prefixes: quality-zipf’s stream (20 system prompts, the first ≈ 40 % of requests) — precise prefix-cache routing (KV events) vs infergate default vs least-request',
  document: { file: 'issue 14', section: 'a skewed workload: Zipf over 20 shared prefixes' },
  overlays: [...QUALITY_ZIPF.overlays, { name: 'precise-picker-config.yaml', yaml: PRECISE_PICKER_CONFIG }],
  targets: TARGETS,
  full: withEvents(QUALITY_ZIPF.full),
  quick: withEvents(QUALITY_ZIPF.quick),
  documentSays:
    'Issue 14: with one prefix taking 40 % of the requests, precise routing keeps P99 TTFT no worse than least-request’s while its mean TTFT is ≤ 0.6× least-request’s.',
  goals: GOALS,
  notes: [
    ...QUALITY_ZIPF.notes,
    'The overlay precise-picker-config.yaml is the precise target’s EndpointPickerConfig (named like the pool’s extensionRef, so the pool picks it with --scheduler config); the other targets do not read it.',
  ],
};
