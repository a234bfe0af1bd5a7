/**
 * The step-time model: how long one engine iteration (one forward pass over the scheduled batch)
 * takes, in engine milliseconds. Additive roofline terms, each from profiles.ts:
 *
 *   step = overhead + weightRead
 *        + Σ prefill chunks [ tokens × prefillMsPerToken
 *                             + tokens × (context before + tokens/2)/1000 × prefillAttnMsPerTokenPerKCtx ]
 *        + decodeSeqs × decodeMsPerSeq + decodeContextTokens/1000 × kvReadMsPerKTokens
 *        + tpCommMsPerStep
 *   then × (1 + loraStepOverhead) when any LoRA adapter is in the batch, + adapter loads
 *   + GPU↔CPU block copies (V0 swapping),
 *   then × (1 + jitter·N(0,1)) clamped to ±3σ.
 *
 * Rationale: decode is memory-bound (every step reads all weights once, then each sequence's KV
 * cache), prefill is compute-bound (2·params FLOPs per token, attention grows with context), tensor
 * parallelism adds two all-reduces per layer. So a lone request's TTFT ≈ frontend + overhead +
 * weights + prompt × prefillMsPerToken, and ITL grows with batch size and total context.
 */
import { type Rng, randNormal } from '../util/rng.js';
import type { TimingProfile } from './profiles.js';

/** What one step computes; filled by the scheduler, consumed by `stepMs`. Reused between steps. */
export class StepCost {
  /** Prompt (or recomputed) tokens in this step. */
  prefillTokens = 0;
  /** Σ tokens × (context before + tokens/2) over prefill chunks, in token² (attention work). */
  prefillAttnTokenCtx = 0;
  /** Sequences generating one token each. */
  decodeSeqs = 0;
  /** Σ context length of decoding sequences (KV read by attention). */
  decodeContextTokens = 0;
  /** True when a LoRA adapter is in the batch. */
  lora = false;
  /** Adapter activation cost added this step (ms). */
  loraLoadMs = 0;
  /** KV blocks copied between GPU and CPU memory this step (V0 swapping), in ms. */
  swapMs = 0;

  reset(): void {
    this.prefillTokens = 0;
    this.prefillAttnTokenCtx = 0;
    this.decodeSeqs = 0;
    this.decodeContextTokens = 0;
    this.lora = false;
    this.loraLoadMs = 0;
    this.swapMs = 0;
  }

  addPrefill(tokens: number, contextBefore: number): void {
    this.prefillTokens += tokens;
    this.prefillAttnTokenCtx += tokens * (contextBefore + tokens / 2);
  }

  addDecode(contextTokens: number): void {
    this.decodeSeqs++;
    this.decodeContextTokens += contextTokens;
  }
}

/** Duration of a step in engine ms, before jitter. */
export function baseStepMs(p: TimingProfile, c: StepCost): number {
  let ms =
    p.stepOverheadMs +
    p.weightReadMs +
    c.prefillTokens * p.prefillMsPerToken +
    (c.prefillAttnTokenCtx / 1000) * p.prefillAttnMsPerTokenPerKCtx +
    c.decodeSeqs * p.decodeMsPerSeq +
    (c.decodeContextTokens / 1000) * p.kvReadMsPerKTokens +
    p.tpCommMsPerStep;
  if (c.lora) ms *= 1 + p.loraStepOverhead;
  return ms + c.loraLoadMs + c.swapMs;
}

/** Duration of a step in engine ms with seeded jitter (multiplicative, clamped to ±3σ, ≥ 10 %). */
export function stepMs(p: TimingProfile, c: StepCost, rng: Rng): number {
  const base = baseStepMs(p, c);
  if (p.jitter <= 0) return base;
  const z = Math.max(-3, Math.min(3, randNormal(rng)));
  return base * Math.max(0.1, 1 + p.jitter * z);
}
