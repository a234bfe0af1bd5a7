/**
 * The scheduler registry end to end against the vLLM simulator: it scrapes the replicas' real vLLM
 * metrics, and requests routed by it (sent here the way the gateway sends them: onDispatch, POST,
 * onComplete) show prefix affinity on the server side — prefix-cache hits on the replica that got
 * the conversation — while a concurrent burst spreads over the replicas.
 */
import { Registry } from 'prom-client';
import { request as httpRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointAddress } from '../../src/config/plan.js';
import {
  createSchedulerRegistry,
  type SchedulerRegistry,
} from '../../src/requestcontrol/scheduler-registry.js';
import type { InferenceRequest } from '../../src/requestcontrol/types.js';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { SeededRng } from '../../src/util/rng.js';
import { captureLogger, plan, pool, text, waitFor } from './helpers.js';

const MODEL = 'sim-model';
let sim: SimCluster;
let reg: SchedulerRegistry;
let logs: () => Record<string, unknown>[];
const POOL = 'default/pool';

beforeAll(async () => {
  sim = await startSimCluster({
    replicas: 3,
    servedModelNames: [MODEL],
    timeScale: 0.01,
    seed: 5,
    maxModelLen: 8192,
  });
  const cap = captureLogger();
  logs = cap.lines;
  reg = createSchedulerRegistry({
    metrics: new Registry(),
    logger: cap.logger,
    rng: new SeededRng(3),
    scrapeIntervalMs: 20,
    // The simulator shares this test's event loop on a loaded 2-core machine: scrapes can be slow.
    // Staleness and health have their own tests (scrape-loop.test.ts); here they must not interfere.
    scrapeTimeoutMs: 10_000,
    unhealthyAfter: 10,
    saturation: { metricsStalenessThresholdMs: 60_000 },
  });
  const endpoints: EndpointAddress[] = sim.replicas.map((r) => ({
    address: '127.0.0.1',
    port: r.port,
    ready: true,
    labels: { app: 'sim' },
    from: 'Pod',
    podName: `sim-${r.index}`,
  }));
  // no EndpointPickerConfig: the built-in default, with its saturation filter relaxed as above
  reg.sync(plan(pool({ endpoints, pickerConfig: undefined })));
});

afterAll(async () => {
  await reg?.close();
  await sim?.close();
});

function inferenceRequest(
  messages: { role: string; content: string }[],
  maxTokens: number,
): InferenceRequest {
  const json = { model: MODEL, messages, max_tokens: maxTokens };
  return {
    id: `r-${Math.random().toString(36).slice(2)}`,
    pool: POOL,
    path: '/v1/chat/completions',
    headers: {},
    body: Buffer.from(JSON.stringify(json)),
    json,
    model: MODEL,
    stream: false,
    receivedAt: performance.now(),
  };
}

/** What the gateway does with a decision: dispatch, send, complete. Returns the endpoint used. */
async function send(req: InferenceRequest): Promise<{ endpoint: string; cached: number; reason: string }> {
  const d = await reg.get(POOL)!.route(req, new AbortController().signal);
  const ep = d.endpoints[0]!;
  d.onDispatch(ep);
  const res = await httpRequest(`http://${ep.id}${req.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: d.body,
  });
  const body = (await res.body.json()) as {
    usage?: {
      prompt_tokens: number;
      completion_tokens: number;
      prompt_tokens_details?: { cached_tokens?: number };
    };
  };
  d.onComplete(ep, {
    status: res.statusCode,
    ok: res.statusCode === 200,
    ...(body.usage
      ? { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens }
      : {}),
  });
  expect(res.statusCode).toBe(200);
  return { endpoint: ep.id, cached: body.usage?.prompt_tokens_details?.cached_tokens ?? 0, reason: d.reason };
}

async function prefixHits(port: number): Promise<number> {
  const res = await httpRequest(`http://127.0.0.1:${port}/metrics`);
  const page = await res.body.text();
  let total = 0;
  for (const line of page.split('\n'))
    if (line.startsWith('vllm:prefix_cache_hits_total')) total += Number(line.split(' ').at(-1));
  return total;
}

describe('registry against the simulator', () => {
  it('scrapes the replicas’ vLLM metrics, KV cache size included', async () => {
    for (const r of sim.replicas) {
      const s = await waitFor(
        () => reg.endpointState(`127.0.0.1:${r.port}`)?.metrics,
        20_000,
        `metrics of replica ${r.index}`,
      );
      expect(s.running).toBe(0);
      expect(s.waiting).toBe(0);
      expect(s.kvUsage).toBe(0);
      expect(s.numBlocks).toBeGreaterThan(0);
      expect(s.blockSize).toBe(16);
      expect(s.models).toContain(MODEL);
    }
  });

  it('a multi-round conversation sticks to the replica holding its history, which serves it from cache', async () => {
    const history = [{ role: 'user', content: text(6000, 21) }];
    const first = await send(inferenceRequest(history, 8));
    const port = Number(first.endpoint.split(':')[1]);
    const hitsBefore = await prefixHits(port);
    history.push(
      { role: 'assistant', content: 'alpha beta gamma' },
      { role: 'user', content: text(400, 22) },
    );
    const second = await send(inferenceRequest(history, 8));
    expect(second.endpoint, second.reason).toBe(first.endpoint);
    expect(await prefixHits(port)).toBeGreaterThan(hitsBefore);
    const line = logs().find((l) => l.msg === 'Do prefix-aware routing!');
    expect(line?.endpoint).toBe(first.endpoint);
    expect(String(line?.['matching ratio'])).toMatch(/^0\.\d\d > 0\.\d\d$/);
  });

  it('a concurrent burst of distinct prompts spreads over every replica', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        send(inferenceRequest([{ role: 'user', content: text(1500, 100 + i) }], 16)),
      ),
    );
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r.endpoint, (counts.get(r.endpoint) ?? 0) + 1);
    const why = results.map((r) => r.reason).join('\n');
    expect(counts.size, why).toBe(3);
    expect(Math.max(...counts.values()), why).toBeLessThanOrEqual(6);
  });
});
