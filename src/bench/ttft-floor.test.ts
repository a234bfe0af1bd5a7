import { describe, expect, it } from 'vitest';
import type { RequestRecord } from './client.js';
import { floorEvidence, floorOptionsForSim, IdleReplicaTtft } from './ttft-floor.js';

// sim-default: frontend 18 ms, step overhead 2 + weights 10 per step, 0.25 ms per prefill token,
// no attention term, 2,048-token steps (chunked prefill), 16-token blocks.
const idle = new IdleReplicaTtft({ profile: 'sim-default' });

function record(index: number, ttftMs: number, promptTokens: number, cachedTokens: number): RequestRecord {
  return {
    index,
    startMs: index,
    status: 200,
    model: 'm',
    objective: undefined,
    group: undefined,
    text: '',
    cachedTokens,
    success: true,
    ttftMs,
    latencyMs: ttftMs + 10,
    promptTokens,
    outputTokens: 2,
  };
}

describe('IdleReplicaTtft (the simulator engine, one request, jitter off)', () => {
  it('a cold prompt costs the frontend, one step and its tokens', () => {
    expect(idle.ttftMs(400, 0)).toBeCloseTo(18 + 2 + 10 + 400 * 0.25, 6);
  });

  it('cached full blocks are skipped; the rest is prefilled', () => {
    expect(idle.ttftMs(400, 320)).toBeCloseTo(18 + 12 + 80 * 0.25, 6);
    // Rounded down to full blocks, and never the prompt's last token (as vLLM V1 looks up).
    expect(idle.ttftMs(400, 330)).toBeCloseTo(idle.ttftMs(400, 320), 6);
    expect(idle.ttftMs(400, 400)).toBeCloseTo(18 + 12 + 16 * 0.25, 6);
  });

  it('a long prompt is prefilled in chunks of the step budget, one step each', () => {
    // 2,048 + 2,048 + 904 tokens: three steps.
    expect(idle.ttftMs(5000, 0)).toBeCloseTo(18 + 3 * 12 + 5000 * 0.25, 6);
    expect(() => idle.ttftMs(0, 0)).toThrow(RangeError);
  });

  it('follows the profile: a larger model on the same prompt is slower', () => {
    const qwen = new IdleReplicaTtft({ profile: 'qwen2.5-7b-l20' });
    expect(qwen.ttftMs(4000, 0)).toBeGreaterThan(qwen.ttftMs(4000, 3000));
    expect(qwen.ttftMs(4000, 0)).not.toBeCloseTo(idle.ttftMs(4000, 0), 0);
  });
});

describe('floorEvidence', () => {
  it('compares each request with its floor and splits the excess into cache misses and load', () => {
    const floor0 = idle.ttftMs(400, 320);
    const cold = idle.ttftMs(400, 0);
    const records = [
      // At the floor: found what it could reuse, waited for nothing.
      record(0, floor0, 400, 320),
      // Missed its reusable 320 tokens and waited 50 ms more on top.
      record(1, cold + 50, 400, 0),
      // A failed request is left out.
      { ...record(2, 5, 400, 0), success: false },
    ];
    const hits = new Map([
      [0, 320],
      [1, 320],
      [2, 0],
    ]);
    const e = floorEvidence(records, hits, 1, idle)!;
    expect(e.requests).toBe(2);
    expect(e.floor_mean_ms).toBeCloseTo(floor0, 1);
    expect(e.ttft_mean_ms).toBeCloseTo((floor0 + cold + 50) / 2, 1);
    const miss = cold - floor0;
    expect(e.excess_mean_ms).toBeCloseTo((miss + 50) / 2, 1);
    expect(e.excess_share!.cache_miss).toBeCloseTo(miss / (miss + 50), 2);
    expect(e.excess_share!.load).toBeCloseTo(50 / (miss + 50), 2);
  });

  it('converts wall ms with the time scale and skips requests without an ideal hit', () => {
    const floor = idle.ttftMs(400, 0);
    const records = [record(0, floor * 0.5, 400, 0), record(1, 99, 400, 0)];
    const e = floorEvidence(records, new Map([[0, 0]]), 0.5, idle)!;
    expect(e.requests).toBe(1);
    expect(e.ttft_mean_ms).toBeCloseTo(floor, 1);
    expect(e.excess_share).toBeNull();
    expect(floorEvidence(records, new Map(), 1, idle)).toBeUndefined();
  });
});

describe('floorOptionsForSim', () => {
  it('reads the timing flags of a scenario and leaves the V0 engine out', () => {
    expect(floorOptionsForSim('qwen2.5-7b-l20', ['--enable-prefix-caching', '--enable-lora'])).toEqual({
      profile: 'qwen2.5-7b-l20',
    });
    expect(floorOptionsForSim('p', ['--max-model-len', '8192', '--max-num-batched-tokens', '4096'])).toEqual({
      profile: 'p',
      maxModelLen: 8192,
      maxNumBatchedTokens: 4096,
    });
    expect(floorOptionsForSim('p', ['--engine', 'v0', '--max-model-len', '8192'])).toBeUndefined();
    expect(floorOptionsForSim('p', ['--no-enable-prefix-caching'])).toBeUndefined();
  });
});
