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
