import { describe, expect, it } from 'vitest';
import { countTokens } from '../tokenizer.js';
import { SimHttpError } from './errors.js';
import { applyChatTemplate, effectiveMaxTokens, parseGenerateRequest } from './generate-request.js';

function err(fn: () => unknown): SimHttpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SimHttpError) return e;
    throw e;
  }
  throw new Error('expected a SimHttpError');
}

describe('parseGenerateRequest', () => {
  it('templates chat messages before tokenising (the prefix cache sees the template)', () => {
    const r = parseGenerateRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'Hi there' }] });
    const templated = applyChatTemplate([{ role: 'user', content: 'Hi there' }]);
    expect(templated).toBe('<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n');
    expect(r.promptTokens.length).toBe(countTokens(templated));
    expect(r.maxTokensParam).toBeNull();
  });

  it('reads content parts, max_completion_tokens over max_tokens, usage and stop options', () => {
    const r = parseGenerateRequest('chat', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a b' }] }],
      max_completion_tokens: 7,
      max_tokens: 99,
      stream: true,
      stream_options: { include_usage: true },
      stop: 'end',
      ignore_eos: true,
    });
    expect(r).toMatchObject({
      model: null,
      maxTokensParam: 7,
      stream: true,
      includeUsage: true,
      stop: ['end'],
      ignoreEos: true,
    });
  });

  it.each([
    ['not an object', 'chat', [1, 2]],
    ['empty messages', 'chat', { messages: [] }],
    ['message without role', 'chat', { messages: [{ content: 'x' }] }],
    ['n > 1', 'completion', { prompt: 'x', n: 2 }],
    ['max_tokens 0', 'completion', { prompt: 'x', max_tokens: 0 }],
    ['stream_options without stream', 'completion', { prompt: 'x', stream_options: { include_usage: true } }],
    ['batched prompts', 'completion', { prompt: ['a', 'b'] }],
    ['missing prompt', 'completion', {}],
  ] as const)('rejects %s with 400 BadRequestError', (_name, kind, body) => {
    const e = err(() => parseGenerateRequest(kind, body));
    expect(e.status).toBe(400);
    expect(e.type).toBe('BadRequestError');
  });

  it('accepts token-id prompts for completions', () => {
    expect(parseGenerateRequest('completion', { prompt: [5, 6, 7] }).promptTokens).toEqual([5, 6, 7]);
  });
});

describe('effectiveMaxTokens (vLLM defaults and length errors)', () => {
  const completion = (prompt: string, max?: number) =>
    parseGenerateRequest('completion', { prompt, ...(max ? { max_tokens: max } : {}) });

  it('defaults to 16 for completions and to the remaining context for chat', () => {
    expect(effectiveMaxTokens(completion('hello'), 100)).toBe(16);
    const chat = parseGenerateRequest('chat', { messages: [{ role: 'user', content: 'hello' }] });
    expect(effectiveMaxTokens(chat, 100)).toBe(100 - chat.promptTokens.length);
  });

  it('rejects a prompt that fills the context, with vLLM’s message', () => {
    const e = err(() => effectiveMaxTokens(parseGenerateRequest('completion', { prompt: [1, 2, 3, 4] }), 4));
    expect(e.message).toBe(
      "This model's maximum context length is 4 tokens. However, your request has 4 input tokens. Please reduce the length of the input messages.",
    );
  });

  it('rejects max_tokens beyond the remaining context, with vLLM’s message', () => {
    const e = err(() =>
      effectiveMaxTokens(parseGenerateRequest('completion', { prompt: [1, 2], max_tokens: 9 }), 10),
    );
    expect(e.message).toBe(
      "'max_tokens' or 'max_completion_tokens' is too large: 9. This model's maximum context length is 10 tokens and your request has 2 input tokens (9 > 10 - 2).",
    );
  });
});
