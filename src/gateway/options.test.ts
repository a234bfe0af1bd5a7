import { describe, expect, it } from 'vitest';
import { parseByteSize } from './options.js';

describe('parseByteSize', () => {
  it.each([
    ['1048576', 1048576],
    ['32MiB', 32 * 1024 * 1024],
    ['32mb', 32_000_000],
    ['512k', 512 * 1024],
    ['1.5KiB', 1536],
    ['2 GiB', 2 * 1024 ** 3],
    ['ten', undefined],
    ['-1', undefined],
    ['5 parsecs', undefined],
  ])('%s → %s', (text, want) => {
    expect(parseByteSize(text)).toBe(want);
  });
});
