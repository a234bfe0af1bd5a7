import { describe, expect, it } from 'vitest';
import { parsePrometheusText, parseSelectedSamples } from './promtext.js';

const page = [
  '# HELP a_total A.',
  '# TYPE a_total counter',
  'a_total{x="1"} 3',
  'b{le="+Inf",y="z \\"q\\""} 7',
  'a_total{x="2"} 4 1700000000000',
  'c 1\r',
  'a_totally 9',
  'malformed{',
  '',
].join('\n');

describe('parseSelectedSamples', () => {
  it('returns only the wanted names, every series, in page order', () => {
    const got = parseSelectedSamples(page, new Set(['a_total', 'c']));
    expect([...got.keys()]).toEqual(['a_total', 'c']);
    expect(got.get('a_total')!.map((s) => [s.labels.x, s.value])).toEqual([
      ['1', 3],
      ['2', 4],
    ]);
    expect(got.get('c')![0]!.value).toBe(1);
  });

  it('agrees with the full parser on the samples it returns', () => {
    const full = parsePrometheusText(page).families.get('b')!.samples;
    const sel = parseSelectedSamples(page, new Set(['b'])).get('b')!;
    expect(sel).toEqual(full);
  });

  it('skips malformed wanted lines instead of throwing', () => {
    expect(
      parseSelectedSamples('x{a="1" 2\nx 5\n', new Set(['x']))
        .get('x')!
        .map((s) => s.value),
    ).toEqual([5]);
  });
});
