import { describe, expect, it } from 'vitest';
import { findModelValues, ModelRewriter, rewriteModel } from './model-rewrite.js';

describe('ModelRewriter', () => {
  const r = new ModelRewriter('travel-helper-v2', 'travel-helper');
  it.each([
    ['{"id":"x","model":"travel-helper-v2","choices":[]}', '{"id":"x","model":"travel-helper","choices":[]}'],
    // Other spacing: structural fallback.
    ['{"id":"x", "model": "travel-helper-v2"}', '{"id":"x","model":"travel-helper"}'],
    // Another model, or the name only inside content: unchanged.
    ['{"model":"other"}', '{"model":"other"}'],
    [
      '{"content":"say \\"model\\":\\"travel-helper-v2\\""}',
      '{"content":"say \\"model\\":\\"travel-helper-v2\\""}',
    ],
    ['not json "model"', 'not json "model"'],
  ])('%s', (input, want) => {
    expect(r.rewriteText(input)).toBe(want);
  });

  it('escapes names that need it', () => {
    const w = new ModelRewriter('/model/llama2', 'a"b');
    expect(w.rewriteText('{"model":"/model/llama2"}')).toBe('{"model":"a\\"b"}');
  });

  it('returns the same buffer when nothing changes', () => {
    const b = Buffer.from('{"model":"other"}');
    expect(r.rewriteBuffer(b)).toBe(b);
  });
});

const rw = (body: string, model = 'target') => rewriteModel(Buffer.from(body), model).toString('utf8');

describe('rewriteModel', () => {
  it.each([
    ['model first', '{"model":"a","prompt":"x"}', '{"model":"target","prompt":"x"}'],
    [
      'model last, spacing kept',
      '{ "prompt" : "x" ,\n  "model" :  "a" }',
      '{ "prompt" : "x" ,\n  "model" :  "target" }',
    ],
    [
      '"model" inside nested values and strings is left alone',
      '{"messages":[{"role":"user","content":"the \\"model\\": \\"x\\" {[ \\\\"}],"meta":{"model":"inner"},"model":"a"}',
      '{"messages":[{"role":"user","content":"the \\"model\\": \\"x\\" {[ \\\\"}],"meta":{"model":"inner"},"model":"target"}',
    ],
    [
      'escapes, numbers and literals elsewhere are byte-identical',
      '{"a":1.50e3,"b":null,"c":[true,{"d":"\\u00e9"}],"model":"x"}',
      '{"a":1.50e3,"b":null,"c":[true,{"d":"\\u00e9"}],"model":"target"}',
    ],
    [
      'duplicate keys: every one replaced',
      '{"model":"a","model":"b"}',
      '{"model":"target","model":"target"}',
    ],
    [
      'non-ASCII text around',
      '{"prompt":"日本語のテキスト","model":"a"}',
      '{"prompt":"日本語のテキスト","model":"target"}',
    ],
  ])('%s', (_label, body, want) => {
    expect(rw(body)).toBe(want);
    expect(JSON.parse(rw(body)).model).toBe('target');
  });

  it('escapes the new model name as JSON', () => {
    expect(JSON.parse(rw('{"model":"a"}', 'we"ird\\name')).model).toBe('we"ird\\name');
  });

  it('falls back to re-serialising what it cannot scan, keeping the meaning', () => {
    const body = '{"mod\\u0065l":"a","prompt":"p"}'; // escaped key: not matched byte-wise
    const out = JSON.parse(rw(body));
    expect(out).toEqual({ model: 'target', prompt: 'p' });
  });

  it('findModelValues rejects malformed bodies', () => {
    for (const b of ['', '[]', '{"model":"a"', '{"model" "a"}', '{"a":1}x']) {
      expect(findModelValues(Buffer.from(b)), b).toBeUndefined();
    }
    expect(findModelValues(Buffer.from('{}'))).toEqual([]);
  });
});

describe('rewriteModel: the scan keeps every other byte', () => {
  // Bodies written with spacing, so that the re-serialising fallback (compact JSON) would show.
  it.each([
    [
      'CR, LF and tab between tokens',
      '{\r\n\t"model"\t:\r\n "a"\r\n}',
      '{\r\n\t"model"\t:\r\n "target"\r\n}',
    ],
    [
      'a five-letter key that is not model',
      '{ "other": "a", "model": "a" }',
      '{ "other": "a", "model": "target" }',
    ],
    [
      'escaped quotes and backslashes in strings',
      '{ "p": "say \\"hi\\" \\\\", "q\\\\": "\\\\\\"", "model": "a" }',
      '{ "p": "say \\"hi\\" \\\\", "q\\\\": "\\\\\\"", "model": "target" }',
    ],
    [
      'a string value with spaces and commas',
      '{ "p": "a b, c", "model": "a" }',
      '{ "p": "a b, c", "model": "target" }',
    ],
    [
      'nested values with brackets and braces inside strings',
      '{ "m": [ {"c": "}]"}, "[{" ], "o": { "k": ["]", {"x": "{"}] }, "model": "a" }',
      '{ "m": [ {"c": "}]"}, "[{" ], "o": { "k": ["]", {"x": "{"}] }, "model": "target" }',
    ],
    [
      'literals ended by each delimiter',
      '{ "a": 1 , "b": true\n, "c": null\r, "d": -2.5e1\t, "e": [1,2], "model": false }',
      '{ "a": 1 , "b": true\n, "c": null\r, "d": -2.5e1\t, "e": [1,2], "model": "target" }',
    ],
    ['a non-string model value', '{ "model": {"name": "a"} }', '{ "model": "target" }'],
    [
      'an escaped quote right after the opening one',
      '{ "p": "\\"", "model": "a" }',
      '{ "p": "\\"", "model": "target" }',
    ],
  ])('%s', (_label, body, want) => {
    expect(rw(body)).toBe(want);
  });

  it('findModelValues returns the exact byte range of each model value', () => {
    const body = '{ "x": "model", "model" :  "a b" , "y": {"model": 1}, "model":[1, 2] }';
    const spans = findModelValues(Buffer.from(body));
    expect(spans?.map(([s, e]) => body.slice(s, e))).toEqual(['"a b"', '[1, 2]']);
  });

  it.each([
    'x{"model":"a"}',
    '{x":"a"}',
    '{"model":"a"]',
    '{"a":1]}',
    '{"model":,"a":1}',
    '{"model":}',
    '{"a":{"b',
    '{"a":["x',
    '{"a":[1,2',
    '{"a":{"b":1}',
    '{"model":"a',
    '{"mod',
  ])('findModelValues rejects %s', (body) => {
    expect(findModelValues(Buffer.from(body))).toBeUndefined();
  });
});
