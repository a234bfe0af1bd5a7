import { describe, expect, it } from 'vitest';
import { barChart, cdfPoints, downsample, escapeXml, niceTicks, tickLabel, xyChart } from './svg.js';

describe('niceTicks', () => {
  it.each([
    { min: 0, max: 1, want: [0, 0.2, 0.4, 0.6, 0.8, 1] },
    { min: 0, max: 23509, want: [0, 5000, 10000, 15000, 20000, 25000] },
    { min: 13, max: 47, want: [10, 20, 30, 40, 50] },
    { min: 5, max: 5, want: [5, 5.2, 5.4, 5.6, 5.8, 6] },
  ])('[$min, $max] → $want', ({ min, max, want }) => {
    expect(niceTicks(min, max)).toEqual(want);
  });
});

describe('helpers', () => {
  it('labels ticks compactly', () => {
    expect([tickLabel(1500), tickLabel(25000), tickLabel(2_500_000), tickLabel(0.25), tickLabel(42)]).toEqual(
      ['1500', '25k', '2.5M', '0.25', '42'],
    );
  });

  it('escapes XML', () => {
    expect(escapeXml('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  });

  it('downsamples keeping first and last', () => {
    const pts = Array.from({ length: 1001 }, (_, i) => i);
    const d = downsample(pts, 11);
    expect(d).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(downsample([1, 2], 11)).toEqual([1, 2]);
  });

  it('builds an empirical CDF ending at 1', () => {
    expect(cdfPoints([30, 10, 20])).toEqual([
      [10, 1 / 3],
      [20, 2 / 3],
      [30, 1],
    ]);
  });
});

describe('charts', () => {
  it('draws one path per line series and one circle per scatter point, escaping names', () => {
    const line = xyChart({
      title: 'T <1>',
      xLabel: 'x',
      yLabel: 'y',
      kind: 'line',
      series: [
        {
          name: 'a&b',
          color: '#000',
          points: [
            [0, 1],
            [1, 2],
          ],
        },
        {
          name: 'c',
          color: '#111',
          points: [
            [0, 3],
            [1, 1],
          ],
          dashed: true,
        },
      ],
    });
    expect(line.match(/<path /g)).toHaveLength(2);
    expect(line).toContain('T &lt;1&gt;');
    expect(line).toContain('a&amp;b');
    expect(line).toContain('stroke-dasharray="5 4"');
    const scatter = xyChart({
      title: 's',
      xLabel: 'x',
      yLabel: 'y',
      kind: 'scatter',
      series: [
        {
          name: 'p',
          color: '#000',
          points: [
            [0, 1],
            [1, 2],
            [2, 3],
          ],
        },
      ],
    });
    expect(scatter.match(/<circle /g)).toHaveLength(3);
  });

  it('draws a bar per known value', () => {
    const svg = barChart({
      title: 'b',
      yLabel: 'n',
      categories: ['r0', 'r1'],
      groups: [
        { name: 'g1', color: '#000', values: [3, null] },
        { name: 'g2', color: '#111', values: [1, 2] },
      ],
    });
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill=/g)).toHaveLength(3);
  });
});
