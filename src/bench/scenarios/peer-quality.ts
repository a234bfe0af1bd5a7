/**
 * Issue 16's comparison with the strongest peer router users can install in a minute, SGLang's
 * (`sglang-router`, policies cache_aware and power_of_two: src/bench/peers/), and the vLLM project's
 * (`vllm-router` cache_aware), side by side with
 * infergate's scheduler and least-request, on workloads where prefix affinity and load conflict:
 * - quality-chat-heavy: many users, each with a long private history behind a shared system prompt,
 *   at a load where caching decides TTFT (the affine replica is often busy with others' prefills);
 * - quality-zipf: 20 shared system prompts with Zipf popularity (the first ≈ 40 % of the requests),
 *   so affinity alone would pile the popular prefix onto one replica;
 * plus quality-003 (quality.ts), which runs the same peers.
 * Goals (issue 16): infergate's mean TTFT ≤ 0.95× and P99 TTFT ≤ 0.9× of SGLang cache_aware's at
 * equal throughput, and mean TTFT ≤ 0.6× of least-request's where the workload is cache-bound.
 */
import type { PeerSpec } from '../peers/index.js';
import { SEED_003, SEED_003_WORKLOAD } from './seed-003.js';
import type { ScenarioDefinition, ScenarioGoal, ScenarioTarget } from './types.js';

export const SGLANG_CACHE_AWARE = 'sglang-cache-aware';
export const SGLANG_POWER_OF_TWO = 'sglang-power-of-two';
export const VLLM_CACHE_AWARE = 'vllm-cache-aware';

/** The peer targets every issue-16 scenario runs (skipped with a message when not installed). */
export function peerTargets(): ScenarioTarget[] {
  const peer = (policy: PeerSpec['policy']): PeerSpec => ({ kind: 'sglang-router', policy });
  return [
    {
      name: SGLANG_CACHE_AWARE,
      listener: '',
      declaredPort: 0,
      peer: peer('cache_aware'),
      description: 'SGLang router (sglang-router 0.3.2) --policy cache_aware, CLI defaults',
    },
    {
      name: SGLANG_POWER_OF_TWO,
      listener: '',
      declaredPort: 0,
      peer: peer('power_of_two'),
      description: 'SGLang router (sglang-router 0.3.2) --policy power_of_two',
    },
    {
      name: VLLM_CACHE_AWARE,
      listener: '',
      declaredPort: 0,
      peer: { kind: 'vllm-router', policy: 'cache_aware' },
      description:
        'vLLM router (vllm-router 0.1.17, forked from SGLang’s) --policy cache_aware, CLI defaults',
    },
  ];
}

/** infergate's default profile before issue 16 (`load-aware`, opt-in now), beside the default. */
export function loadAwareTarget(): ScenarioTarget {
  return {
    name: 'infergate-load-aware',
    listener: LISTENER_POOL,
    declaredPort: 8081,
    scheduler: 'load-aware',
    description: 'InferencePool vllm-qwen-pool, the load-aware profile (the default before issue 16)',
  };
}

const LISTENER_SERVICE = 'default/qwen-inference-gateway/http';
const LISTENER_POOL = 'default/qwen-inference-gateway/llm-gw';

/** least-request (baseline), infergate's default profile, then the peers. */
function targets(): ScenarioTarget[] {
  return [
    {
      name: 'least-request',
      listener: LISTENER_SERVICE,
      declaredPort: 8080,
      serviceLb: 'least-request',
      description: 'Service route, least-request (power of two choices, Envoy’s default): the baseline',
    },
    {
      name: 'infergate',
      listener: LISTENER_POOL,
      declaredPort: 8081,
      scheduler: 'default',
      description: 'InferencePool vllm-qwen-pool, infergate’s scheduler (default profile)',
    },
    loadAwareTarget(),
    ...peerTargets(),
  ];
}

/**
 * Issue 16's goals for infergate's targets: against SGLang cache_aware (mean ≤ 0.95×, P99 ≤ 0.9×,
 * throughput equal within `throughputTolerance`) and, where `cacheBound`, mean ≤ 0.6× least-request.
 */
export function peerGoals(
  infergateTargets: readonly string[],
  cacheBound: boolean,
  throughputTolerance: number,
): ScenarioGoal[] {
  const g: ScenarioGoal[] = [
    {
      key: 'ttft.mean',
      label: 'mean TTFT',
      kind: 'at-most',
      value: 0.95,
      against: SGLANG_CACHE_AWARE,
      targets: infergateTargets,
    },
    {
      key: 'ttft.p99',
      label: 'P99 TTFT',
      kind: 'at-most',
      value: 0.9,
      against: SGLANG_CACHE_AWARE,
      targets: infergateTargets,
    },
    {
      key: 'output_token_throughput',
      label: 'output throughput',
      kind: 'at-least',
      value: 1.0,
      tolerance: throughputTolerance,
      against: SGLANG_CACHE_AWARE,
      targets: infergateTargets,
    },
  ];
  if (cacheBound)
    g.push({
      key: 'ttft.mean',
      label: 'mean TTFT',
      kind: 'at-most',
      value: 0.6,
      against: 'least-request',
      targets: infergateTargets,
    });
  return g;
}

/** The simulator as seed 003 runs it (qwen2.5-7b on an L20, 5 replicas, prefix caching). */
const SIM = { ...SEED_003.full.sim };

/** The time scale the first comparison used; bench/peer-overhead.ts checks it is fair. */
export const PEER_TIME_SCALE = 0.5;

const CHAT_HEAVY_WORKLOAD = {
  datasetName: 'multi-round',
  numUsers: '40',
  numRounds: '8',
  qps: '0.8',
  sharedSystemPrompt: '1000',
  userHistoryPrompt: '6000',
  answerLen: '100',
  questionLen: 'sharegpt',
  servedModelName: '/model/qwen',
  endpoint: '/v1/chat/completions',
  ignoreEos: false,
  seed: '0',
} as const;

const TIME_NOTE = (scale: number): string =>
  `the replicas are simulated (profile qwen2.5-7b-l20) at time scale ${scale}; figures are in simulated time; each router's own wall overhead is × 1/${scale} in simulated time (bench/peer-overhead.ts measures it: docs/results.md)`;

export const QUALITY_CHAT_HEAVY: ScenarioDefinition = {
  name: 'quality-chat-heavy',
  title:
    'Issue 16, heavy chat: 40 users with 6,000-token private histories behind a shared 1,000-token system prompt, 0.8 QPS, 5 replicas — infergate vs SGLang router vs least-request',
  document: {
    file: 'issue 16',
    section: 'long private histories under load (affinity and load conflict)',
  },
  manifests: SEED_003.manifests,
  overlays: SEED_003.overlays,
  targets: targets(),
  full: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    bench: { ...CHAT_HEAVY_WORKLOAD, time: '240' },
    deviations: [
      '240 s of simulated time per target; questions follow the built-in ShareGPT length distribution',
      TIME_NOTE(PEER_TIME_SCALE),
    ],
  },
  quick: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    bench: { ...CHAT_HEAVY_WORKLOAD, time: '120' },
    deviations: ['quick: 120 s of simulated time per target', TIME_NOTE(PEER_TIME_SCALE)],
  },
  documentNumbers: undefined,
  documentSays:
    'Issue 16: infergate mean TTFT ≤ 0.95× and P99 TTFT ≤ 0.9× of SGLang cache_aware at equal throughput; mean ≤ 0.6× of least-request where the workload is cache-bound.',
  goals: peerGoals(['infergate', 'infergate-load-aware'], true, 0.02),
  notes: [
    'Every target gets a fresh simulator (cold caches) and the same seeded requests; the peers run in front of the replicas instead of infergate’s gateway.',
  ],
};

/** Issue 16's skewed stream (also issue 14's, src/bench/scenarios/precise-zipf.ts). */
export const ZIPF_WORKLOAD = {
  datasetName: 'shared-prefix',
  numGroups: '20',
  groupZipf: '1.35',
  promptsPerGroup: '1000',
  systemPromptLen: '3000',
  questionLen: '400',
  outputLen: '100',
  requestRate: '4',
  servedModelName: '/model/qwen',
  endpoint: '/v1/chat/completions',
  seed: '0',
} as const;

export const QUALITY_ZIPF: ScenarioDefinition = {
  name: 'quality-zipf',
  title:
    'Issue 16, skewed shared prefixes: 20 system prompts of 3,000 tokens + 400-token questions, Zipf 1.35 popularity (the first ≈ 40 %), 4 req/s Poisson, 5 replicas — infergate vs SGLang router vs least-request',
  document: {
    file: 'issue 16',
    section: 'skewed shared prefixes (a hot prefix one replica cannot serve alone)',
  },
  manifests: SEED_003.manifests,
  overlays: SEED_003.overlays,
  targets: targets(),
  full: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    bench: { ...ZIPF_WORKLOAD, numPrompts: '960' },
    deviations: ['960 requests (≈ 240 s of simulated time) per target', TIME_NOTE(PEER_TIME_SCALE)],
  },
  quick: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    bench: { ...ZIPF_WORKLOAD, numPrompts: '480' },
    deviations: ['quick: 480 requests (≈ 120 s of simulated time) per target', TIME_NOTE(PEER_TIME_SCALE)],
  },
  documentNumbers: undefined,
  documentSays:
    'Issue 16: infergate mean TTFT ≤ 0.95× and P99 TTFT ≤ 0.9× of SGLang cache_aware at equal throughput (every replica soon holds every prefix, so the workload is not cache-bound and the 0.6×-of-least-request goal does not apply).',
  goals: peerGoals(['infergate', 'infergate-load-aware'], false, 0.02),
  notes: QUALITY_CHAT_HEAVY.notes,
};

/**
 * Seed 003's chat with enough requests for a P99 at the peer time scale: the document's per-user
 * pace (a question every 80 s: 8 users at 0.1 QPS) with ten times the users (80 at 1 QPS), so 240 s
 * of simulated time send ≈ 240 requests instead of 24. The document's own load is quality-003.
 */
export const QUALITY_003_PEERS: ScenarioDefinition = {
  name: 'quality-003-peers',
  title:
    'Issue 16, seed 003’s multi-round chat at ten times the users (80 users, 1 QPS: each user’s pace as in the document), 5 replicas — infergate vs SGLang router vs least-request',
  document: {
    file: 'issue 16',
    section: 'quality-003 with enough requests for a P99 (≥ 200) at the peer time scale',
  },
  manifests: SEED_003.manifests,
  overlays: SEED_003.overlays,
  targets: targets(),
  full: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    bench: { ...SEED_003_WORKLOAD, numUsers: '80', qps: '1', time: '240' },
    deviations: [
      'seed 003’s workload with 80 users at 1 QPS (the document: 8 at 0.1), 240 s of simulated time per target',
      TIME_NOTE(PEER_TIME_SCALE),
    ],
  },
  quick: {
    sim: { ...SIM, timeScale: PEER_TIME_SCALE },
    // The point of this workload is a P99 over ≥ 200 requests: the quick form is not shorter.
    bench: { ...SEED_003_WORKLOAD, numUsers: '80', qps: '1', time: '240' },
    deviations: ['quick: the same 240 s (≈ 240 requests: a P99 needs them)', TIME_NOTE(PEER_TIME_SCALE)],
  },
  documentNumbers: undefined,
  documentSays: QUALITY_CHAT_HEAVY.documentSays,
  goals: peerGoals(['infergate', 'infergate-load-aware'], true, 0.02),
  notes: QUALITY_CHAT_HEAVY.notes,
};
