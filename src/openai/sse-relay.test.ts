import { describe, expect, it } from 'vitest';
import { GatewayError, gatewayErrorBody } from './errors.js';
import { ModelRewriter } from './model-rewrite.js';
import type { Usage } from './sse.js';
import { SseRelay, sseErrorEvent, sseGatewayErrorEvent } from './sse-relay.js';

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const role = ev({ model: 'up', choices: [{ index: 0, delta: { role: 'assistant' } }] });
const tok = ev({ model: 'up', choices: [{ index: 0, delta: { content: 'hi' } }], usage: null });
const usage = ev({ model: 'up', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } });
const done = 'data: [DONE]\n\n';
const stream = role + tok + tok + usage + done;

/** Feeds `text` in pieces of `size` bytes; returns what the client got and what was observed. */
function run(text: string, size: number, opts: ConstructorParameters<typeof SseRelay>[1] = {}) {
  let firstTokenAt = -1;
  let firstTokens = 0;
  let usageSeen: Usage | undefined;
  const usages: Usage[] = [];
  let chunks = 0;
  const relay = new SseRelay(
    {
      onFirstToken: () => {
        firstTokenAt = chunks;
        firstTokens++;
      },
      onUsage: (u) => {
        usageSeen = u;
        usages.push(u);
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
  return { out, firstTokenAt, firstTokens, usage: usageSeen, usages };
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

  it('passes the very same chunk objects through when there is nothing to transform', () => {
    const relay = new SseRelay({ onFirstToken: () => {}, onUsage: () => {} }, { stripUsageOnly: false });
    const chunk = Buffer.from(role);
    expect(relay.push(chunk)).toBe(chunk);
    expect(relay.end()).toBe('');
  });

  it.each([
    ['pass-through', {}],
    ['transform', { rewrite: new ModelRewriter('up', 'client') }],
  ])('%s: reports the first token once, and only valid usage objects', (_mode, opts) => {
    const odd = [
      ev({ choices: [], usage: 'not an object' }),
      ev({ choices: [], usage: { total_tokens: 9 } }),
      'data: {"usage": broken\n\n',
    ].join('');
    const r = run(role + tok + tok + odd + usage + done, 1, opts);
    expect(r.firstTokens).toBe(1);
    expect(r.usages).toEqual([{ promptTokens: 7, completionTokens: 3 }]);
  });

  it('waits for a chunk with choices before reporting the first token', () => {
    const empty = ev({ model: 'up', choices: [] });
    const noChoices = ev({ model: 'up', object: 'chat.completion.chunk' });
    for (const opts of [{}, { stripUsageOnly: true }]) {
      const r = run(empty + noChoices + tok, empty.length + noChoices.length, opts);
      expect(r.firstTokenAt).toBe(2);
      expect(r.firstTokens).toBe(1);
    }
  });

  it('strips only the usage-only chunk: a token chunk that carries usage is kept', () => {
    const tokWithUsage = ev({
      choices: [{ delta: { content: 'x' } }],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    });
    const emptyNoUsage = ev({ choices: [] });
    const nullUsage = ev({ choices: [], usage: null });
    const notArray = ev({ choices: {}, usage: { prompt_tokens: 1 } });
    const text =
      tokWithUsage + emptyNoUsage + nullUsage + notArray + 'data: "just a string"\n\n' + usage + done;
    const r = run(text, 7, { stripUsageOnly: true });
    expect(r.out).toBe(text.replace(usage, ''));
  });

  it('reads data lines the way SSE defines them (no space, several lines, CRLF, other fields)', () => {
    const rewrite = new ModelRewriter('up', 'client');
    const compact = 'data:{"model":"up","choices":[{"delta":{"content":"a"}}]}\r\n\r\n';
    const multi = 'id: 7\nevent: message\ndata: {"model":"up",\ndata: "choices":[]}\n\n';
    const usageSplit =
      'data: {"choices":[],\r\ndata: "usage":{"prompt_tokens":2,"completion_tokens":5}}\r\n\r\n';
    const r = run(compact + multi + usageSplit + done, 5, { rewrite, stripUsageOnly: true });
    expect(r.firstTokenAt).toBeGreaterThan(0);
    expect(r.usages).toEqual([{ promptTokens: 2, completionTokens: 5 }]);
    expect(r.out).toBe(compact.replace('"up"', '"client"') + multi.replace('"up"', '"client"') + done);
  });

  it('splits events at the first blank line whichever terminator comes first', () => {
    const u = 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n';
    const t = 'data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\n';
    for (const [text, want] of [
      [u + t + u, t],
      [t + u + t, t + t],
    ] as const) {
      const relay = new SseRelay({ onFirstToken: () => {}, onUsage: () => {} }, { stripUsageOnly: true });
      // Every event completes in the first push and is relayed at once.
      expect(relay.push(Buffer.from(text))).toBe(want);
      expect(relay.end()).toBe('');
    }
  });

  it('relays a CRLF-terminated event in the push that completes it', () => {
    const relay = new SseRelay(
      { onFirstToken: () => {}, onUsage: () => {} },
      { rewrite: new ModelRewriter('up', 'c') },
    );
    expect(relay.push(Buffer.from('data: {"model":"up","choices":[]}\r\n'))).toBe('');
    expect(relay.push(Buffer.from('\r\n'))).toBe('data: {"model":"c","choices":[]}\r\n\r\n');
    expect(relay.push(Buffer.from('data: [DONE]\n\n'))).toBe('data: [DONE]\n\n');
    expect(relay.end()).toBe('');
  });

  it('formats a gateway error as the final event with the JSON answer body', () => {
    const err = new GatewayError('BAD_REQUEST', 'The field `model` must be a string.', 'model');
    const e = sseGatewayErrorEvent(err);
    expect(e.startsWith('data: ')).toBe(true);
    expect(e.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(e.slice(6))).toEqual(gatewayErrorBody(err));
    expect(JSON.parse(e.slice(6)).error.param).toBe('model');
  });
});
