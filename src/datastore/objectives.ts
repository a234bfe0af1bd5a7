/**
 * What a pool makes of a request's `model` and objective:
 *   1. an InferenceModel whose modelName equals the model → its criticality, and a target drawn by
 *      weight among its targetModels (none: the model is sent unchanged);
 *   2. else an InferenceModelRewrite rule matching the model exactly → a target drawn by weight;
 *   3. else the model is unknown to the pool: passed through unchanged with Standard priority (as the
 *      reference picker does), or — when the pool's annotation `infergate.io/unknown-models: reject`
 *      (or the registry option) asks for it and the pool declares at least one model — 404
 *      MODEL_NOT_FOUND.
 * The header `x-gateway-inference-objective` names an InferenceObjective whose priority then
 * overrides the criticality's. Priority: Critical 1, Standard 0, Sheddable −1; negative = sheddable.
 */
import type { Criticality, ModelPlan, ObjectivePlan, PoolPlan } from '../config/plan.js';
import { GatewayError } from '../openai/errors.js';
import type { InferenceRequest } from '../openai/inference-request.js';
import { type Rng, weightedIndex } from '../util/rng.js';

export const OBJECTIVE_HEADER = 'x-gateway-inference-objective';
export const UNKNOWN_MODELS_ANNOTATION = 'infergate.io/unknown-models';

export type UnknownModelPolicy = 'passthrough' | 'reject';

export interface ObjectiveChoice {
  /** The request's own `model`. */
  readonly clientModel: string | undefined;
  /** The model to send upstream. */
  readonly targetModel: string | undefined;
  readonly priority: number;
  readonly criticality: Criticality | undefined;
  /** InferenceObjective name, when the header selected one. */
  readonly objective: string | undefined;
}

const PRIORITY_BY_CRITICALITY: Readonly<Record<Criticality, number>> = {
  Critical: 1,
  Standard: 0,
  Sheddable: -1,
};

interface WeightedTargets {
  readonly names: readonly string[];
  readonly weights: readonly number[];
}

export class PoolObjectives {
  readonly unknownModels: UnknownModelPolicy;
  private readonly models = new Map<string, { plan: ModelPlan; targets: WeightedTargets | undefined }>();
  private readonly rewrites = new Map<string, WeightedTargets>();
  private readonly objectives = new Map<string, ObjectivePlan>();

  constructor(pool: PoolPlan, defaultPolicy: UnknownModelPolicy = 'passthrough') {
    for (const m of pool.models) {
      const targets =
        m.targetModels.length > 0
          ? weighted(m.targetModels.map((t) => [t.name, t.weight] as const))
          : undefined;
      this.models.set(m.modelName, { plan: m, targets });
    }
    for (const rw of pool.rewrites) {
      for (const rule of rw.rules) {
        if (rule.targets.length === 0) continue;
        const targets = weighted(rule.targets.map((t) => [t.modelRewrite, t.weight] as const));
        for (const match of rule.matches)
          if (!this.rewrites.has(match.value)) this.rewrites.set(match.value, targets);
      }
    }
    for (const o of pool.objectives) this.objectives.set(o.name, o);
    const annotated = pool.annotations?.[UNKNOWN_MODELS_ANNOTATION];
    this.unknownModels = annotated === 'reject' || annotated === 'passthrough' ? annotated : defaultPolicy;
  }

  /** True when the pool declares models (InferenceModels or rewrites). */
  get declaresModels(): boolean {
    return this.models.size > 0 || this.rewrites.size > 0;
  }

  /** Throws GatewayError MODEL_NOT_FOUND for an unknown model when the pool rejects those. */
  resolve(req: InferenceRequest, rng: Rng): ObjectiveChoice {
    const model = req.model;
    let targetModel = model;
    let criticality: Criticality | undefined;
    let priority = 0;
    const declared = model === undefined ? undefined : this.models.get(model);
    if (declared) {
      criticality = declared.plan.criticality;
      priority = PRIORITY_BY_CRITICALITY[criticality];
      if (declared.targets) targetModel = draw(declared.targets, rng);
    } else {
      const rewrite = model === undefined ? undefined : this.rewrites.get(model);
      if (rewrite) targetModel = draw(rewrite, rng);
      else if (model !== undefined && this.unknownModels === 'reject' && this.declaresModels) {
        throw new GatewayError('MODEL_NOT_FOUND', `The model \`${model}\` does not exist.`, 'model');
      }
    }
    let objective: string | undefined;
    const header = req.headers[OBJECTIVE_HEADER];
    const name = Array.isArray(header) ? header[0] : header;
    if (name) {
      const o = this.objectives.get(name);
      if (o) {
        objective = o.name;
        priority = o.priority;
        if (criticality === undefined)
          criticality = o.priority < 0 ? 'Sheddable' : o.priority > 0 ? 'Critical' : 'Standard';
      }
    }
    return { clientModel: model, targetModel, priority, criticality, objective };
  }
}

function weighted(pairs: readonly (readonly [string, number])[]): WeightedTargets {
  const names = pairs.map((p) => p[0]);
  let weights = pairs.map((p) => (Number.isFinite(p[1]) && p[1] > 0 ? p[1] : 0));
  if (!weights.some((w) => w > 0)) weights = weights.map(() => 1);
  return { names, weights };
}

function draw(t: WeightedTargets, rng: Rng): string {
  if (t.names.length === 1) return t.names[0]!;
  const i = weightedIndex(rng, t.weights);
  return t.names[Math.max(0, i)]!;
}
