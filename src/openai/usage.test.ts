import { describe, expect, it } from 'vitest';
import { usageOf } from './sse.js';
import { usageFromJsonBody } from './usage.js';

const b = (s: string) => Buffer.from(s);

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
  it.each([
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
  ])('agrees with a full parse: %s', (text) => {
    expect(usageFromJsonBody(b(text))).toEqual(usageOf(JSON.parse(text)));
  });
});
