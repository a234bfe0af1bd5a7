import { describe, expect, it } from 'vitest';
import { rewritePath } from './filters.js';

describe('rewritePath', () => {
  it.each([
    // [path, type, value, matched prefix, want]
    ['/foo/bar', 'ReplacePrefixMatch', '/xyz', '/foo', '/xyz/bar'],
    ['/foo', 'ReplacePrefixMatch', '/xyz', '/foo', '/xyz'],
    ['/foo/', 'ReplacePrefixMatch', '/xyz', '/foo', '/xyz/'],
    ['/foo/bar', 'ReplacePrefixMatch', '/', '/foo', '/bar'],
    ['/foo', 'ReplacePrefixMatch', '/', '/foo', '/'],
    ['/foo/bar', 'ReplacePrefixMatch', '/xyz/', '/foo', '/xyz/bar'],
    ['/a/b', 'ReplacePrefixMatch', '/v1', '', '/v1/a/b'], // prefix `/`
    ['/anything/at/all', 'ReplaceFullPath', '/v1/chat/completions', '/anything', '/v1/chat/completions'],
  ] as const)('%s %s %s (prefix %s) → %s', (path, type, value, prefix, want) => {
    expect(rewritePath(path, { type, value }, prefix)).toBe(want);
  });
});
