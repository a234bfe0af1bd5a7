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

describe('renderPrompt: every shape of prompt', () => {
  const bare = (json: Record<string, unknown> | undefined): InferenceRequest => ({ ...req({}), json });

  it.each<[string, Record<string, unknown> | undefined, number, string]>([
    ['no JSON body', undefined, 100, ''],
    ['a limit of 0 renders nothing', { prompt: 'abc' }, 0, ''],
    ['a string prompt shorter than the limit', { prompt: 'abc' }, 3, 'abc'],
    ['a string prompt cut at the limit', { prompt: 'abcdef' }, 4, 'abcd'],
    ['`input` (embeddings) like prompt', { input: 'xyz' }, 10, 'xyz'],
    ['a prompt of another type', { prompt: 7 }, 10, ''],
    ['strings joined by newlines', { prompt: ['ab', 'cd'] }, 10, 'ab\ncd'],
    ['token ids joined by commas', { prompt: [1, 22, 3] }, 10, '1,22,3'],
    ['lists of token ids, one per line', { prompt: [[1, 2], [3]] }, 10, '1,2\n3'],
    ['other items are skipped', { prompt: [{ a: 1 }, 'x', null] }, 10, '\nx'],
    ['a list cut at the limit', { prompt: ['abcdef', 'ghi'] }, 8, 'abcdef\ng'],
    ['a list exactly at the limit', { prompt: ['abcd'] }, 4, 'abcd'],
  ])('%s', (_label, json, limit, want) => {
    expect(renderPrompt(bare(json), limit)).toBe(want);
  });

  it('chat: roles, tools first, content parts, and what is not a message', () => {
    const json = {
      tools: [{ type: 'function', function: { name: 'f' } }],
      messages: [
        null,
        'not a message',
        { role: 'system', content: null },
        { role: 5, content: 'no role' },
        { role: 'user', content: { odd: true } },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look ' },
            { type: 'image_url', image_url: { url: 'http://i/1.png' } },
            { type: 'image_url', image_url: { detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'AA' } },
            'loose text',
            null,
          ],
        },
      ],
    };
    expect(renderPrompt(bare(json), 10_000)).toBe(
      '<|tools|>[{"type":"function","function":{"name":"f"}}]\n' +
        '<|system|>\n' +
        '<||>no role\n' +
        '<|user|>{"odd":true}\n' +
        '<|user|>look <|image|>http://i/1.png{"type":"image_url","image_url":{"detail":"low"}}' +
        '{"type":"input_audio","input_audio":{"data":"AA"}}\n',
    );
  });

  it('chat: no tools block for an empty tool list; cut at the limit', () => {
    const json = { tools: [], messages: [{ role: 'user', content: 'hello there' }] };
    expect(renderPrompt(bare(json), 10_000)).toBe('<|user|>hello there\n');
    expect(renderPrompt(bare(json), 12)).toBe('<|user|>hell');
    expect(renderPrompt(bare(json), 20)).toBe('<|user|>hello there\n');
  });
});
