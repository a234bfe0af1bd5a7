import { describe, expect, it } from 'vitest';
import { type StateOpts, state } from '../../../../test/scheduling/helpers.js';
import { fadeHotspots, type HotspotParams } from './hotspot-fade.js';

const DEFAULTS: HotspotParams = { imbalanceRequests: 4, imbalanceRatio: 0.5, imbalanceKv: 0.25 };

/** Fades affinity scores `scores` of endpoints in states `specs`. */
function fade(specs: StateOpts[], scores: number[], p: HotspotParams = DEFAULTS): number[] {
  const now = performance.now();
  const set = specs.map((s, i) => state(i + 1, s, now));
  const out = Float64Array.from(scores);
  fadeHotspots(set, out, p);
  return [...out].map((v) => Math.round(v * 1000) / 1000);
}

const running = (n: number, kvUsage?: number): StateOpts => ({ m: { running: n, kvUsage } });

describe('fadeHotspots', () => {
  it('measures excess load against the least-loaded candidate wherever it stands', () => {
    // least loaded first, then the holder (excess 6 of allowance 4: ½), then one in between
    expect(fade([running(2), running(8), running(5)], [1, 1, 1])).toEqual([1, 0.5, 1]);
    expect(fade([running(8), running(5), running(2)], [1, 1, 1])).toEqual([0.5, 1, 1]);
  });

  it('the allowance grows with the least-loaded candidate’s load (imbalanceRatio × least)', () => {
    // least 10: allowance max(4, 5) = 5; 15 is within it, 17.5 halfway to 2 × 5
    expect(fade([running(10), running(15), running(17.5)], [1, 1, 1])).toEqual([1, 1, 0.5]);
  });

  it('far past twice the allowance the score is 0, never negative', () => {
    expect(fade([running(0), running(30)], [1, 1])).toEqual([1, 0]);
  });

  it('a zero allowance releases affinity at any excess', () => {
    const p = { imbalanceRequests: 0, imbalanceRatio: 0, imbalanceKv: 0 };
    expect(fade([running(0, 0.1), running(1, 0.1)], [1, 1], p)).toEqual([1, 0]);
    expect(fade([running(0, 0.1), running(0, 0.2)], [1, 1], p)).toEqual([1, 0]);
  });

  it('KV use fades against the least-used candidate wherever it stands', () => {
    // least 0.1: 0.45 is 0.35 over (allowance 0.25: 0.6), 0.2 within
    expect(fade([running(0, 0.2), running(0, 0.45), running(0, 0.1)], [1, 1, 1])).toEqual([1, 0.6, 1]);
  });

  it('candidates without a KV reading are judged on requests only, and do not set the least KV', () => {
    // endpoint 1 was never scraped (requests: its in-flight count, no KV); 2 and 3 have KV readings
    expect(fade([{ inflight: 1 }, running(1, 0.65), running(1, 0.3)], [1, 1, 1])).toEqual([1, 0.6, 1]);
    expect(fade([running(1, 0.9), { inflight: 1 }], [1, 1])).toEqual([1, 1]);
  });

  it('a zero score stays zero', () => {
    expect(fade([running(0), running(40)], [0.5, 0])).toEqual([0.5, 0]);
  });
});
