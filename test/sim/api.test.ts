/**
 * The OpenAI API as vLLM serves it, against a running simulator over HTTP: streaming chunk
 * sequences, non-streaming bodies, usage, defaults, error bodies, models, health, version.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { postJson, readSse, scrape, words } from './helpers.js';

const MODEL = 'sim-model';
let sim: SimCluster;
let url: string;

beforeAll(async () => {
  sim = await startSimCluster({
    servedModelNames: [MODEL, 'alias'],
    timeScale: 0.01,
    seed: 11,
    maxModelLen: 512,
    enablePromptTokensDetails: true,
  });
  url = sim.replicas[0]!.url;
});

afterAll(async () => {
  await sim.close();
});

type Chunk = {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: {
    index: number;
    delta?: { role?: string; content?: string };
    text?: string;
    finish_reason: string | null;
    stop_reason?: unknown;
  }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens: number };
  } | null;
};

describe('streaming chat completions', () => {
  it('sends the role chunk, one content chunk per token, finish, usage, then [DONE]', async () => {
    const res = await postJson(`${url}/v1/chat/completions`, {
      model: MODEL,
      messages: [{ role: 'user', content: 'Who are you?' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    expect(chunks).toHaveLength(1 + 6 + 1);
    const [role, ...rest] = chunks;
    expect(role!.choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    });
    const content = rest.slice(0, 6);
    for (const c of content.slice(0, -1)) {
      expect(c.choices[0]!.finish_reason).toBeNull();
      expect(c.choices[0]!.delta!.content).toMatch(/^ [a-z]+$/);
      expect(c).not.toHaveProperty('usage');
    }
    expect(content.at(-1)!.choices[0]).toMatchObject({ finish_reason: 'length', stop_reason: null });
    const usage = rest.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 6 });
    expect(usage.usage!.total_tokens).toBe(usage.usage!.prompt_tokens + 6);
    for (const c of chunks) {
      expect(c.id).toBe(role!.id);
      expect(c.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe(MODEL);
      expect(Number.isInteger(c.created)).toBe(true);
    }
  });

  it('leaves out the usage chunk without include_usage', async () => {
    const res = await postJson(`${url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
      stream: true,
    });
    const events = await readSse(res);
    expect(events).toHaveLength(1 + 2 + 1);
    expect((events[2] as Chunk).choices[0]!.finish_reason).toBe('length');
  });

  it('works with the OpenAI SDK, answering under the requested alias', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none' });
    const stream = await client.chat.completions.create({
      model: 'alias',
      messages: [{ role: 'user', content: 'Tell me something.' }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
      expect(chunk.model).toBe('alias');
    }
    expect(text.trim().split(' ')).toHaveLength(4);
    expect(usage?.completion_tokens).toBe(4);
  });
});

describe('completions', () => {
  it('streams text chunks with stop_reason and "usage": null, no role chunk', async () => {
    const res = await postJson(`${url}/v1/completions`, {
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Chunk[];
    expect(chunks).toHaveLength(4);
    for (const c of chunks.slice(0, 3)) {
      expect(c.object).toBe('text_completion');
      expect(c.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
      expect(c.usage).toBeNull();
      expect(c.choices[0]).toHaveProperty('stop_reason', null);
      expect(c.choices[0]!.text).toMatch(/^ [a-z]+$/);
    }
    expect(chunks[2]!.choices[0]!.finish_reason).toBe('length');
    expect(chunks[3]!.choices).toEqual([]);
    expect(chunks[3]!.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it('defaults to 16 tokens and answers one JSON body when not streaming', async () => {
    const res = await postJson(`${url}/v1/completions`, { model: MODEL, prompt: 'The weather today' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      choices: { text: string; finish_reason: string; stop_reason: unknown }[];
      usage: { completion_tokens: number };
    };
    expect(body.object).toBe('text_completion');
    expect(body.usage.completion_tokens).toBe(16);
    expect(body.choices[0]!.finish_reason).toBe('length');
    expect(body.choices[0]!.text.trim().split(' ')).toHaveLength(16);
  });

  it('gives equal answers to equal prompts (deterministic, like greedy decoding)', async () => {
    const ask = async () =>
      (
        (await (
          await postJson(`${url}/v1/completions`, { prompt: 'same prompt', max_tokens: 8 })
        ).json()) as {
          choices: { text: string }[];
        }
      ).choices[0]!.text;
    expect(await ask()).toBe(await ask());
  });

  it('stops at a stop string with stop_reason set to it', async () => {
    // Find a word the model will produce, then ask again with it as the stop string.
    const first = (await (
      await postJson(`${url}/v1/completions`, { prompt: 'stop test', max_tokens: 10 })
    ).json()) as {
      choices: { text: string }[];
    };
    const words5 = first.choices[0]!.text.split(' ').filter(Boolean);
    const stopWord = words5[4]!;
    const cut = first.choices[0]!.text.indexOf(` ${stopWord}`);
    const res = await postJson(`${url}/v1/completions`, {
      prompt: 'stop test',
      max_tokens: 10,
      stop: [` ${stopWord}`],
    });
    const body = (await res.json()) as {
      choices: { text: string; finish_reason: string; stop_reason: string }[];
    };
    expect(body.choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: ` ${stopWord}` });
    expect(body.choices[0]!.text).toBe(first.choices[0]!.text.slice(0, cut));
  });
});

describe('non-streaming chat', () => {
  it('returns an assistant message and reports cached prompt tokens the second time', async () => {
    const messages = [{ role: 'user', content: words(200, 3) }];
    const once = async () =>
      (await (
        await postJson(`${url}/v1/chat/completions`, { model: MODEL, messages, max_tokens: 3 })
      ).json()) as {
        object: string;
        choices: { message: { role: string; content: string }; finish_reason: string }[];
        usage: {
          prompt_tokens: number;
          completion_tokens: number;
          prompt_tokens_details: { cached_tokens: number } | null;
        };
      };
    const a = await once();
    const b = await once();
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0]!.message.role).toBe('assistant');
    expect(a.usage.completion_tokens).toBe(3);
    expect(a.usage.prompt_tokens_details).toBeNull();
    expect(b.usage.prompt_tokens_details?.cached_tokens).toBeGreaterThan(150);
    expect(b.usage.prompt_tokens_details!.cached_tokens % 16).toBe(0);
  });

  it('stops at the simulated EOS when max_tokens is not given, and runs to max_tokens with ignore_eos', async () => {
    const res = await postJson(`${url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'essay please' }],
    });
    const body = (await res.json()) as {
      choices: { finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(body.choices[0]!.finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBeGreaterThanOrEqual(128);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(384);
    const forced = await postJson(`${url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'essay please' }],
      max_tokens: 400,
      ignore_eos: true,
    });
    const fb = (await forced.json()) as {
      choices: { finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(fb.choices[0]!.finish_reason).toBe('length');
    expect(fb.usage.completion_tokens).toBe(400);
  });
});

describe('errors as vLLM answers them', () => {
  it.each([
    ['bad JSON', '/v1/chat/completions', '{"model":', 400, 'BadRequestError', /JSON decode error/],
    [
      'unknown model',
      '/v1/completions',
      { model: 'nope', prompt: 'x' },
      404,
      'NotFoundError',
      /^The model `nope` does not exist\.$/,
    ],
    [
      'prompt too long',
      '/v1/completions',
      { prompt: words(600) },
      400,
      'BadRequestError',
      /maximum context length is 512 tokens/,
    ],
    [
      'max_tokens too large',
      '/v1/completions',
      { prompt: 'x y', max_tokens: 600 },
      400,
      'BadRequestError',
      /'max_tokens' or 'max_completion_tokens' is too large: 600/,
    ],
    [
      'n = 2',
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'x' }], n: 2 },
      400,
      'BadRequestError',
      /n must be 1/,
    ],
  ] as const)('%s → %i %s', async (_name, path, body, status, type, message) => {
    const res = await postJson(`${url}${path}`, body);
    expect(res.status).toBe(status);
    const err = (await res.json()) as {
      error: { message: string; type: string; code: number; param: unknown };
    };
    expect(err.error.type).toBe(type);
    expect(err.error.code).toBe(status);
    expect(err.error.message).toMatch(message);
    expect(err.error).toHaveProperty('param');
  });

  it('answers FastAPI’s detail body for unknown paths and wrong methods', async () => {
    const nf = await fetch(`${url}/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ detail: 'Not Found' });
    const na = await fetch(`${url}/v1/chat/completions`);
    expect(na.status).toBe(405);
    // LoRA endpoints only exist with --enable-lora.
    expect((await postJson(`${url}/v1/load_lora_adapter`, { lora_name: 'a', lora_path: '/a' })).status).toBe(
      404,
    );
  });

  it('counts none of the rejected requests as engine work', async () => {
    const s = await scrape(url);
    expect(s.value('vllm:num_requests_running')).toBe(0);
    expect(s.value('vllm:num_requests_waiting')).toBe(0);
  });
});

describe('models, health, version', () => {
  it('lists every served name with vLLM’s model card fields', async () => {
    const body = (await (await fetch(`${url}/v1/models`)).json()) as {
      object: string;
      data: {
        id: string;
        object: string;
        owned_by: string;
        parent: unknown;
        max_model_len: number;
        root: string;
      }[];
    };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id)).toEqual([MODEL, 'alias']);
    expect(body.data[0]).toMatchObject({
      object: 'model',
      owned_by: 'vllm',
      parent: null,
      max_model_len: 512,
    });
  });

  it('answers /health with an empty 200 and /version with a vLLM version', async () => {
    const h = await fetch(`${url}/health`);
    expect(h.status).toBe(200);
    expect(await h.text()).toBe('');
    const v = (await (await fetch(`${url}/version`)).json()) as { version: string };
    expect(v.version).toMatch(/^0\.\d+\.\d+/);
  });
});
