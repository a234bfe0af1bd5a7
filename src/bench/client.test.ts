import { describe, expect, it } from 'vitest';
import { chunkHasChoices } from '../openai/sse.js';
import { scanChoices, scanChunkText } from './client.js';

describe('scanChoices (token-chunk recognition without JSON.parse)', () => {
  it.each([
    { data: '{"id":"c","choices":[{"index":0,"text":" a"}]}', want: 1 },
    { data: '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}', want: 1 },
    { data: '{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}', want: 0 },
    { data: '{"id":"c","choices": [ ],"usage":null}', want: 0 },
    { data: '{"id":"c","choices":null}', want: 0 },
    { data: '{"error":{"message":"boom"}}', want: 0 },
    { data: '{"id":"c", "choices" : [{"text":"x"}]}', want: -1 },
    { data: '{"choices":[ {"text":"x"}]}', want: 1 },
    // A key-like string inside content is escaped in JSON and never matches.
    { data: '{"id":"c","model":"m","choices":[],"note":"\\"choices\\":[{"}', want: 0 },
  ])('$data → $want', ({ data, want }) => {
    expect(scanChoices(data)).toBe(want);
    // Whenever the scan decides, it agrees with parsing.
    if (want !== -1) expect(chunkHasChoices(JSON.parse(data))).toBe(want === 1);
  });
});

describe('scanChunkText (answer text without JSON.parse)', () => {
  it.each([
    { data: '{"id":"c","choices":[{"index":0,"text":" the","logprobs":null}]}', want: ' the' },
    { data: '{"id":"c","choices":[{"index":0,"delta":{"content":" of"}}]}', want: ' of' },
    { data: '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}', want: '' },
    // Escapes, or no text at all: undefined, and the caller parses.
    { data: '{"id":"c","choices":[{"index":0,"text":"a\\"b"}]}', want: undefined },
    { data: '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}', want: undefined },
    // A reasoning_content key is not the content key.
    { data: '{"choices":[{"delta":{"reasoning_content":"x"}}]}', want: undefined },
  ])('$data → $want', ({ data, want }) => {
    expect(scanChunkText(data)).toBe(want);
  });
});
