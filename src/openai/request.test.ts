import { describe, expect, it } from 'vitest';
import { GatewayError } from './errors.js';
import { parseRequestBody, withStreamUsage } from './request.js';

const buf = (s: string) => Buffer.from(s);

describe('parseRequestBody', () => {
  it('reads model, stream and include_usage', () => {
    const p = parseRequestBody(
      buf('{"model":"m","stream":true,"stream_options":{"include_usage":true}}'),
      true,
    );
    expect(p).toMatchObject({ model: 'm', stream: true, includeUsage: true });
  });
  it.each([
    ['{bad json', /not valid JSON/],
    ['[1,2]', /must be a JSON object/],
    ['"text"', /must be a JSON object/],
    ['{"model":42}', /`model` must be a string/],
  ])('strict: %s is a BAD_REQUEST', (body, message) => {
    try {
      parseRequestBody(buf(body), true);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(400);
      expect((err as GatewayError).message).toMatch(message);
    }
  });
  it('lenient: bad bodies are simply not parsed; empty bodies are fine in both modes', () => {
    expect(parseRequestBody(buf('{bad'), false).json).toBeUndefined();
    expect(parseRequestBody(Buffer.alloc(0), true).json).toBeUndefined();
  });
});

describe('withStreamUsage', () => {
  const inject = (s: string) => {
    const b = buf(s);
    const out = withStreamUsage(b, parseRequestBody(b, false));
    return out?.toString();
  };
  it('splices the member after the opening brace, leaving the rest byte-identical', () => {
    expect(inject('{"model":"m", "stream":true}')).toBe(
      '{"stream_options":{"include_usage":true},"model":"m", "stream":true}',
    );
    expect(inject('  {\n"stream":true}')).toBe('  {"stream_options":{"include_usage":true},\n"stream":true}');
  });
  it('merges into existing stream_options', () => {
    const out = inject('{"stream":true,"stream_options":{"continuous_usage_stats":false}}');
    expect(JSON.parse(out!)).toEqual({
      stream: true,
      stream_options: { continuous_usage_stats: false, include_usage: true },
    });
  });
  it('does nothing when usage is already asked for, or for a body that is not an object', () => {
    expect(inject('{"stream":true,"stream_options":{"include_usage":true}}')).toBeUndefined();
    expect(inject('[1]')).toBeUndefined();
  });
  it('always yields valid JSON', () => {
    for (const s of ['{"a":1}', '{ }', '{"stream":true,"x":[{"y":"}"}]}']) {
      const b = buf(s);
      const parsed = parseRequestBody(b, false);
      const out = withStreamUsage(b, parsed);
      expect(JSON.parse(out!.toString()).stream_options).toEqual({ include_usage: true });
    }
  });
});
