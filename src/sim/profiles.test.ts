import { describe, expect, it } from 'vitest';
import { kvBlocksFor, PROFILES } from './profiles.js';
import { baseStepMs, StepCost } from './timing.js';

const qwq = PROFILES['qwq-32b-4xa10-tp4']!;

/** A decode step of `seqs` sequences with `ctx` context tokens each. */
function decodeStep(p: typeof qwq, seqs: number, ctx: number): number {
  const c = new StepCost();
  for (let i = 0; i < seqs; i++) c.addDecode(ctx);
  return baseStepMs(p, c);
}

function prefillStep(p: typeof qwq, tokens: number): number {
  const c = new StepCost();
  c.addPrefill(tokens, 0);
  return baseStepMs(p, c);
}

describe('timing profiles', () => {
  it('sim-default reproduces llm-d-inference-sim: TTFT ≈ 30 ms + 0.25 ms/token, ITL ≈ 12 ms', () => {
    const p = PROFILES['sim-default']!;
    expect(p.frontendMs + prefillStep(p, 1000)).toBeCloseTo(30 + 250, 6);
    expect(decodeStep(p, 1, 100)).toBeCloseTo(12, 0);
    expect(decodeStep(p, 64, 1000)).toBeGreaterThan(decodeStep(p, 1, 1000));
  });

  it('qwq-32b-4xa10-tp4 lands near seed 002: ~55 ms decode steps at 12 sequences × ~4.3k context', () => {
    const step = decodeStep(qwq, 12, 4300);
    expect(step).toBeGreaterThan(50);
    expect(step).toBeLessThan(62);
    // A 3400-token prompt (seed 002's mean input, no prefix caching in vLLM 0.7 V0) prefills in ~1.3 s.
    const prefill = prefillStep(qwq, 3400);
    expect(prefill).toBeGreaterThan(1100);
    expect(prefill).toBeLessThan(1500);
  });

  it('derives KV capacity from memory: more utilisation, more blocks; 12 × 5k tokens fit at 0.95', () => {
    expect(kvBlocksFor(qwq, 0.95, 16)).toBeGreaterThan(kvBlocksFor(qwq, 0.9, 16));
    expect(kvBlocksFor(qwq, 0.95, 16) * 16).toBeGreaterThan(12 * 5000);
    for (const p of Object.values(PROFILES)) {
      expect(p.numGpuBlocks * 16, p.name).toBeGreaterThanOrEqual(p.maxModelLen);
    }
  });
});
