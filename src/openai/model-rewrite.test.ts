import { describe, expect, it } from 'vitest';
import { ModelRewriter } from './model-rewrite.js';

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
