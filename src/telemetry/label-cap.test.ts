import { describe, expect, it } from 'vitest';
import { LabelCap, OTHER_LABEL } from './label-cap.js';

describe('LabelCap', () => {
  it('keeps the first N distinct values and folds the rest into other', () => {
    const cap = new LabelCap(2, 8);
    expect(cap.value('a')).toBe('a');
    expect(cap.value('b')).toBe('b');
    expect(cap.value('a')).toBe('a');
    expect(cap.value('c')).toBe(OTHER_LABEL);
    expect(cap.value(undefined)).toBe('');
    expect(cap.size).toBe(2);
  });
  it('cuts long values', () => {
    const cap = new LabelCap(10, 4);
    expect(cap.value('abcdefgh')).toBe('abcd');
  });
});
