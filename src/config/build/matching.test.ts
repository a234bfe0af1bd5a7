import { describe, expect, it } from 'vitest';
import { escapeRegex, hostnamesIntersect, olderFirst, pathProblem, regexProblem } from './matching.js';

describe('pathProblem', () => {
  it.each([
    ['/', undefined],
    ['/v1/chat/completions', undefined],
    ['v1', 'path "v1" must start with "/"'],
    ['/a//b', 'path "/a//b" must not contain "//"'],
    ['/a/./b', 'path "/a/./b" must not contain "." segments'],
    ['/a/..', 'path "/a/.." must not contain ".." segments'],
    ['/a%2Fb', 'path "/a%2Fb" must not contain "%2F"'],
    ['/a?b=1', 'path "/a?b=1" must not contain "#" or "?"'],
  ])('%s', (value, message) => {
    expect(pathProblem(value)?.message).toBe(message);
  });
});

describe('regexProblem', () => {
  it.each([
    ['^/v1/.*$', undefined],
    ['/v1/(chat', 'Unterminated group'],
    ['a**', 'Nothing to repeat'],
  ])('%s', (source, problem) => {
    expect(regexProblem(source)).toBe(problem);
  });
});

describe('escapeRegex', () => {
  it('matches the text literally', () => {
    const text = '/v1/models.list+(x)';
    expect(new RegExp(`^${escapeRegex(text)}$`).test(text)).toBe(true);
    expect(new RegExp(`^${escapeRegex(text)}$`).test('/v1/modelsXlist+(x)')).toBe(false);
  });
});

describe('hostnamesIntersect', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['example.com', 'other.com', false],
    ['*.example.com', 'api.example.com', true],
    ['api.example.com', '*.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', '*.api.example.com', true],
    ['*.example.com', '*.other.com', false],
  ])('%s ∩ %s = %s', (a, b, expected) => {
    expect(hostnamesIntersect(a, b)).toBe(expected);
  });
});

describe('olderFirst', () => {
  const o = (loadOrder: number, key: string, creationTimestamp?: string) => ({
    loadOrder,
    key,
    creationTimestamp,
  });
  it('uses creation timestamps when both have one', () => {
    expect(olderFirst(o(0, 'a', '2025-02-01T00:00:00Z'), o(1, 'b', '2025-01-01T00:00:00Z'))).toBeGreaterThan(
      0,
    );
  });
  it('falls back to load order, then name', () => {
    expect(olderFirst(o(0, 'b'), o(1, 'a'))).toBeLessThan(0);
    expect(olderFirst(o(0, 'b', '2025-01-01T00:00:00Z'), o(1, 'a'))).toBeLessThan(0);
    expect(olderFirst(o(1, 'a', 'x'), o(1, 'b', 'x'))).toBeLessThan(0);
  });
});
