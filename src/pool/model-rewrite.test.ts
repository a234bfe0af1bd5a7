import { describe, expect, it } from 'vitest';
import { findModelValues, rewriteModel } from './model-rewrite.js';

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
