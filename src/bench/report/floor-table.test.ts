import { describe, expect, it } from 'vitest';
import type { TargetResult } from '../bench.js';
import type { TtftFloorEvidence } from '../ttft-floor.js';
import { floorSection } from './floor-table.js';

function target(name: string, floor: TtftFloorEvidence | undefined): TargetResult {
  return { name, floor } as unknown as TargetResult;
}

const evidence = (
  ttftMean: number,
  ttftP99: number,
  floorMean: number,
  floorP99: number,
): TtftFloorEvidence => ({
  requests: 200,
  ttft_mean_ms: ttftMean,
  ttft_p99_ms: ttftP99,
  floor_mean_ms: floorMean,
  floor_p99_ms: floorP99,
  excess_mean_ms: ttftMean - floorMean,
  excess_share: { cache_miss: 0.25, load: 0.75 },
});

describe('floorSection', () => {
  const goals = [
    { figure: 'mean', atMost: 0.95 },
    { figure: 'p99', atMost: 0.9 },
  ] as const;

  it('tables each target against its floor and says which goals the floor puts out of reach', () => {
    const lines = floorSection(
      [target('infergate', evidence(250, 1100, 200, 1050)), target('peer', evidence(240, 1080, 201, 1040))],
      'peer',
      ['infergate'],
      goals,
    ).join('\n');
    expect(lines).toContain('| infergate | 200 | 250 | 200 | 1.25× | 1100 | 1050 | 1.05× | 25 % | 75 % |');
    // mean: 200 / 240 = 0.83 ≤ 0.95: room; P99: 1050 / 1080 = 0.97 > 0.9: out of reach.
    expect(lines).toMatch(/infergate, mean TTFT ≤ 0\.95× of peer: .* 0\.83× .* room: 1\.14× above the floor/);
    expect(lines).toMatch(
      /infergate, P99 TTFT ≤ 0\.9× of peer: .* 0\.97× .*\*\*out of reach for any router\*\*/,
    );
  });

  it('is empty without floors and has no verdicts without the reference', () => {
    expect(floorSection([target('a', undefined)], 'peer', ['a'], goals)).toEqual([]);
    const lines = floorSection([target('a', evidence(1, 1, 1, 1))], 'peer', ['a'], goals).join('\n');
    expect(lines).toContain('| a |');
    expect(lines).not.toContain('out of reach');
  });
});
