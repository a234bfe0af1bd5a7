import { describe, expect, it } from 'vitest';
import type { TargetResult } from '../bench.js';
import { calculateMetrics } from '../stats.js';
import { figureTable, formatFigure, seriesHeader } from './series.js';

function target(name: string, ttftMs: number): TargetResult {
  // Ten requests with the same TTFT: its mean is `ttftMs`.
  const outcomes = Array.from({ length: 10 }, () => ({
    success: true,
    ttftMs,
    latencyMs: ttftMs + 10,
    promptTokens: 5,
    outputTokens: 2,
  }));
  return { name, metrics: calculateMetrics(outcomes, [10], 1000) } as unknown as TargetResult;
}

describe('figureTable', () => {
  const rows = [
    ['completed', 'requests completed', 0],
    ['ttft.mean', 'mean TTFT (ms)', 1],
  ] as const;

  it('has a column per target and ratio columns against the reference', () => {
    const lines = figureTable([target('a', 200), target('peer', 100), target('b', 50)], rows, 'peer', 'p');
    expect(lines[0]).toBe('| figure | a | peer | b | a / p | b / p |');
    expect(lines[2]).toBe('| requests completed | 10 | 10 | 10 | 1.00× | 1.00× |');
    expect(lines[3]).toBe('| mean TTFT (ms) | 200.0 | 100.0 | 50.0 | 2.00× | 0.50× |');
  });

  it('has no ratio columns when the reference did not run', () => {
    expect(figureTable([target('a', 1)], rows, 'peer')[0]).toBe('| figure | a |');
  });
});

describe('formatFigure and seriesHeader', () => {
  it('formats missing figures as a dash and names the command and load', () => {
    expect(formatFigure(null, 1)).toBe('–');
    expect(formatFigure(Number.NaN, 1)).toBe('–');
    expect(formatFigure(1.234, 1)).toBe('1.2');
    const h = seriesHeader('npx tsx bench/x.ts', '9.9.9', new Date('2026-01-02T03:04:05Z'), [1, 2.5, 3]);
    expect(h).toContain('Command: `npx tsx bench/x.ts` · infergate 9.9.9 · 2026-01-02T03:04:05.000Z');
    expect(h).toContain('load average at start 1.00 / 2.50 / 3.00');
  });
});
