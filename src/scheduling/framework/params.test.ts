import { describe, expect, it } from 'vitest';
import { type ParamIssue, ParamReader, PluginParamsError } from './params.js';

/** The issues `read` leaves on a reader of `params` (none: []). */
function issuesOf(params: unknown, read: (r: ParamReader) => void): readonly ParamIssue[] {
  const r = new ParamReader('demo-scorer', params);
  read(r);
  try {
    r.done();
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(PluginParamsError);
    return (err as PluginParamsError).issues;
  }
}

describe('ParamReader', () => {
  it('returns the given values, and the fallbacks of absent fields', () => {
    const r = new ParamReader('demo-scorer', {
      n: 3,
      f: 0.25,
      b: false,
      s: 'x',
      o: 'b',
      d: '2s',
      dn: 150,
    });
    expect(r.int('n', 1)).toBe(3);
    expect(r.float('f', 1)).toBe(0.25);
    expect(r.bool('b', true)).toBe(false);
    expect(r.string('s', 'y')).toBe('x');
    expect(r.oneOf('o', 'a', ['a', 'b'])).toBe('b');
    expect(r.durationMs('d', 5)).toBe(2000);
    expect(r.durationMs('dn', 5)).toBe(150);
    expect(r.int('absent', 8)).toBe(8);
    expect(r.bool('absentBool', true)).toBe(true);
    expect(r.string('absentString', 'z')).toBe('z');
    expect(r.oneOf('absentChoice', 'a', ['a', 'b'])).toBe('a');
    expect(r.durationMs('absentDuration', 9)).toBe(9);
    expect(() => r.done()).not.toThrow();
  });

  it.each([undefined, null, {}])('accepts %j as no parameters', (params) => {
    const r = new ParamReader('demo-scorer', params);
    expect(r.int('n', 4)).toBe(4);
    expect(() => r.done()).not.toThrow();
  });

  it.each([[[1, 2]], ['text'], [5]])('rejects parameters that are not a mapping (%j)', (params) => {
    expect(issuesOf(params, () => {})).toEqual([
      { field: '', message: 'parameters must be a mapping', fix: 'write `parameters: {}`' },
    ]);
  });

  it('reads an alias when the primary name is absent; the primary wins when both are given', () => {
    const alias = new ParamReader('demo-scorer', { hashBlockSize: 32 });
    expect(alias.int('blockSize', 16, { aliases: ['hashBlockSize'] })).toBe(32);
    expect(() => alias.done()).not.toThrow();
    const both = new ParamReader('demo-scorer', { blockSize: 8, hashBlockSize: 32 });
    expect(both.int('blockSize', 16, { aliases: ['hashBlockSize'] })).toBe(8);
    expect(() => both.done()).not.toThrow();
    const dur = new ParamReader('demo-scorer', { staleAfter: '1s' });
    expect(dur.durationMs('staleness', 5, { aliases: ['staleAfter'] })).toBe(1000);
  });

  it.each<[string, unknown, (r: ParamReader) => unknown, ParamIssue]>([
    [
      'a float for an integer',
      1.5,
      (r) => r.int('v', 2),
      { field: 'v', message: 'must be an integer, got 1.5', fix: 'v: 2' },
    ],
    [
      'a string for a number',
      '3',
      (r) => r.float('v', 2),
      { field: 'v', message: 'must be a number, got "3"', fix: 'v: 2' },
    ],
    [
      'infinity',
      Number.POSITIVE_INFINITY,
      (r) => r.float('v', 2),
      { field: 'v', message: 'must be a number, got Infinity', fix: 'v: 2' },
    ],
    [
      'below the minimum',
      0,
      (r) => r.int('v', 2, { min: 1 }),
      { field: 'v', message: 'must be ≥ 1, got 0', fix: 'v: 2' },
    ],
    [
      'above the maximum',
      11,
      (r) => r.int('v', 2, { max: 10 }),
      { field: 'v', message: 'must be ≤ 10, got 11', fix: 'v: 2' },
    ],
    [
      'outside both bounds',
      1.5,
      (r) => r.float('v', 0.5, { min: 0, max: 1 }),
      { field: 'v', message: 'must be between 0 and 1, got 1.5', fix: 'v: 0.5' },
    ],
    [
      'a string for a boolean',
      'yes',
      (r) => r.bool('v', true),
      { field: 'v', message: 'must be true or false, got "yes"', fix: 'v: true' },
    ],
    [
      'an empty string',
      '',
      (r) => r.string('v', 'x'),
      { field: 'v', message: 'must be a non-empty string, got ""' },
    ],
    [
      'a list for a string',
      ['a'],
      (r) => r.string('v', 'x'),
      { field: 'v', message: 'must be a non-empty string, got a list' },
    ],
    [
      'a value not offered',
      'c',
      (r) => r.oneOf('v', 'a', ['a', 'b']),
      { field: 'v', message: 'must be one of a, b, got "c"', fix: 'v: a' },
    ],
    [
      'a bad duration',
      'soon',
      (r) => r.durationMs('v', 200),
      {
        field: 'v',
        message: 'must be a duration (e.g. "200ms", "2s") or milliseconds, got "soon"',
        fix: 'v: 200ms',
      },
    ],
    [
      'a duration of the wrong type',
      true,
      (r) => r.durationMs('v', 200),
      {
        field: 'v',
        message: 'must be a duration (e.g. "200ms", "2s") or milliseconds, got true',
        fix: 'v: 200ms',
      },
    ],
    [
      'a duration out of range',
      '5s',
      (r) => r.durationMs('v', 200, { max: 1000 }),
      { field: 'v', message: 'must be ≤ 1000, got 5000', fix: 'v: 200' },
    ],
  ])('rejects %s with its field, the fix, and falls back', (_label, value, read, issue) => {
    let got: unknown;
    expect(
      issuesOf({ v: value }, (r) => {
        got = read(r);
      }),
    ).toEqual([issue]);
    const fallback = read(new ParamReader('demo-scorer', {}));
    expect(got).toEqual(fallback);
  });

  it('accepts the bounds themselves', () => {
    expect(
      issuesOf({ a: 1, b: 10 }, (r) => {
        expect(r.int('a', 5, { min: 1, max: 10 })).toBe(1);
        expect(r.int('b', 5, { min: 1, max: 10 })).toBe(10);
      }),
    ).toEqual([]);
  });

  it('names unknown fields with the known ones, or says the plugin takes none', () => {
    expect(
      issuesOf({ wieght: 1, n: 2 }, (r) => {
        r.int('n', 1);
        r.int('blockSize', 1, { aliases: ['hashBlockSize'] });
      }),
    ).toEqual([
      { field: 'wieght', message: 'unknown parameter of demo-scorer', fix: 'known parameters: n, blockSize' },
    ]);
    expect(issuesOf({ x: 1 }, () => {})).toEqual([
      {
        field: 'x',
        message: 'unknown parameter of demo-scorer',
        fix: 'demo-scorer takes no parameters: remove it',
      },
    ]);
  });

  it('throws every issue at once, in one message naming the plugin type', () => {
    const r = new ParamReader('demo-scorer', { a: 'x', b: -1, c: 1 });
    r.int('a', 1);
    r.int('b', 1, { min: 0 });
    let thrown: unknown;
    try {
      r.done();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PluginParamsError);
    const e = thrown as PluginParamsError;
    expect(e.name).toBe('PluginParamsError');
    expect(e.code).toBe('INVALID_PLUGIN_PARAMETERS');
    expect(e.issues.map((i) => i.field)).toEqual(['a', 'b', 'c']);
    expect(e.message).toBe(
      'demo-scorer: a: must be an integer, got "x"; b: must be ≥ 0, got -1; c: unknown parameter of demo-scorer',
    );
    expect(new PluginParamsError('p', [{ field: '', message: 'parameters must be a mapping' }]).message).toBe(
      'p: parameters must be a mapping',
    );
  });
});
