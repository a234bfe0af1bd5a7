import { describe, expect, it } from 'vitest';
import { ModelRewriter } from './model-rewrite.js';
import { bodyKind, ResponseObserver, type ResponseObserverOptions } from './response-observer.js';

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const tok = ev({ model: 'up', choices: [{ index: 0, text: 'hi' }] });
const usageOnly = ev({ model: 'up', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } });
const JSON_BODY = JSON.stringify({
  model: 'up',
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 4 },
});

const opts = (o: Partial<ResponseObserverOptions> = {}): ResponseObserverOptions => ({
  startedAt: performance.now(),
  observeJson: true,
  stripUsageOnly: false,
  ...o,
});

/** Feeds `body` in two pieces; returns what would be forwarded, piece by piece, and the observer. */
function feed(observer: ResponseObserver, body: string) {
  const half = Math.floor(body.length / 2);
  const out = [body.slice(0, half), body.slice(half)].map((p) => String(observer.chunk(Buffer.from(p))));
  out.push(String(observer.end()));
  return out;
}

describe('bodyKind', () => {
  it.each([
    ['text/event-stream; charset=utf-8', undefined, 'sse'],
    ['application/json', 'identity', 'json'],
    ['application/json; charset=utf-8', undefined, 'json'],
    ['application/json', 'gzip', 'other'],
    ['text/event-stream', 'br', 'other'],
    ['text/plain', undefined, 'other'],
    [undefined, undefined, 'other'],
    [['application/json'], undefined, 'other'],
  ])('%j with encoding %j → %s', (type, encoding, want) => {
    expect(bodyKind(type, encoding)).toBe(want);
  });
});

describe('ResponseObserver', () => {
  it('SSE: times the first token from the arrival, reads usage, forwards bytes unchanged', () => {
    const startedAt = performance.now() - 50;
    const o = new ResponseObserver(opts({ startedAt }), 'sse');
    expect(o.ttftMs).toBeUndefined();
    expect(feed(o, tok + usageOnly).join('')).toBe(tok + usageOnly);
    expect(o.ttftMs).toBeGreaterThanOrEqual(50);
    expect(o.usage).toEqual({ promptTokens: 5, completionTokens: 2 });
    expect(o.buffersWholeBody).toBe(false);
    expect(o.changesLength).toBe(false);
  });

  it('SSE: strips the usage-only chunk or rewrites the model, and then says the length changes', () => {
    const stripped = new ResponseObserver(opts({ stripUsageOnly: true }), 'sse');
    expect(feed(stripped, tok + usageOnly).join('')).toBe(tok);
    expect(stripped.usage).toEqual({ promptTokens: 5, completionTokens: 2 });
    expect(stripped.changesLength).toBe(true);

    const rewritten = new ResponseObserver(opts({ rewrite: new ModelRewriter('up', 'client') }), 'sse');
    expect(feed(rewritten, tok).join('')).toBe(tok.replace('"up"', '"client"'));
    expect(rewritten.changesLength).toBe(true);
    expect(rewritten.buffersWholeBody).toBe(false);
  });

  it('JSON: reads usage at the end and forwards each piece as it comes', () => {
    const o = new ResponseObserver(opts(), 'json');
    const out = feed(o, JSON_BODY);
    expect(out.slice(0, 2).join('')).toBe(JSON_BODY);
    expect(out[2]).toBe('');
    expect(o.usage).toEqual({ promptTokens: 9, completionTokens: 4 });
    expect(o.rewrittenBody).toBeUndefined();
    expect(o.changesLength).toBe(false);
  });

  it('JSON without observeJson: passes through and reads nothing', () => {
    const o = new ResponseObserver(opts({ observeJson: false }), 'json');
    expect(feed(o, JSON_BODY).join('')).toBe(JSON_BODY);
    expect(o.usage).toBeUndefined();
  });

  it('JSON with a rewrite: holds the whole body back and rewrites it at the end', () => {
    const o = new ResponseObserver(
      opts({ observeJson: false, rewrite: new ModelRewriter('up', 'client') }),
      'json',
    );
    expect(o.buffersWholeBody).toBe(true);
    expect(o.changesLength).toBe(false);
    expect(feed(o, JSON_BODY)).toEqual(['', '', '']);
    expect(o.rewrittenBody?.toString()).toBe(JSON_BODY.replace('"up"', '"client"'));
    expect(o.usage).toEqual({ promptTokens: 9, completionTokens: 4 });
  });

  it('JSON larger than 8 MiB: passes through without reading usage', () => {
    const o = new ResponseObserver(opts(), 'json');
    const filler = Buffer.alloc(8 * 1024 * 1024, 0x20);
    expect(o.chunk(filler)).toBe(filler);
    const tail = Buffer.from(JSON_BODY);
    expect(o.chunk(tail)).toBe(tail);
    expect(o.end()).toBe('');
    expect(o.usage).toBeUndefined();
  });

  it('other bodies pass through untouched', () => {
    const o = new ResponseObserver(opts({ rewrite: new ModelRewriter('up', 'client') }), 'other');
    const piece = Buffer.from('{"model":"up"}');
    expect(o.chunk(piece)).toBe(piece);
    expect(o.end()).toBe('');
    expect(o.usage).toBeUndefined();
    expect(o.buffersWholeBody).toBe(false);
    expect(o.changesLength).toBe(false);
  });
});
