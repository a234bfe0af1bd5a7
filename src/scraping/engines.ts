/**
 * The engine mappings by type name, and how an endpoint's engine is chosen:
 *   1. the pod label `inference.networking.k8s.io/engine-type` (per pod: mixed pools work);
 *   2. else the InferencePool annotation of the same name (per pool);
 *   3. else vLLM.
 * An unrecognised value falls back to vLLM; `resolveEngine` reports it so the caller can warn once.
 */
import type { Labels } from '../util/labels.js';
import { llamacppMapping } from './llamacpp.js';
import type { EngineMapping } from './model-server-metrics.js';
import { sglangMapping } from './sglang.js';
import { tgiMapping } from './tgi.js';
import { tritonMapping, trtllmServeMapping } from './trtllm.js';
import { vllmMapping } from './vllm.js';

export const ENGINE_TYPE_LABEL = 'inference.networking.k8s.io/engine-type';
/** Pod label naming a metrics port different from the serving port (Triton: 8002). */
export const METRICS_PORT_LABEL = 'infergate.io/metrics-port';

export const ENGINE_MAPPINGS: readonly EngineMapping[] = [
  vllmMapping,
  sglangMapping,
  trtllmServeMapping,
  tritonMapping,
  tgiMapping,
  llamacppMapping,
];

const BY_NAME = new Map<string, EngineMapping>();
for (const m of ENGINE_MAPPINGS) {
  BY_NAME.set(m.type, m);
  for (const a of m.aliases) BY_NAME.set(a, m);
}

/** The mapping for a type name or alias (case-insensitive), or undefined. */
export function engineByName(name: string): EngineMapping | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}

export interface EngineChoice {
  mapping: EngineMapping;
  /** The label/annotation value that was not recognised (vLLM was used instead), if any. */
  unknown?: string;
}

/** Picks the engine for a pod from its labels, the pool's annotations, then the default (vLLM). */
export function resolveEngine(podLabels: Labels, poolAnnotations?: Labels): EngineChoice {
  const raw = podLabels[ENGINE_TYPE_LABEL] ?? poolAnnotations?.[ENGINE_TYPE_LABEL];
  if (raw === undefined || raw === '') return { mapping: vllmMapping };
  const mapping = engineByName(raw);
  return mapping ? { mapping } : { mapping: vllmMapping, unknown: raw };
}

/** The metrics port for an endpoint: the pod label `infergate.io/metrics-port`, else the serving port. */
export function metricsPortOf(podLabels: Labels, servingPort: number): number {
  const raw = podLabels[METRICS_PORT_LABEL];
  if (raw === undefined) return servingPort;
  const p = Number(raw);
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : servingPort;
}
