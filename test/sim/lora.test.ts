/**
 * LoRA adapters over HTTP: requests run on their adapter, adapters beyond --max-loras wait (and
 * show in vllm:lora_requests_info), the load/unload endpoints answer like vLLM, /v1/models lists
 * adapters with their parent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { postJson, readSse, readSseEvents, type Scrape, scrape, waitForMetrics } from './helpers.js';

let sim: SimCluster;
let url: string;

beforeAll(async () => {
  sim = await startSimCluster({
    servedModelNames: ['/model/llama2'],
    profile: 'llama2-7b-a10',
    timeScale: 0.05,
    enableLora: true,
    maxLoras: 1,
    maxCpuLoras: 2,
    loraModules: [
      { name: 'sql-lora', path: '/adapters/sql' },
      { name: 'tweet-summary', path: '/adapters/tweet' },
    ],
  });
  url = sim.replicas[0]!.url;
});

afterAll(async () => {
  await sim.close();
});

/** The newest lora_requests_info series (highest timestamp value), as a gateway reads it. */
function newestLoraInfo(s: Scrape): Record<string, string> {
  const fam = s.families.get('vllm:lora_requests_info');
  if (!fam) return {};
  let best = fam.metrics[0]!;
  for (const m of fam.metrics) if (Number(m.value) >= Number(best.value)) best = m;
  return best.labels ?? {};
}

describe('LoRA', () => {
  it('lists the base model and the adapters with their parent', async () => {
    const body = (await (await fetch(`${url}/v1/models`)).json()) as {
      data: { id: string; parent: string | null; root: string }[];
    };
    expect(body.data.map((m) => [m.id, m.parent, m.root])).toEqual([
      ['/model/llama2', null, '/model/llama2'],
      ['sql-lora', '/model/llama2', '/adapters/sql'],
      ['tweet-summary', '/model/llama2', '/adapters/tweet'],
    ]);
  });

  it('runs a request on its adapter and echoes the adapter as the model', async () => {
    const res = await postJson(`${url}/v1/completions`, {
      model: 'sql-lora',
      prompt: 'SELECT',
      max_tokens: 2,
    });
    const body = (await res.json()) as { model: string; usage: { completion_tokens: number } };
    expect(body.model).toBe('sql-lora');
    expect(body.usage.completion_tokens).toBe(2);
  });

  it('an adapter beyond max-loras waits until the running one finishes', async () => {
    const ctl = new AbortController();
    const first = await postJson(
      `${url}/v1/chat/completions`,
      {
        model: 'sql-lora',
        messages: [{ role: 'user', content: 'long one' }],
        max_tokens: 3000,
        ignore_eos: true,
        stream: true,
      },
      ctl.signal,
    );
    await readSseEvents(first, 2); // running
    const second = postJson(`${url}/v1/chat/completions`, {
      model: 'tweet-summary',
      messages: [{ role: 'user', content: 'short one' }],
      max_tokens: 3,
      stream: true,
    });
    const s = await waitForMetrics(url, (m) => newestLoraInfo(m).waiting_lora_adapters === 'tweet-summary');
    expect(newestLoraInfo(s)).toEqual({
      max_lora: '1',
      waiting_lora_adapters: 'tweet-summary',
      running_lora_adapters: 'sql-lora',
    });
    expect(s.value('vllm:num_requests_waiting')).toBe(1);
    expect(s.value('vllm:num_requests_running')).toBe(1);
    // Base-model requests are not limited by adapter slots.
    const base = await postJson(`${url}/v1/completions`, { prompt: 'base model', max_tokens: 2 });
    expect(((await base.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
    ctl.abort();
    const events = await readSse(await second);
    expect(events.at(-1)).toBe('[DONE]');
    const after = await waitForMetrics(url, (m) => newestLoraInfo(m).running_lora_adapters === '');
    expect(after.value('vllm:num_requests_waiting')).toBe(0);
  });

  it('loads and unloads adapters with vLLM’s answers and errors', async () => {
    const load = await postJson(`${url}/v1/load_lora_adapter`, {
      lora_name: 'new-one',
      lora_path: '/adapters/new',
    });
    expect(load.status).toBe(200);
    expect(await load.text()).toBe("Success: LoRA adapter 'new-one' added successfully.");
    const again = await postJson(`${url}/v1/load_lora_adapter`, {
      lora_name: 'new-one',
      lora_path: '/adapters/new',
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'InvalidUserInput',
      message: "The lora adapter 'new-one' has already been loaded.",
    });
    const missing = await postJson(`${url}/v1/load_lora_adapter`, { lora_name: 'x' });
    expect(missing.status).toBe(400);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as {
      data: { id: string; parent: string | null }[];
    };
    expect(models.data.find((m) => m.id === 'new-one')?.parent).toBe('/model/llama2');
    const served = await postJson(`${url}/v1/completions`, { model: 'new-one', prompt: 'hi', max_tokens: 1 });
    expect(served.status).toBe(200);
    await served.json();

    const unload = await postJson(`${url}/v1/unload_lora_adapter`, { lora_name: 'new-one' });
    expect(unload.status).toBe(200);
    expect(await unload.text()).toBe("Success: LoRA adapter 'new-one' removed successfully.");
    const unloadAgain = await postJson(`${url}/v1/unload_lora_adapter`, { lora_name: 'new-one' });
    expect(unloadAgain.status).toBe(404);
    expect(((await unloadAgain.json()) as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'NotFoundError',
      message: "The lora adapter 'new-one' cannot be found.",
    });
    const gone = await postJson(`${url}/v1/completions`, { model: 'new-one', prompt: 'hi', max_tokens: 1 });
    expect(gone.status).toBe(404);
  });

  it('keeps prefix caches separate per adapter', async () => {
    const prompt = ' shared words'.repeat(60);
    const before = (await scrape(url)).value('vllm:prefix_cache_hits_total');
    await (await postJson(`${url}/v1/completions`, { model: 'sql-lora', prompt, max_tokens: 1 })).json();
    await (await postJson(`${url}/v1/completions`, { model: 'tweet-summary', prompt, max_tokens: 1 })).json();
    const mid = (await scrape(url)).value('vllm:prefix_cache_hits_total');
    expect(mid).toBe(before);
    await (await postJson(`${url}/v1/completions`, { model: 'tweet-summary', prompt, max_tokens: 1 })).json();
    expect((await scrape(url)).value('vllm:prefix_cache_hits_total')).toBeGreaterThan(mid);
  });
});
