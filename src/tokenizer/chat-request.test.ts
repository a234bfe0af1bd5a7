import { describe, expect, it } from 'vitest';
import { chatTemplateRequest, messageText } from './chat-request.js';

describe('messageText: a message’s content as vLLM’s string content format', () => {
  it('joins text parts with a newline, skips what has no text, keeps strings', () => {
    expect(messageText('plain')).toBe('plain');
    expect(messageText(null)).toBe('');
    expect(messageText(undefined)).toBe('');
    expect(messageText({ text: 'not a list' })).toBe('');
    expect(
      messageText([
        { type: 'text', text: 'one' },
        { type: 'image_url', image_url: { url: 'x' } },
        { type: 'text', text: null },
        'bare',
        { type: 'input_text', text: 'two' },
        { type: 'output_text', text: 'three' },
        { type: 'refusal', refusal: 'no' },
        { type: 'thinking', thinking: 'hmm' },
        null,
      ]),
    ).toBe('one\nbare\ntwo\nthree\nno\nhmm');
    expect(messageText([])).toBe('');
  });
});

describe('chatTemplateRequest: the template input vLLM builds of a chat request', () => {
  it('is undefined without a messages list', () => {
    expect(chatTemplateRequest(undefined)).toBeUndefined();
    expect(chatTemplateRequest({ prompt: 'x' })).toBeUndefined();
    expect(chatTemplateRequest({ messages: 'x' })).toBeUndefined();
  });

  it('keeps tool calls with their arguments parsed, reasoning, tool call ids and names', () => {
    const got = chatTemplateRequest({
      messages: [
        { role: 'user', content: 'hi', name: 'ann', extra: 'dropped' },
        {
          role: 'assistant',
          content: null,
          reasoning: 'think',
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'f', arguments: '{"x": 1, "y": [2.5]}' } },
            { id: 'b', type: 'function', function: { name: 'g', arguments: 'not json' } },
            { id: 'c', type: 'function', function: { name: 'h', arguments: { k: true } } },
            { id: 'd', type: 'function', function: { name: 'i', arguments: 7 } },
          ],
        },
        { role: 'assistant', content: 'no calls', tool_calls: [] },
        { role: 'assistant', content: 'older name', reasoning_content: 'r' },
        { role: 'tool', tool_call_id: 'a', content: [{ type: 'text', text: '1' }], name: 7 },
        { role: 'user', content: 'x', tool_call_id: 'not for users' },
        'not a message',
      ],
    })!;
    expect(got.messages).toEqual([
      { role: 'user', content: 'hi', name: 'ann' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: { x: 1, y: [2.5] } } },
          { id: 'b', type: 'function', function: { name: 'g', arguments: {} } },
          { id: 'c', type: 'function', function: { name: 'h', arguments: { k: true } } },
          { id: 'd', type: 'function', function: { name: 'i', arguments: {} } },
        ],
        reasoning: 'think',
        reasoning_content: 'think',
      },
      { role: 'assistant', content: 'no calls' },
      { role: 'assistant', content: 'older name', reasoning: 'r', reasoning_content: 'r' },
      { role: 'tool', content: '1', tool_call_id: 'a' },
      { role: 'user', content: 'x' },
    ]);
    // the order of a message's fields is vLLM's (role, content, then the rest)
    expect(Object.keys(got.messages[1]!)).toEqual([
      'role',
      'content',
      'tool_calls',
      'reasoning',
      'reasoning_content',
    ]);
  });

  it('dumps tools as vLLM’s protocol models do, and passes the flags and the request’s kwargs', () => {
    const got = chatTemplateRequest({
      messages: [{ role: 'user', content: 'q' }],
      tools: [
        { function: { parameters: { type: 'object' }, name: 'f', strict: true }, type: 'function', extra: 1 },
        { type: 'function', function: { name: 'g' } },
        'not a tool',
      ],
      add_generation_prompt: false,
      chat_template_kwargs: { enable_thinking: false, documents: ['d'], chat_template: 'x', tokenize: true },
    })!;
    expect(got.vars).toEqual({
      add_generation_prompt: false,
      continue_final_message: false,
      tools: [
        {
          type: 'function',
          function: { name: 'f', description: null, parameters: { type: 'object' }, strict: true },
          extra: 1,
        },
        { type: 'function', function: { name: 'g', description: null, parameters: null } },
      ],
      documents: ['d'],
      enable_thinking: false,
    });
    const tool = (got.vars.tools as Record<string, unknown>[])[0]!;
    expect(Object.keys(tool)).toEqual(['type', 'function', 'extra']);
    expect(Object.keys(tool.function as object)).toEqual(['name', 'description', 'parameters', 'strict']);
  });

  it('without tools or documents passes them as null, and asks for the generation prompt', () => {
    expect(chatTemplateRequest({ messages: [] })!.vars).toEqual({
      add_generation_prompt: true,
      continue_final_message: false,
      tools: null,
      documents: null,
    });
  });
});
