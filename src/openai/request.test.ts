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

describe('parseRequestBody: field types', () => {
  const badRequest = (body: string) => {
    try {
      parseRequestBody(buf(body), true);
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      return err as GatewayError;
    }
    return expect.unreachable(`${body} was accepted`);
  };
  it('an empty body reads as nothing, in both modes', () => {
    const empty = { json: undefined, model: undefined, stream: false, includeUsage: false };
    expect(parseRequestBody(Buffer.alloc(0), true)).toEqual(empty);
    expect(parseRequestBody(Buffer.alloc(0), false)).toEqual(empty);
  });
  it('strict: JSON null is not an object; lenient: it is simply not read', () => {
    expect(badRequest('null').message).toMatch(/must be a JSON object/);
    expect(parseRequestBody(buf('null'), false).json).toBeUndefined();
  });
  it('strict: invalid UTF-8 is refused, not replaced', () => {
    const body = Buffer.concat([buf('{"model":"m","prompt":"'), Buffer.from([0xff, 0xfe]), buf('"}')]);
    try {
      parseRequestBody(body, true);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect([(err as GatewayError).status, (err as GatewayError).message]).toEqual([
        400,
        expect.stringMatching(/not valid JSON/),
      ]);
    }
    expect(parseRequestBody(body, false).json?.prompt).toBe('\ufffd\ufffd');
  });
  it('strict: names the offending field', () => {
    const model = badRequest('{"model":["m"]}');
    expect([model.status, model.param, model.message]).toEqual([
      400,
      'model',
      'The field `model` must be a string.',
    ]);
    const stream = badRequest('{"model":"m","stream":"yes"}');
    expect([stream.status, stream.param, stream.message]).toEqual([
      400,
      'stream',
      'The field `stream` must be a boolean.',
    ]);
  });
  it('stream: null means not streamed; lenient mode accepts any type and reads what it can', () => {
    expect(parseRequestBody(buf('{"model":"m","stream":null}'), true)).toMatchObject({
      model: 'm',
      stream: false,
    });
    expect(parseRequestBody(buf('{"model":42,"stream":"yes"}'), false)).toMatchObject({
      json: { model: 42, stream: 'yes' },
      model: undefined,
      stream: false,
    });
  });
  it('include_usage must be exactly true', () => {
    for (const so of ['null', '"x"', '{"include_usage":"true"}', '{}']) {
      expect(parseRequestBody(buf(`{"stream_options":${so}}`), true).includeUsage, so).toBe(false);
    }
  });
});

describe('withStreamUsage: edges', () => {
  const parsedOf = (s: string) => parseRequestBody(buf(s), false);
  it.each([' ', '\n', '\r', '\t'])('skips %j before and after the opening brace', (ws) => {
    expect(withStreamUsage(buf(`${ws}{${ws}}`), parsedOf('{}'))?.toString()).toBe(
      `${ws}{"stream_options":{"include_usage":true}${ws}}`,
    );
    expect(withStreamUsage(buf(`${ws}{${ws}"a":1}`), parsedOf('{"a":1}'))?.toString()).toBe(
      `${ws}{"stream_options":{"include_usage":true},${ws}"a":1}`,
    );
  });
  it('leaves an upstream body that is not a JSON object alone', () => {
    // `body` is what goes upstream; it is checked on its own, not trusted from the parsed client body.
    expect(withStreamUsage(buf('[{}]'), parsedOf('{}'))).toBeUndefined();
    for (const upstream of ['[1]', 'null', '"s"', '{bad']) {
      expect(withStreamUsage(buf(upstream), parsedOf('{"stream_options":{}}')), upstream).toBeUndefined();
    }
  });
  it('replaces stream_options that is not an object', () => {
    for (const so of ['"x"', 'null', '7']) {
      const body = `{"stream_options":${so},"model":"m"}`;
      expect(JSON.parse(withStreamUsage(buf(body), parsedOf(body))!.toString())).toEqual({
        stream_options: { include_usage: true },
        model: 'm',
      });
    }
  });
});
