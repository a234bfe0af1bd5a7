/**
 * inference-perf's `shared_prefix` dataset: `numGroups` system prompts of `systemPromptLen` tokens,
 * each shared by `promptsPerGroup` questions of `questionLen` tokens; every request asks for
 * `outputLen` tokens. The numGroups × promptsPerGroup prompts are sent in a seeded random order;
 * past that many requests the same prompts come round again in a new order (inference-perf cycles
 * too), which is what makes later rounds hit the prefix cache.
 *
 * Chat: the group prompt is the system message and the question the user message; completions:
 * the two concatenated.
 *
 * With `groupZipf` s > 0 (an infergate addition, for skewed prefix popularity) each request draws
 * its group independently with probability ∝ 1 / rank^s (group 0 the most popular) and its question
 * uniformly among the group's `promptsPerGroup`; no rounds. With 20 groups, s = 1.2 gives the first
 * group 35 % of the requests and s = 1.35 gives it 40 %.
 */

import { streamRng, textOf } from './text.js';
import type { IndexedWorkload, PromptDraft } from './types.js';

export interface SharedPrefixOptions {
  numGroups: number;
  promptsPerGroup: number;
  systemPromptLen: number;
  questionLen: number;
  outputLen: number;
  /** Zipf exponent of group popularity; 0 or absent: every prompt once per round, shuffled. */
  groupZipf?: number | undefined;
  seed: number;
}

/** Cumulative Zipf(s) weights over n ranks (last entry 1). */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / (k + 1) ** s;
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += 1 / (k + 1) ** s / total;
    cdf[k] = acc;
  }
  cdf[n - 1] = 1;
  return cdf;
}

/** inference-perf's defaults. */
export const SHARED_PREFIX_DEFAULTS: Omit<SharedPrefixOptions, 'seed'> = {
  numGroups: 10,
  promptsPerGroup: 10,
  systemPromptLen: 100,
  questionLen: 50,
  outputLen: 50,
};

export class SharedPrefixWorkload implements IndexedWorkload {
  readonly kind = 'indexed';
  readonly name = 'shared-prefix';
  private readonly systemPrompts: string[];
  private readonly perRound: number;
  /** Order of prompts within the round last asked for (rounds are usually asked in sequence). */
  private order: Uint32Array | undefined;
  private orderRound = -1;
  private readonly zipf: Float64Array | undefined;

  constructor(private readonly opts: SharedPrefixOptions) {
    this.systemPrompts = [];
    for (let g = 0; g < opts.numGroups; g++) {
      this.systemPrompts.push(textOf(streamRng(opts.seed, 'group-system', g), opts.systemPromptLen));
    }
    this.perRound = opts.numGroups * opts.promptsPerGroup;
    this.zipf = opts.groupZipf ? zipfCdf(opts.numGroups, opts.groupZipf) : undefined;
  }

  /** Which (group, member) prompt request `index` sends. */
  slot(index: number): { group: number; member: number } {
    if (this.zipf) {
      const rng = streamRng(this.opts.seed, 'zipf-slot', index);
      const u = rng.next();
      let group = 0;
      while (group < this.zipf.length - 1 && this.zipf[group]! < u) group++;
      return { group, member: Math.floor(rng.next() * this.opts.promptsPerGroup) };
    }
    const round = Math.floor(index / this.perRound);
    const k = index - round * this.perRound;
    const position = this.roundOrder(round)[k]!;
    return {
      group: Math.floor(position / this.opts.promptsPerGroup),
      member: position % this.opts.promptsPerGroup,
    };
  }

  draft(index: number): PromptDraft {
    const { group, member } = this.slot(index);
    const question = textOf(
      streamRng(this.opts.seed, `group-${group}-question`, member),
      this.opts.questionLen,
    );
    return {
      messages: [
        { role: 'system', content: this.systemPrompts[group]! },
        { role: 'user', content: question },
      ],
      promptTokens: this.opts.systemPromptLen + this.opts.questionLen,
      maxTokens: this.opts.outputLen,
      group: `group-${group}`,
    };
  }

  describe(): Record<string, unknown> {
    return {
      dataset: this.name,
      num_groups: this.opts.numGroups,
      num_prompts_per_group: this.opts.promptsPerGroup,
      system_prompt_len: this.opts.systemPromptLen,
      question_len: this.opts.questionLen,
      output_len: this.opts.outputLen,
      ...(this.opts.groupZipf ? { group_zipf: this.opts.groupZipf } : {}),
    };
  }

  /** Seeded Fisher–Yates permutation of 0..perRound−1 for one round. */
  private roundOrder(round: number): Uint32Array {
    if (this.order && this.orderRound === round) return this.order;
    const order = new Uint32Array(this.perRound);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const rng = streamRng(this.opts.seed, 'shared-prefix-order', round);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    this.order = order;
    this.orderRound = round;
    return order;
  }
}
