import { describe, expect, it } from 'vitest';
import { RequestFactory } from './encode.js';
import { SplitPicker } from './mix.js';
import type { PromptDraft } from './types.js';

const DRAFT: PromptDraft = {
  messages: [
    { role: 'system', content: ' you are' },
    { role: 'user', content: ' hello there' },
  ],
  promptTokens: 4,
  maxTokens: 7,
  group: 'group-1',
};

describe('RequestFactory', () => {
  it('encodes completions like vLLM: prompt, max_tokens, stream with usage, ignore_eos', () => {
    const r = new RequestFactory({ endpoint: '/v1/completions', model: 'm', ignoreEos: true }).build(
      3,
      DRAFT,
    );
    expect(JSON.parse(r.body)).toEqual({
      model: 'm',
      prompt: ' you are hello there',
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    });
    expect(r).toMatchObject({
      index: 3,
      model: 'm',
      promptTokens: 4,
      maxTokens: 7,
      group: 'group-1',
      headers: undefined,
    });
  });

  it('encodes chat with messages and max_completion_tokens; temperature and ignore_eos as asked', () => {
    const r = new RequestFactory({
      endpoint: '/v1/chat/completions',
      model: 'm',
      ignoreEos: false,
      temperature: 0,
    }).build(0, DRAFT);
    expect(JSON.parse(r.body)).toEqual({
      model: 'm',
      messages: DRAFT.messages,
      max_completion_tokens: 7,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('takes the model and objective header from the mixes, drawn by the mix index', () => {
    const f = new RequestFactory({
      endpoint: '/v1/completions',
      model: 'base',
      ignoreEos: true,
      modelMix: new SplitPicker([{ name: 'adapter', weight: 1 }], 0, 'm'),
      objectiveMix: new SplitPicker([{ name: 'critical', weight: 1 }], 0, 'o'),
    });
    const r = f.build(5, DRAFT, 9, { 'x-user-id': '9' });
    expect(r.model).toBe('adapter');
    expect(JSON.parse(r.body).model).toBe('adapter');
    expect(r.objective).toBe('critical');
    expect(r.headers).toEqual({ 'x-gateway-inference-objective': 'critical', 'x-user-id': '9' });
  });

  it('gives byte-identical bodies for the same draft', () => {
    const f = new RequestFactory({ endpoint: '/v1/completions', model: 'm', ignoreEos: true });
    expect(f.build(1, DRAFT).body).toBe(f.build(1, DRAFT).body);
  });
});
