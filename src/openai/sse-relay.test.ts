import { describe, expect, it } from 'vitest';
import { ModelRewriter } from './model-rewrite.js';
import type { Usage } from './sse.js';
import { SseRelay, sseErrorEvent } from './sse-relay.js';

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const role = ev({ model: 'up', choices: [{ index: 0, delta: { role: 'assistant' } }] });
const tok = ev({ model: 'up', choices: [{ index: 0, delta: { content: 'hi' } }], usage: null });
const usage = ev({ model: 'up', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } });
const done = 'data: [DONE]\n\n';
const stream = role + tok + tok + usage + done;

/** Feeds `text` in pieces of `size` bytes; returns what the client got and what was observed. */
function run(text: string, size: number, opts: ConstructorParameters<typeof SseRelay>[1] = {}) {
  let firstTokenAt = -1;
  let usageSeen: Usage | undefined;
  let chunks = 0;
  const relay = new SseRelay(
    {
      onFirstToken: () => {
        firstTokenAt = chunks;
      },
      onUsage: (u) => {
        usageSeen = u;
      },
    },
    opts,
  );
  const bytes = Buffer.from(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += size) {
    chunks++;
    const o = relay.push(bytes.subarray(i, i + size));
    out += typeof o === 'string' ? o : o.toString();
  }
  out += relay.end();
  return { out, firstTokenAt, usage: usageSeen };
}

describe('SseRelay', () => {
  it.each([1, 3, 17, 1000])('passes bytes through unchanged in pieces of %i', (size) => {
    const r = run(stream, size);
    expect(r.out).toBe(stream);
    expect(r.usage).toEqual({ promptTokens: 7, completionTokens: 3 });
    expect(r.firstTokenAt).toBeGreaterThan(0);
  });

  it('counts the role-only chunk as the first token (non-empty choices)', () => {
    const r = run(role + tok, role.length);
    expect(r.firstTokenAt).toBe(1);
  });

  it.each([1, 5, 64])('strips the usage-only chunk but still reports usage (pieces of %i)', (size) => {
    const r = run(stream, size, { stripUsageOnly: true });
    expect(r.out).toBe(role + tok + tok + done);
    expect(r.usage).toEqual({ promptTokens: 7, completionTokens: 3 });
  });

  it.each([2, 7, 4096])('rewrites the model name in every chunk (pieces of %i)', (size) => {
    const r = run(stream, size, { rewrite: new ModelRewriter('up', 'client') });
    expect(r.out).toBe(stream.replaceAll('"model":"up"', '"model":"client"'));
  });

  it('handles CRLF event terminators and multi-byte characters split across chunks', () => {
    const text = `data: ${JSON.stringify({ model: 'up', choices: [{ delta: { content: 'héllo ✓' } }] })}\r\n\r\n${done}`;
    const r = run(text, 1, { rewrite: new ModelRewriter('up', 'c') });
    expect(r.out).toBe(text.replace('"model":"up"', '"model":"c"'));
    expect(r.firstTokenAt).toBeGreaterThan(0);
  });

  it('flushes an event left without its blank line at the end', () => {
    const r = run(`${role}data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`, 10, {
      stripUsageOnly: true,
    });
    expect(r.out).toBe(role);
    expect(r.usage).toEqual({ promptTokens: 1, completionTokens: 2 });
  });

  it('formats an error event in OpenAI shape', () => {
    const e = sseErrorEvent(504, 'GatewayTimeoutError', 'late');
    expect(e.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(e.slice(6))).toEqual({
      error: { message: 'late', type: 'GatewayTimeoutError', param: null, code: 504 },
    });
  });
});
