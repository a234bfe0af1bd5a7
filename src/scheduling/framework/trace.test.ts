/**
 * A traced decision records what each stage saw, consistently with the untraced result: the same
 * pick, the filters' survivors, one clamped score per scorer and endpoint, and totals that are the
 * weighted sums the picker chose from.
 */
import { describe, expect, it } from 'vitest';
import { captureLogger, context, host, request, state, text } from '../../../test/scheduling/helpers.js';
import { SeededRng } from '../../util/rng.js';
import { DEFAULT_PICKER_CONFIG } from '../profiles.js';
import { buildScheduler } from './config.js';
import { ScheduleTrace } from './trace.js';

function setup() {
  const scheduler = buildScheduler(DEFAULT_PICKER_CONFIG, new SeededRng(5));
  const h = host(5, captureLogger().logger);
  for (const p of scheduler.plugins) p.attach?.(h);
  const now = performance.now();
  const eps = [
    state(1, { m: { waiting: 0, running: 1, kvUsage: 0.2 } }, now),
    state(2, { m: { waiting: 3, running: 8, kvUsage: 0.7 } }, now),
    state(3, { m: { waiting: 0, running: 2, kvUsage: 0.1 } }, now),
    state(4, { m: { waiting: 0, running: 0, kvUsage: 0.99 } }, now), // saturated: filtered out
  ];
  return { scheduler, eps };
}

describe('ScheduleTrace', () => {
  it('records filters, per-scorer scores and totals that agree with the pick', () => {
    const { scheduler, eps } = setup();
    const req = request({ model: 'm', prompt: text(800, 3) });
    const trace = new ScheduleTrace();
    const result = scheduler.schedule(context(req, { promptChars: scheduler.promptChars }), eps, trace);

    expect(trace.profile).toBe(result.profile);
    expect(trace.filters.length).toBeGreaterThan(0);
    const last = trace.filters[trace.filters.length - 1]!;
    expect(last.kept).toEqual(trace.scored);
    expect(trace.scored).not.toContain('10.0.0.4:8000');
    expect(trace.scored).toHaveLength(result.filtered);

    expect(trace.scorers.length).toBeGreaterThan(0);
    for (const s of trace.scorers) {
      expect(s.scores).toHaveLength(trace.scored.length);
      for (const v of s.scores) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of s.scores) expect(v).toBeLessThanOrEqual(1);
    }
    // totals[i] = Σ weight × score, and the pick has the best total (max-score picker).
    for (let i = 0; i < trace.scored.length; i++) {
      const sum = trace.scorers.reduce((acc, s) => acc + s.weight * s.scores[i]!, 0);
      expect(trace.totals[i]).toBeCloseTo(sum, 9);
    }
    const pick = trace.scored.indexOf(result.endpoints[0]!.id);
    expect(pick).toBeGreaterThanOrEqual(0);
    expect(trace.totals[pick]).toBeCloseTo(Math.max(...trace.totals), 9);
    expect(trace.totals[pick]).toBeCloseTo(result.score, 9);
  });

  it('does not change the decision', () => {
    const a = setup();
    const b = setup();
    for (let i = 0; i < 20; i++) {
      const req = request({ model: 'm', prompt: text(600, 40 + i) });
      const plain = a.scheduler.schedule(context(req, { promptChars: a.scheduler.promptChars }), a.eps);
      const traced = b.scheduler.schedule(
        context(req, { promptChars: b.scheduler.promptChars }),
        b.eps,
        new ScheduleTrace(),
      );
      expect(traced.endpoints.map((e) => e.id)).toEqual(plain.endpoints.map((e) => e.id));
      expect(traced.reason).toBe(plain.reason);
    }
  });
});
