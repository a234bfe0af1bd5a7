import { describe, expect, it } from 'vitest';
import { effectiveHostnames, hostnameMatches, normalizeHost } from './hostnames.js';

describe('normalizeHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['127.0.0.1:80', '127.0.0.1'],
    [undefined, ''],
  ])('%s → %s', (input, want) => {
    expect(normalizeHost(input)).toBe(want);
  });
});

describe('hostnameMatches', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['example.com', 'a.example.com', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'aexample.com', false],
  ])('%s vs %s → %s', (pattern, host, want) => {
    expect(hostnameMatches(pattern, host)).toBe(want);
  });
});

describe('effectiveHostnames (listener ∩ route)', () => {
  it.each([
    [undefined, [], ['*']],
    ['*.example.com', [], ['*.example.com']],
    [undefined, ['a.com', 'B.com'], ['a.com', 'b.com']],
    ['*.example.com', ['a.example.com', 'a.example.net'], ['a.example.com']],
    ['foo.example.com', ['*.example.com'], ['foo.example.com']],
    ['*.example.com', ['*.api.example.com'], ['*.api.example.com']],
    ['*.api.example.com', ['*.example.com'], ['*.api.example.com']],
    ['*.example.com', ['*.example.net'], []],
    ['a.com', ['b.com'], []],
  ] as const)('%s ∩ %j → %j', (listener, route, want) => {
    expect(effectiveHostnames(listener, route)).toEqual(want);
  });
});
