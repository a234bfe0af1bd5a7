/**
 * Traffic splits: which `model` (LoRA adapters, or any model names such as InferenceModels of
 * different criticality) and which `x-gateway-inference-objective` (InferenceObjective name) each
 * request carries. A split is written `name:weight,name:weight`; weights are relative (they need not
 * sum to 1). The draw for request i depends only on (seed, i), so it is the same in every run.
 */
import { weightedIndex } from '../../util/rng.js';
import { badOption } from '../errors.js';
import { streamRng } from './text.js';

export interface SplitEntry {
  name: string;
  weight: number;
}

/** Header carrying the InferenceObjective name (Gateway API Inference Extension). */
export const OBJECTIVE_HEADER = 'x-gateway-inference-objective';

/**
 * Parses `a:0.5,b:0.3,base:0.2`. `base` (when `baseModel` is given) stands for the base model.
 * Throws a BAD_OPTION error naming `flag` when malformed.
 */
export function parseSplit(text: string, flag: string, baseModel?: string): SplitEntry[] {
  const entries: SplitEntry[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item.length === 0) continue;
    const colon = item.lastIndexOf(':');
    const name = colon < 0 ? item : item.slice(0, colon);
    const weight = colon < 0 ? 1 : Number(item.slice(colon + 1));
    if (name.length === 0) throw badOption(flag, `has an entry without a name: "${item}"`);
    if (!Number.isFinite(weight) || weight < 0) {
      throw badOption(
        flag,
        `weight of "${name}" must be a non-negative number, got "${item.slice(colon + 1)}"`,
      );
    }
    entries.push({ name: name === 'base' && baseModel !== undefined ? baseModel : name, weight });
  }
  if (entries.length === 0) throw badOption(flag, 'needs at least one name:weight entry');
  if (!entries.some((e) => e.weight > 0)) throw badOption(flag, 'needs at least one positive weight');
  return entries;
}

/** A seeded draw from a split, per request index. */
export class SplitPicker {
  private readonly weights: number[];

  constructor(
    readonly entries: readonly SplitEntry[],
    private readonly seed: number,
    private readonly stream: string,
  ) {
    this.weights = entries.map((e) => e.weight);
  }

  pick(index: number): string {
    const i = weightedIndex(streamRng(this.seed, this.stream, index), this.weights);
    return this.entries[Math.max(i, 0)]!.name;
  }
}
