/**
 * The vLLM simulator's public surface. Tests start replicas in-process with `startSimCluster`;
 * heavier users (demo, benchmark scenarios) spawn `infergate sim` so the simulator's event loop is
 * its own. docs/simulator.md describes the engine model, timing formulas and flags.
 */
export {
  replicaOptions,
  type SimCluster,
  type SimClusterOptions,
  type SimReplicaInfo,
  startSimCluster,
} from './cluster.js';
export {
  type LoraModule,
  parseLoraModule,
  resolveReplicaOptions,
  SimConfigError,
  type SimReplicaOptions,
  type SlowStartMode,
} from './options.js';
export {
  buildPodManifests,
  type PodManifest,
  type PodManifestOptions,
  type PodReplica,
  parseLabels,
  podManifestsYaml,
} from './pods.js';
export { DEFAULT_PROFILE, findProfile, PROFILES, profileNames, type TimingProfile } from './profiles.js';
export { FAILURE_TYPES, type FailureType } from './server/failures.js';
export type { MetricsVersion } from './vllm-page/vllm-metrics.js';
