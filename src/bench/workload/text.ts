/**
 * Seeded text for workloads. Every random stream of a workload is derived from (seed, stream name,
 * index), so request i does not depend on how many requests were built before it.
 */

import { synthText } from '../../sim/tokenizer.js';
import { randInt, SeededRng } from '../../util/rng.js';

/** An independent generator for one stream and index: `streamRng(7, 'input', 42)`. */
export function streamRng(seed: number, stream: string, index = 0): SeededRng {
  return new SeededRng(`${seed}/${stream}/${index}`);
}

/** Exactly `tokens` stand-in tokens of text, each with its leading space. */
export function textOf(rng: SeededRng, tokens: number): string {
  return synthText(() => rng.next(), tokens);
}

/** Integer uniform in [lo, hi], both inclusive (hi < lo gives lo). */
export function uniformInt(rng: SeededRng, lo: number, hi: number): number {
  return hi <= lo ? lo : randInt(rng, lo, hi);
}
