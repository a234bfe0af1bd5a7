import { describe, expect, it } from 'vitest';
import { retainedBytes } from '../../test/helpers/heap.js';
import { ownCopy } from './strings.js';

describe('ownCopy', () => {
  it('has the same characters, short or long', () => {
    for (const s of ['', 'a', '<|im_end|>', 'x'.repeat(13), 'ünï中文🙂'.repeat(5)])
      expect(ownCopy(s)).toBe(s);
  });

  it('does not keep the text it was cut from alive (a slice does)', () => {
    // 40 texts of 1 MiB: slices keep all 40 MiB, copies only their 100 characters
    const sliced = retainedBytes(40, (t) => t.slice(5, 105));
    const copied = retainedBytes(40, (t) => ownCopy(t.slice(5, 105)));
    expect(sliced).toBeGreaterThan(30 * 2 ** 20);
    expect(copied).toBeLessThan(4 * 2 ** 20);
  });
});
