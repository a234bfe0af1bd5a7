import { describe, expect, it } from 'vitest';
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
});
