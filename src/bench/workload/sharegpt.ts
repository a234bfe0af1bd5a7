/**
 * ShareGPT-style requests, as vLLM's `--dataset-name sharegpt` samples them: the first human turn
 * of a conversation is the prompt, the first assistant turn's length is the output length; pairs
 * with fewer than 4 prompt or output tokens, more than 1024 prompt tokens or more than 2048 in
 * total are skipped (vLLM's filter). Lengths are counted with the stand-in tokenizer.
 *
 * - With a file (`--dataset FILE`, vLLM's ShareGPT JSON: `[{conversations: [{from, value}, …]}, …]`)
 *   the real texts are sent, in a seeded order, cycling when more requests are asked for.
 * - Without one, a built-in length distribution: log-normal input and output lengths with the means
 *   the vLLM paper reports for ShareGPT (Kwon et al., SOSP 2023, §6.1 / Fig. 11: 161 input and 338
 *   output tokens on average), σ = 1 in log space (our assumption: the paper shows right-skewed
 *   histograms, not a fit), then vLLM's filter above, by redrawing. Nothing is downloaded.
 */
import { readFileSync } from 'node:fs';
import { countTokens } from '../../sim/tokenizer.js';
import { randNormal } from '../../util/rng.js';
import { BenchError } from '../errors.js';
import { streamRng, textOf } from './text.js';
import type { IndexedWorkload, PromptDraft } from './types.js';

/** The built-in distribution's parameters (see the module comment for their source). */
export const SHAREGPT_LENGTHS = {
  inputMean: 161,
  outputMean: 338,
  sigma: 1,
  minLen: 4,
  maxPromptLen: 1024,
  maxTotalLen: 2048,
} as const;

export interface ShareGptOptions {
  /** ShareGPT JSON file; undefined = the built-in length distribution. */
  file?: string | undefined;
  /** Fixed output length for every request (vLLM's --sharegpt-output-len). */
  outputLen?: number | undefined;
  seed: number;
}

interface Pair {
  prompt: string;
  promptTokens: number;
  outputTokens: number;
}

function logNormalInt(next: () => number, mean: number, sigma: number): number {
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.max(1, Math.round(Math.exp(randNormal({ next }, mu, sigma))));
}

/** A (prompt, output) length pair from the built-in distribution, passing vLLM's filter. */
export function drawShareGptLengths(next: () => number, fixedOutput?: number): [number, number] {
  const L = SHAREGPT_LENGTHS;
  let input: number = L.minLen;
  let output: number = fixedOutput ?? L.minLen;
  for (let attempt = 0; attempt < 100; attempt++) {
    input = logNormalInt(next, L.inputMean, L.sigma);
    output = fixedOutput ?? logNormalInt(next, L.outputMean, L.sigma);
    if (
      input >= L.minLen &&
      input <= L.maxPromptLen &&
      (fixedOutput !== undefined || output >= L.minLen) &&
      input + output <= L.maxTotalLen
    ) {
      return [input, output];
    }
  }
  return [
    Math.min(Math.max(input, L.minLen), L.maxPromptLen),
    Math.max(1, Math.min(output, L.maxTotalLen - L.maxPromptLen)),
  ];
}

/** Reads and filters a ShareGPT file; throws BAD_DATASET naming the file and what is wrong. */
export function loadShareGpt(file: string, fixedOutput?: number): Pair[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BenchError(
      'BAD_DATASET',
      `--dataset ${file}: ${err instanceof Error ? err.message : String(err)}`,
      '--dataset',
    );
  }
  if (!Array.isArray(raw)) {
    throw new BenchError(
      'BAD_DATASET',
      `--dataset ${file}: expected a JSON array of {conversations: [...]}`,
      '--dataset',
    );
  }
  const L = SHAREGPT_LENGTHS;
  const pairs: Pair[] = [];
  for (const entry of raw) {
    const conv = (entry as { conversations?: unknown } | null)?.conversations;
    if (!Array.isArray(conv) || conv.length < 2) continue;
    const prompt = (conv[0] as { value?: unknown }).value;
    const completion = (conv[1] as { value?: unknown }).value;
    if (typeof prompt !== 'string' || typeof completion !== 'string') continue;
    const promptTokens = countTokens(prompt);
    const outputTokens = fixedOutput ?? countTokens(completion);
    if (promptTokens < L.minLen || (fixedOutput === undefined && outputTokens < L.minLen)) continue;
    if (promptTokens > L.maxPromptLen || promptTokens + outputTokens > L.maxTotalLen) continue;
    pairs.push({ prompt, promptTokens, outputTokens });
  }
  if (pairs.length === 0) {
    throw new BenchError(
      'BAD_DATASET',
      `--dataset ${file}: no usable conversation (needs a human turn then an assistant turn, 4–1024 prompt tokens, ≤ 2048 in total)`,
      '--dataset',
    );
  }
  return pairs;
}

export class ShareGptWorkload implements IndexedWorkload {
  readonly kind = 'indexed';
  readonly name = 'sharegpt';
  private readonly pairs: Pair[] | undefined;
  /** Seeded order of the file's pairs. */
  private readonly order: Uint32Array | undefined;

  constructor(private readonly opts: ShareGptOptions) {
    if (opts.file !== undefined) {
      const pairs = loadShareGpt(opts.file, opts.outputLen);
      const order = new Uint32Array(pairs.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      const rng = streamRng(opts.seed, 'sharegpt-order');
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      this.pairs = pairs;
      this.order = order;
    }
  }

  /** Number of distinct pairs in the file (undefined for the built-in distribution). */
  get size(): number | undefined {
    return this.pairs?.length;
  }

  draft(index: number): PromptDraft {
    if (this.pairs && this.order) {
      const pair = this.pairs[this.order[index % this.order.length]!]!;
      return {
        messages: [{ role: 'user', content: pair.prompt }],
        promptTokens: pair.promptTokens,
        maxTokens: pair.outputTokens,
      };
    }
    const rng = streamRng(this.opts.seed, 'sharegpt', index);
    const [input, output] = drawShareGptLengths(() => rng.next(), this.opts.outputLen);
    return {
      messages: [{ role: 'user', content: textOf(rng, input) }],
      promptTokens: input,
      maxTokens: output,
    };
  }

  describe(): Record<string, unknown> {
    return {
      dataset: this.name,
      source: this.opts.file ?? 'built-in length distribution',
      ...(this.pairs ? { usable_conversations: this.pairs.length } : { lengths: SHAREGPT_LENGTHS }),
      ...(this.opts.outputLen !== undefined ? { sharegpt_output_len: this.opts.outputLen } : {}),
    };
  }
}
