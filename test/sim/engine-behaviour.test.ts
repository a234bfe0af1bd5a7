/**
 * The engine model seen from outside, over HTTP: prefix caching, queueing beyond max-num-seqs,
 * client aborts, KV pressure and preemption. Assertions compare counts, gauges and the simulator's
 * own engine-time histograms, never wall-clock durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, type SimClusterOptions, startSimCluster } from '../../src/sim/index.js';
import { postJson, readSse, readSseEvents, type Scrape, scrape, waitForMetrics, words } from './helpers.js';

let sim: SimCluster | undefined;

async function start(opts: SimClusterOptions): Promise<string> {
  sim = await startSimCluster({ servedModelNames: ['m'], ...opts });
  return sim.replicas[0]!.url;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('prefix caching', () => {
  it('a repeated long prefix lowers engine TTFT and raises vllm:prefix_cache_hits_total', async () => {
    const url = await start({ timeScale: 0.01, seed: 5 });
    const prefix = words(1500, 1);
    const ask = async (question: string) => {
      const before = await scrape(url);
      // One token: the request's whole life is its TTFT, so any stall the engine recorded while it
      // ran (the test process was descheduled: engine time stretched) is part of it, and
      // subtracting it gives the timing model's TTFT exactly.
      const res = await postJson(`${url}/v1/completions`, { prompt: prefix + question, max_tokens: 1 });
      expect(res.status).toBe(200);
      await res.json();
      const after = await scrape(url);
      const stall =
        after.value('sim_engine_stall_seconds_total') - before.value('sim_engine_stall_seconds_total');
      return {
        ttft:
          after.hist('vllm:time_to_first_token_seconds').sum -
          before.hist('vllm:time_to_first_token_seconds').sum -
          stall,
        hits: after.value('vllm:prefix_cache_hits_total') - before.value('vllm:prefix_cache_hits_total'),
        queries:
          after.value('vllm:prefix_cache_queries_total') - before.value('vllm:prefix_cache_queries_total'),
      };
    };
    const cold = await ask(' first question here');
    const warm = await ask(' another question there');
    expect(cold.hits).toBe(0);
    expect(cold.queries).toBeGreaterThan(1500);
    expect(warm.hits).toBeGreaterThanOrEqual(1488); // whole 16-token blocks of the shared prefix
    expect(warm.ttft).toBeLessThan(cold.ttft / 3);
  });

  it('keeps caches separate per replica: the other replica misses', async () => {
    sim = await startSimCluster({ replicas: 2, timeScale: 0.01 });
    const [a, b] = sim.replicas.map((r) => r.url) as [string, string];
    const prompt = words(400, 2);
    await (await postJson(`${a}/v1/completions`, { prompt, max_tokens: 1 })).json();
    await (await postJson(`${b}/v1/completions`, { prompt, max_tokens: 1 })).json();
    await (await postJson(`${a}/v1/completions`, { prompt, max_tokens: 1 })).json();
    expect((await scrape(a)).value('vllm:prefix_cache_hits_total')).toBeGreaterThan(0);
    expect((await scrape(b)).value('vllm:prefix_cache_hits_total')).toBe(0);
  });
});

describe('continuous batching and queueing', () => {
  it('more concurrent requests than max-num-seqs wait; client aborts free their slots', async () => {
    const url = await start({ maxNumSeqs: 2, timeScale: 1 });
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const responses = await Promise.all(
      controllers.map((c, i) =>
        postJson(
          `${url}/v1/chat/completions`,
          {
            messages: [{ role: 'user', content: words(20, i) }],
            max_tokens: 4000,
            ignore_eos: true,
            stream: true,
          },
          c.signal,
        ),
      ),
    );
    const busy = await waitForMetrics(
      url,
      (s) => s.value('vllm:num_requests_running') === 2 && s.value('vllm:num_requests_waiting') === 4,
    );
    expect(busy.value('vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    // The running ones stream; read a few events from one of them.
    const running = await Promise.race(responses.map((r) => readSseEvents(r, 2).then(() => r)));
    expect(running.status).toBe(200);
    for (const c of controllers) c.abort();
    // the vllm: gauges are the last step's, so they show the aborts once a step has ended after them
    const idle = await waitForMetrics(
      url,
      (s) => s.value('sim_requests_aborted_total') === 6 && s.value('vllm:num_requests_running') === 0,
    );
    expect(idle.value('vllm:num_requests_running')).toBe(0);
    expect(idle.value('vllm:num_requests_waiting')).toBe(0);
    expect(idle.value('vllm:kv_cache_usage_perc')).toBe(0);
    expect(idle.value('vllm:request_success_total', { finished_reason: 'length' })).toBe(0);
    // The freed slots serve new work.
    const after = await postJson(`${url}/v1/completions`, { prompt: 'next', max_tokens: 2 });
    expect(((await after.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(
      2,
    );
  });

  it('records queue time for requests that waited', async () => {
    const url = await start({ maxNumSeqs: 1, timeScale: 0.01 });
    await Promise.all(
      [0, 1, 2].map(async (i) =>
        (
          await postJson(`${url}/v1/completions`, { prompt: words(10, i), max_tokens: 30, ignore_eos: true })
        ).json(),
      ),
    );
    const s = await scrape(url);
    expect(s.hist('vllm:request_queue_time_seconds').count).toBe(3);
    expect(s.hist('vllm:request_queue_time_seconds').sum).toBeGreaterThan(0);
    expect(s.value('vllm:request_success_total', { finished_reason: 'length' })).toBe(3);
  });
});

describe('KV cache pressure', () => {
  it('long concurrent prompts raise KV usage and eventually preempt', async () => {
    // 64 blocks × 16 = 1024 tokens of KV: two 400-token prompts growing by 300 tokens cannot both stay.
    const url = await start({ numGpuBlocks: 64, maxModelLen: 1024, timeScale: 0.1, seed: 9 });
    const results = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const res = await postJson(`${url}/v1/completions`, {
          prompt: words(400, 10 + i),
          max_tokens: 300,
          ignore_eos: true,
        });
        return (await res.json()) as { usage: { completion_tokens: number } };
      }),
    );
    for (const r of results) expect(r.usage.completion_tokens).toBe(300);
    const s = await scrape(url);
    // The engine's own peak (exact in engine time; a scrape could miss the moment on a loaded machine).
    expect(s.value('sim_kv_cache_usage_peak')).toBeGreaterThan(0.9);
    expect(s.value('vllm:num_preemptions_total')).toBeGreaterThan(0);
    expect(s.value('vllm:kv_cache_usage_perc')).toBe(0);
  });

  it('KV usage is visible on /metrics while long requests run', async () => {
    const url = await start({ numGpuBlocks: 64, maxModelLen: 1024, timeScale: 1 });
    const ctl = new AbortController();
    const res = await postJson(
      `${url}/v1/completions`,
      { prompt: words(600, 3), max_tokens: 400, ignore_eos: true, stream: true },
      ctl.signal,
    );
    await readSseEvents(res, 1); // prefill done: 600+ tokens of 1024 held
    const s = await waitForMetrics(url, (m) => m.value('vllm:kv_cache_usage_perc') > 0.5);
    expect(s.value('vllm:num_requests_running')).toBe(1);
    ctl.abort();
    await waitForMetrics(url, (m) => m.value('vllm:kv_cache_usage_perc') === 0);
  });
});

describe('metrics versions', () => {
  it('v1 (default) exposes vLLM V1 names; the text parses with a real Prometheus parser', async () => {
    const url = await start({ timeScale: 0.01 });
    await (await postJson(`${url}/v1/completions`, { prompt: 'warm up', max_tokens: 3 })).json();
    const s = await scrape(url);
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:request_success_total',
      'vllm:time_to_first_token_seconds',
      'vllm:inter_token_latency_seconds',
      'vllm:e2e_request_latency_seconds',
      'vllm:request_queue_time_seconds',
      'vllm:cache_config_info',
      'sim_token_emit_error_seconds',
      'sim_event_loop_lag_seconds',
    ]) {
      expect(s.families.has(name), name).toBe(true);
    }
    expect(s.families.get('vllm:num_requests_running')!.metrics[0]!.labels).toEqual({
      model_name: 'm',
      engine: '0',
    });
    expect(s.value('vllm:generation_tokens_total')).toBe(3);
    expect(s.families.has('vllm:gpu_cache_usage_perc')).toBe(false);
  });

  it('v0 adds the older names (gpu_cache_usage_perc, num_requests_swapped) with model_name only', async () => {
    const url = await start({ timeScale: 0.01, metricsVersion: 'v0' });
    await (await postJson(`${url}/v1/completions`, { prompt: 'warm up', max_tokens: 3 })).json();
    const s: Scrape = await scrape(url);
    expect(s.value('vllm:gpu_cache_usage_perc')).toBe(0);
    expect(s.value('vllm:num_requests_swapped')).toBe(0);
    expect(s.families.get('vllm:num_requests_waiting')!.metrics[0]!.labels).toEqual({ model_name: 'm' });
    expect(s.families.has('vllm:kv_cache_usage_perc')).toBe(false);
    expect(s.value('vllm:request_success_total', { finished_reason: 'length' })).toBe(1);
    expect(((await (await fetch(`${url}/version`)).json()) as { version: string }).version).toBe('0.7.2');
  });
});

describe('streams under the test clock', () => {
  it('emits tokens in order for many concurrent streams at time scale 0.01', async () => {
    const url = await start({ timeScale: 0.01, seed: 3 });
    const all = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const res = await postJson(`${url}/v1/chat/completions`, {
          messages: [{ role: 'user', content: words(30, i) }],
          max_tokens: 40,
          ignore_eos: true,
          stream: true,
        });
        return readSse(res);
      }),
    );
    for (const events of all) {
      expect(events).toHaveLength(1 + 40 + 1);
      expect(events.at(-1)).toBe('[DONE]');
    }
    const s = await scrape(url);
    expect(s.hist('sim_token_emit_error_seconds').count).toBe(16 * 40);
    expect(s.hist('sim_first_token_emit_error_seconds').count).toBe(16);
  });
});
