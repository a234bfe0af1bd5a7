import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../../openai/inference-request.js';
import { renderPrompt } from './prompt.js';

const req = (json: Record<string, unknown>): InferenceRequest => ({
  id: 'r',
  pool: 'p',
  path: '/v1/chat/completions',
  headers: {},
  body: Buffer.from(JSON.stringify(json)),
  json,
  model: undefined,
  stream: false,
  receivedAt: 0,
});

describe('renderPrompt', () => {
  const round1 = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Play zork.' },
  ];
  const round2 = [
    ...round1,
    { role: 'assistant', content: 'Ready!' },
    { role: 'user', content: 'open mailbox' },
  ];

  it('chat: each round renders as a prefix of the next (what multi-round prefix affinity needs)', () => {
    const a = renderPrompt(req({ messages: round1 }), 1e6);
    const b = renderPrompt(req({ messages: round2 }), 1e6);
    expect(a).toBe('<|system|>You are helpful.\n<|user|>Play zork.\n');
    expect(b.startsWith(a)).toBe(true);
  });

  it('chat: independent of key order and JSON spelling', () => {
    const swapped = round1.map((m) => ({ content: m.content, role: m.role }));
    expect(renderPrompt(req({ messages: swapped }), 1e6)).toBe(renderPrompt(req({ messages: round1 }), 1e6));
  });

  it('chat: tools first, content parts as text and image URLs', () => {
    const out = renderPrompt(
      req({
        tools: [{ type: 'function', function: { name: 'f' } }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look: ' },
              { type: 'image_url', image_url: { url: 'http://x/y.png' } },
            ],
          },
        ],
      }),
      1e6,
    );
    expect(out).toBe(
      '<|tools|>[{"type":"function","function":{"name":"f"}}]\n<|user|>look: <|image|>http://x/y.png\n',
    );
  });

  it.each([
    ['completions prompt', { prompt: 'abcdef' }, 'abcdef'],
    ['prompt list', { prompt: ['ab', 'cd'] }, 'ab\ncd'],
    ['token ids', { prompt: [1, 2, 3] }, '1,2,3'],
    ['responses-style input', { input: 'hello' }, 'hello'],
    ['nothing to read', { foo: 1 }, ''],
  ])('%s', (_label, json, want) => {
    expect(renderPrompt(req(json), 1e6)).toBe(want);
  });

  it('stops at the limit', () => {
    expect(renderPrompt(req({ prompt: 'x'.repeat(100) }), 10)).toBe('x'.repeat(10));
    expect(renderPrompt(req({ messages: round2 }), 12)).toBe('<|system|>Yo');
    expect(renderPrompt(req({ prompt: 'abc' }), 0)).toBe('');
  });
});
