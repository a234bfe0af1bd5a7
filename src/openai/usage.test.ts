import { describe, expect, it } from 'vitest';
import { usageOf } from './sse.js';
import { usageFromJsonBody } from './usage.js';

const b = (s: string) => Buffer.from(s);

/** Usage objects whose in-place scan must agree with parsing the whole answer. */
const AGREEMENT = [
  '{"usage":{"prompt_tokens":5,"completion_tokens":6,"details":{"prompt_tokens":99,"completion_tokens":98}}}',
  '{"usage":{"details":{"prompt_tokens":99},"completion_tokens":6}}',
  '{"usage":{"prompt_tokens":5.5,"completion_tokens":6}}',
  '{"usage":{"prompt_tokens":-1,"completion_tokens":6}}',
  '{"usage":{"prompt_tokens":1e3,"completion_tokens":6}}',
  '{"usage":{"prompt_tokens":null,"completion_tokens":6}}',
  '{"usage":{"prompt_tokens":"5","completion_tokens":6}}',
  '{"usage":{"prompt\\u005ftokens":7,"completion_tokens":6}}',
  '{"usage":{"note":"prompt_tokens","completion_tokens":6}}',
  '{"usage":{"prompt_tokens":1,"prompt_tokens":2,"completion_tokens":3}}',
  '{"usage":{"total_tokens":3}}',
  '{"usage":{}}',
  '{"usage":{ "prompt_tokens" : 12 , "completion_tokens" : 0 }}',
  '{"usage":{"prompt_tokens":1234567890123456789,"completion_tokens":1}}',
  // 20 digits: summing digit by digit would round differently from JSON.parse.
  '{"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":1}}',
  '{"usage":{"prompt_tokens":0}}',
  '{"usage":{"completion_tokens":0}}',
];

describe('usageFromJsonBody', () => {
  it.each([
    [
      '{"id":"x","usage":{"prompt_tokens":15,"total_tokens":115,"completion_tokens":100,"prompt_tokens_details":null}}',
      15,
      100,
    ],
    [
      '{"usage" : { "prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 2} } }',
      3,
      4,
    ],
    // The word usage inside content (escaped quotes) does not confuse it.
    ['{"choices":[{"text":"my \\"usage\\": {1}"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}', 1, 2],
    ['{"usage":{"prompt_tokens":1,"completion_tokens":2,"note":"a } brace"}}', 1, 2],
  ])('%s', (text, prompt, completion) => {
    expect(usageFromJsonBody(b(text))).toEqual({ promptTokens: prompt, completionTokens: completion });
  });
  it.each(['{"usage":null}', '{"id":"x"}', 'not json', '{"usage":{"prompt_tokens":1'])(
    'no usage in %s',
    (text) => {
      expect(usageFromJsonBody(b(text))).toBeUndefined();
    },
  );

  // The in-place scan must agree with parsing the whole answer.
  it.each(AGREEMENT)('agrees with a full parse: %s', (text) => {
    expect(usageFromJsonBody(b(text))).toEqual(usageOf(JSON.parse(text)));
  });
  // Only the usage member is read: what comes before it (here, bytes that are not JSON at all) is
  // never parsed, so the same usage comes out — the full parse is a fallback, not the way.
  it.each(AGREEMENT)('reads the usage member alone: <not json>%s', (text) => {
    const body = b(`\u0000 not json [ \t\r\n${text}`);
    expect(usageFromJsonBody(body)).toEqual(usageOf(JSON.parse(text)));
  });
  it.each([
    ['"usage"\t:\r\n {"prompt_tokens"\n:\t7 ,\r"completion_tokens" :\n8\t}}', 7, 8],
    ['"usage":{"completion_tokens":5}}', 0, 5],
    ['"usage":{"prompt_tokens":5}}', 5, 0],
    ['"usage":{"n":"a \\" } \\\\","prompt_tokens":1,"completion_tokens":2}}', 1, 2],
    [
      '"usage":{"d":{"prompt_tokens":99,"completion_tokens":98},"prompt_tokens":1,"completion_tokens":2}}',
      1,
      2,
    ],
  ])('scans whitespace, nesting and escapes in place: %s', (tail, prompt, completion) => {
    expect(usageFromJsonBody(b(`garbage ${tail}`))).toEqual({
      promptTokens: prompt,
      completionTokens: completion,
    });
    // The key at the very start of the body is found too.
    expect(usageFromJsonBody(b(tail))).toEqual({ promptTokens: prompt, completionTokens: completion });
  });
  it.each(['garbage "usage" x {"prompt_tokens":1}', 'garbage "usage":{"prompt_tokens":1'])(
    'falls back to a full parse when the member is not an object it can close: %s',
    (text) => {
      expect(usageFromJsonBody(b(text))).toBeUndefined();
    },
  );

  // Plain integer counts are read where they stand: the rest of the usage object is never parsed,
  // so a member the scanner need not understand (here NaN, not JSON) does not lose the counts.
  it.each([
    ['{"prompt_tokens":10,"completion_tokens":90,"x":NaN}', 10, 90],
    ['{"x":NaN,"completion_tokens":109,"prompt_tokens":0}', 0, 109],
    ['{ "prompt_tokens" :\t123456789012345 ,\r\n"completion_tokens"\n:\r7\t} ', 123456789012345, 7],
    ['{"x":NaN,"note":"prompt_tokens","completion_tokens":6}', 0, 6],
    ['{"x":[NaN,{"prompt_tokens":5}],"prompt_tokens":8,"completion_tokens":9}', 8, 9],
  ])('scans plain counts in place: %s', (object, prompt, completion) => {
    expect(usageFromJsonBody(b(`garbage "usage":${object}}`))).toEqual({
      promptTokens: prompt,
      completionTokens: completion,
    });
  });
  it.each([
    // Not plain integers, so the object is parsed — and it does not parse.
    '{"prompt_tokens":1234567890123456,"completion_tokens":1,"x":NaN}',
    '{"prompt_tokens":1.5,"completion_tokens":1,"x":NaN}',
    '{"prompt_tokens":"1","completion_tokens":1,"x":NaN}',
    // The object never closes.
    '{"prompt_tokens":1,"completion_tokens":2,',
  ])('gives up on what it cannot read: garbage "usage":%s', (object) => {
    expect(usageFromJsonBody(b(`garbage "usage":${object}`))).toBeUndefined();
  });
  it.each([
    '{"usage":{"prompt_tokens":1,"completion_tokens":2},"note":"usage"}',
    '{"usage":{"prompt_tokens":1,"completion_tokens":2},"note":["usage"]}',
  ])('parses the whole answer when the last "usage" is a string value, not the member: %s', (text) => {
    expect(usageFromJsonBody(b(text))).toEqual({ promptTokens: 1, completionTokens: 2 });
  });
  it('reads "usage": null as no usage, whatever follows', () => {
    expect(
      usageFromJsonBody(b('garbage "usage":null,"x":{"prompt_tokens":1,"completion_tokens":2}}')),
    ).toBeUndefined();
  });
});
