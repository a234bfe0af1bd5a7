import { describe, expect, it } from 'vitest';
import { chunkHasChoices, SseReader, usageOf } from './sse.js';

/** Feeds `parts` to a reader (then ends it when asked) and returns every event's data. */
function read(parts: readonly (string | Uint8Array)[], end = true): string[] {
  const events: string[] = [];
  const reader = new SseReader((d) => events.push(d));
  for (const p of parts) reader.push(p);
  if (end) reader.end();
  return events;
}

describe('SseReader', () => {
  it('hands over each event once its blank line arrives, with or without the space after "data:"', () => {
    const events: string[] = [];
    const reader = new SseReader((d) => events.push(d));
    reader.push('data: {"a":1}\n');
    expect(events).toEqual([]); // no blank line yet
    reader.push('\ndata:{"b":2}\n\n');
    expect(events).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('joins the data lines of one event with newlines and ignores comments and other fields', () => {
    expect(read([': keep-alive\nevent: x\nid: 7\ndata: one\ndata: two\n\n'])).toEqual(['one\ntwo']);
  });

  it('keeps only the first space after "data:"', () => {
    expect(read(['data:  indented\n\n'])).toEqual([' indented']);
  });

  it('accepts CRLF line ends, split anywhere', () => {
    const text = 'data: a\r\n\r\ndata: b\r\n\r\n';
    for (let size = 1; size <= text.length; size++) {
      const parts: string[] = [];
      for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
      expect(read(parts)).toEqual(['a', 'b']);
    }
  });

  it('decodes a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('data: é€\n\n');
    const parts = [...bytes].map((b) => Uint8Array.of(b));
    expect(read(parts)).toEqual(['é€']);
  });

  it('ignores empty chunks and blank lines without data', () => {
    expect(read(['', '\n\n', Uint8Array.of(), 'data: x\n\n\n'])).toEqual(['x']);
  });

  it('end() flushes an event left without its blank line, and only then', () => {
    expect(read(['data: tail'], false)).toEqual([]);
    expect(read(['data: tail'])).toEqual(['tail']);
    expect(read(['data: tail\n'])).toEqual(['tail']);
    expect(read([])).toEqual([]);
  });
});

describe('usageOf', () => {
  it.each([
    [{ usage: { prompt_tokens: 7, completion_tokens: 3 } }, { promptTokens: 7, completionTokens: 3 }],
    [{ usage: { prompt_tokens: 7 } }, { promptTokens: 7, completionTokens: 0 }],
    [{ usage: { completion_tokens: 3 } }, { promptTokens: 0, completionTokens: 3 }],
    [{ usage: { prompt_tokens: '7', completion_tokens: 3 } }, { promptTokens: 0, completionTokens: 3 }],
  ])('reads %j', (body, want) => {
    expect(usageOf(body)).toEqual(want);
  });

  it.each([
    [undefined],
    [null],
    ['text'],
    [{}],
    [{ usage: null }],
    [{ usage: 5 }],
    [{ usage: {} }],
    [{ usage: { prompt_tokens: '7' } }],
  ])('finds no usage in %j', (body) => {
    expect(usageOf(body)).toBeUndefined();
  });
});

describe('chunkHasChoices', () => {
  it.each([
    [{ choices: [{ delta: { role: 'assistant' } }] }, true],
    [{ choices: [] }, false],
    [{ choices: null }, false],
    [{ choices: { 0: {} } }, false],
    [{ usage: {} }, false],
    [null, false],
    ['{"choices":[{}]}', false],
  ])('%j → %s', (chunk, want) => {
    expect(chunkHasChoices(chunk)).toBe(want);
  });
});
