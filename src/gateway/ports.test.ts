import { describe, expect, it } from 'vitest';
import { actualPort, PortMapError, parsePortMap } from './ports.js';

describe('parsePortMap', () => {
  it('parses declared=actual pairs', () => {
    expect([...parsePortMap('80=8080, 8081=0,9000:9001')]).toEqual([
      [80, 8080],
      [8081, 0],
      [9000, 9001],
    ]);
  });
  it.each([
    ['80', /DECLARED=ACTUAL/],
    ['80=x', /DECLARED=ACTUAL/],
    ['0=80', /not in 1–65535/],
    ['80=70000', /not in 0–65535/],
    ['80=1,80=2', /mapped twice/],
  ])('rejects %s', (text, message) => {
    expect(() => parsePortMap(text)).toThrow(PortMapError);
    expect(() => parsePortMap(text)).toThrow(message);
  });
});

describe('actualPort', () => {
  const mapping = { map: new Map([[80, 0]]), offset: 8000 };
  it('uses the map first, then the offset', () => {
    expect(actualPort(80, mapping)).toBe(0);
    expect(actualPort(81, mapping)).toBe(8081);
    expect(actualPort(81, { map: new Map(), offset: 0 })).toBe(81);
  });
  it('refuses an offset that leaves the port range', () => {
    expect(() => actualPort(60000, { map: new Map(), offset: 8000 })).toThrow(/out of range/);
  });
});
