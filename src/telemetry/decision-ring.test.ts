import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DecisionDraft, DecisionRing, decisionHeader } from './decision-ring.js';

function draft(pick: string, pool = 'ns/pool'): DecisionDraft {
  return {
    requestId: `r-${pick}`,
    pool,
    model: 'm',
    targetModel: 'm',
    objective: undefined,
    criticality: undefined,
    candidates: ['a:1', 'b:1', 'c:1', 'd:1'],
    profile: 'default',
    filters: [{ filter: 'f', type: 'saturation-filter', kept: ['a:1', 'b:1', 'c:1', 'd:1'] }],
    scored: ['a:1', 'b:1', 'c:1', 'd:1'],
    scorers: [
      { scorer: 'queue', type: 'queue-scorer', weight: 2, scores: [1, 0.5, 0.25, 0] },
      { scorer: 'kv', type: 'kv-cache-utilization-scorer', weight: 1, scores: [0.1, 0.9, 0.2, 0] },
    ],
    totals: [2.1, 1.9, 0.7, 0],
    picker: 'max-score-picker',
    pick,
    fallbacks: ['b:1', 'c:1'],
    decisive: 'queue-scorer',
    reason: 'queue-scorer',
    score: 2.1,
    durationUs: 12,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('DecisionRing', () => {
  it('records nothing until someone looks, then every decision, and stops after the watch window', () => {
    vi.useFakeTimers();
    const ring = new DecisionRing({ watchWindowMs: 5_000 });
    expect(ring.wanted()).toBe(false);
    expect(ring.recording).toBe(false);
    ring.watch();
    expect(ring.wanted()).toBe(true);
    vi.advanceTimersByTime(3_000);
    expect(ring.wanted()).toBe(true);
    vi.advanceTimersByTime(4_000);
    expect(ring.recording).toBe(false);
    expect(ring.wanted()).toBe(false);
    ring.close();
  });

  it('samples one decision in N while watched; always records with debug output', () => {
    const ring = new DecisionRing({ sampleEvery: 4 });
    ring.watch();
    const picks = Array.from({ length: 12 }, () => ring.wanted()).filter(Boolean).length;
    expect(picks).toBe(3);
    ring.close();
    const always = new DecisionRing({ always: true, sampleEvery: 4 });
    expect(Array.from({ length: 5 }, () => always.wanted()).every(Boolean)).toBe(true);
  });

  it('keeps the newest `capacity` records, newest first, filtered by pool', () => {
    const ring = new DecisionRing({ capacity: 3 });
    for (const p of ['a:1', 'b:1', 'c:1', 'd:1']) ring.push(draft(p, p === 'c:1' ? 'other/pool' : 'ns/pool'));
    expect(ring.recent().map((r) => r.pick)).toEqual(['d:1', 'c:1', 'b:1']);
    expect(ring.recent().map((r) => r.seq)).toEqual([4, 3, 2]);
    expect(ring.recent(10, 'ns/pool').map((r) => r.pick)).toEqual(['d:1', 'b:1']);
    expect(ring.recent(1).map((r) => r.pick)).toEqual(['d:1']);
  });

  it('puts the pick and its nearest rivals on one header line', () => {
    const ring = new DecisionRing();
    const rec = ring.push(draft('a:1'));
    const header = decisionHeader(rec);
    expect(header).not.toMatch(/[\r\n]/);
    const parsed = JSON.parse(header) as { pick: string; top: Record<string, Record<string, number>> };
    expect(parsed.pick).toBe('a:1');
    expect(Object.keys(parsed.top)).toEqual(['a:1', 'b:1', 'c:1']);
    expect(parsed.top['a:1']).toEqual({ total: 2.1, queue: 1, kv: 0.1 });
  });
});
