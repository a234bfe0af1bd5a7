/** Shared selection helpers for pickers. */
import type { Rng } from '../../../util/rng.js';
import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Picker } from '../../framework/types.js';

/** `maxNumOfEndpoints` (reference parameter of every picker), default 1. */
export function readMaxEndpoints(type: string, params: Readonly<Record<string, unknown>>): number {
  const p = new ParamReader(type, params);
  const k = p.int('maxNumOfEndpoints', 1, { min: 1, max: 64 });
  p.done();
  return k;
}

/**
 * Indices of the k largest `keys[0 … n)`, largest first; ties broken uniformly at random.
 * k = 1 is a single pass without allocation beyond the result.
 */
export function topK(keys: ArrayLike<number>, n: number, k: number, rng: Rng): number[] {
  if (n === 0) return [];
  if (k === 1) {
    let best = 0;
    let bestKey = keys[0]!;
    let ties = 1;
    for (let i = 1; i < n; i++) {
      const v = keys[i]!;
      if (v > bestKey) {
        bestKey = v;
        best = i;
        ties = 1;
      } else if (v === bestKey) {
        ties++;
        if (rng.next() * ties < 1) best = i;
      }
    }
    return [best];
  }
  const idx: number[] = [];
  const tie: number[] = [];
  for (let i = 0; i < n; i++) {
    idx.push(i);
    tie.push(rng.next());
  }
  idx.sort((a, b) => keys[b]! - keys[a]! || tie[a]! - tie[b]!);
  return idx.slice(0, Math.min(k, n));
}

/**
 * A picker that gives each candidate a key (`fillKeys`, into a buffer it reuses) and returns the
 * `maxNumOfEndpoints` largest, ties at random.
 */
export abstract class KeyedPicker implements Picker {
  readonly kind = 'picker';
  abstract readonly type: string;
  abstract readonly followsScores: boolean;
  private keys = new Float64Array(64);

  constructor(
    readonly name: string,
    readonly maxNumOfEndpoints: number,
  ) {}

  pick(
    _ctx: SchedulingContext,
    candidates: readonly SchedulingEndpoint[],
    scores: Float64Array,
    rng: Rng,
  ): number[] {
    const n = candidates.length;
    if (this.keys.length < n) this.keys = new Float64Array(n * 2);
    this.fillKeys(this.keys, candidates, scores, rng);
    return topK(this.keys, n, this.maxNumOfEndpoints, rng);
  }

  /** keys[i] for candidates[i], i < candidates.length (the buffer may be longer). */
  protected abstract fillKeys(
    keys: Float64Array,
    candidates: readonly SchedulingEndpoint[],
    scores: Float64Array,
    rng: Rng,
  ): void;
}
