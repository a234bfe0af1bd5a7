/**
 * vLLM's random dataset (`vllm bench serve --dataset-name random`): every request is a shared prefix
 * of `prefixLen` tokens (the same text for all) followed by `inputLen`-ish random tokens, and asks
 * for `outputLen`-ish tokens.
 *
 * Length ranges, with L the length and r the range ratio:
 * - `centered` (current vLLM, default): uniform integer in [⌊L(1−r)⌋, ⌊L(1+r)⌋], 0 ≤ r < 1;
 * - `legacy` (vLLM ≤ 0.8 benchmark_serving.py): uniform integer in [⌊L·r⌋, L], 0 ≤ r ≤ 1.
 * The user's seed-002 document ran the legacy form: its totals (3,368 input and 1,784 output tokens
 * per request) match 1000 + U[800, 4000] and U[600, 3000], not the centered ranges.
 */

import { streamRng, textOf, uniformInt } from './text.js';
import type { IndexedWorkload, PromptDraft } from './types.js';

export type RangeMode = 'centered' | 'legacy';

export interface RandomOptions {
  /** Random tokens per request (without the prefix); vLLM's default 1024. */
  inputLen: number;
  /** Output tokens per request; vLLM's default 128. */
  outputLen: number;
  /** 0 = fixed lengths. */
  rangeRatio: number;
  rangeMode: RangeMode;
  /** Tokens shared by every request, in front of the random part. */
  prefixLen: number;
  seed: number;
}

export const RANDOM_DEFAULTS: Omit<RandomOptions, 'seed'> = {
  inputLen: 1024,
  outputLen: 128,
  rangeRatio: 0,
  rangeMode: 'centered',
  prefixLen: 0,
};

/** The inclusive range a length L is drawn from. */
export function lengthRange(len: number, ratio: number, mode: RangeMode): [number, number] {
  if (mode === 'legacy') return [Math.floor(len * ratio), len];
  return [Math.floor(len * (1 - ratio)), Math.floor(len * (1 + ratio))];
}

export class RandomWorkload implements IndexedWorkload {
  readonly kind = 'indexed';
  readonly name: string;
  private readonly prefix: string;
  private readonly inputRange: [number, number];
  private readonly outputRange: [number, number];

  constructor(
    private readonly opts: RandomOptions,
    name = 'random',
  ) {
    this.name = name;
    this.prefix = textOf(streamRng(opts.seed, 'random-prefix'), opts.prefixLen);
    this.inputRange = lengthRange(opts.inputLen, opts.rangeRatio, opts.rangeMode);
    const out = lengthRange(opts.outputLen, opts.rangeRatio, opts.rangeMode);
    // A request must ask for at least one token.
    this.outputRange = [Math.max(1, out[0]), Math.max(1, out[1])];
  }

  draft(index: number): PromptDraft {
    const rng = streamRng(this.opts.seed, 'random', index);
    const inputLen = uniformInt(rng, this.inputRange[0], this.inputRange[1]);
    const outputLen = uniformInt(rng, this.outputRange[0], this.outputRange[1]);
    const content = this.prefix + textOf(rng, inputLen);
    return {
      messages: [{ role: 'user', content }],
      promptTokens: this.opts.prefixLen + inputLen,
      maxTokens: outputLen,
    };
  }

  describe(): Record<string, unknown> {
    return {
      dataset: this.name,
      random_input_len: this.opts.inputLen,
      random_output_len: this.opts.outputLen,
      random_range_ratio: this.opts.rangeRatio,
      random_range_mode: this.opts.rangeMode,
      random_prefix_len: this.opts.prefixLen,
      input_range: this.inputRange,
      output_range: this.outputRange,
    };
  }
}
