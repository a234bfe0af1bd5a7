import { describe, expect, it } from 'vitest';
import { stringifyReport } from './json.js';

describe('stringifyReport (JSON with a line per sample, not per number)', () => {
  it.each([
    { value: { a: 1, b: [1, 2, null], n: null }, text: '{\n  "a": 1,\n  "b": [1, 2, null],\n  "n": null\n}' },
    { value: [[1, 2], [3]], text: '[\n  [1, 2],\n  [3]\n]' },
    { value: { e: [], o: {}, s: 'q"' }, text: '{\n  "e": [],\n  "o": {},\n  "s": "q\\""\n}' },
  ])('$text', ({ value, text }) => {
    expect(stringifyReport(value)).toBe(text);
  });

  it('means what JSON.stringify means (undefined dropped in objects, null in arrays)', () => {
    const value = { u: undefined, arr: [undefined, 1], deep: { list: [{ x: 1.5, y: ['a'] }] } };
    expect(JSON.parse(stringifyReport(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });
});
