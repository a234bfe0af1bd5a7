/**
 * `lora-affinity-scorer` (reference): for a request whose target model is a LoRA adapter —
 * 1.0 where the adapter is active, 0.8 where a slot is free to load it (active + waiting adapters <
 * max), 0.6 where it is already waiting to load, 0 otherwise. Neutral (1 everywhere) when the target
 * is a base model a server reports (its `model_name`), or when no candidate reports LoRA state.
 * An endpoint without LoRA state among endpoints with it scores 0.5 (unknown).
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';

export const LORA_AFFINITY_SCORER = 'lora-affinity-scorer';

export class LoraAffinityScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = LORA_AFFINITY_SCORER;
  readonly category = 'affinity';

  constructor(readonly name: string) {}

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const n = candidates.length;
    const target = ctx.targetModel;
    let anyLoraInfo = false;
    for (let i = 0; i < n; i++) {
      const m = candidates[i]!.metrics;
      if (!m) continue;
      if (target === undefined || m.models.includes(target)) {
        out.fill(1, 0, n);
        return;
      }
      if (m.maxLoras !== undefined) anyLoraInfo = true;
    }
    if (!anyLoraInfo) {
      out.fill(1, 0, n);
      return;
    }
    for (let i = 0; i < n; i++) {
      const m = candidates[i]!.metrics;
      if (!m || m.maxLoras === undefined) out[i] = 0.5;
      else if (m.activeLoras.includes(target!)) out[i] = 1;
      else if (m.activeLoras.length + m.waitingLoras.length < m.maxLoras) out[i] = 0.8;
      else if (m.waitingLoras.includes(target!)) out[i] = 0.6;
      else out[i] = 0;
    }
  }
}

export function createLoraAffinityScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): LoraAffinityScorer {
  new ParamReader(LORA_AFFINITY_SCORER, params).done();
  return new LoraAffinityScorer(name);
}
