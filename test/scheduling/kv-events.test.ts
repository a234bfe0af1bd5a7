/**
 * The precise prefix-cache scorer against real event streams on loopback:
 * - simulator replicas publishing vLLM KV events: the index agrees with what the replica's own
 *   prefix cache reports (usage.prompt_tokens_details.cached_tokens) after evictions, forgets a
 *   replica on AllBlocksCleared and on a restart (sequence back to 0), and a replica that never
 *   publishes is scored by the approximate fallback and says so in metrics;
 * - a hand-driven vLLM-format publisher that skips a sequence number: the gap is repaired from its
 *   replay socket, or, without one, the endpoint is resynchronised rather than mis-chained.
 */
import { encode } from '@msgpack/msgpack';
import { Registry } from 'prom-client';
import { request as httpRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Publisher, Router } from 'zeromq';
import { EndpointState } from '../../src/datastore/endpoint-state.js';
import { SchedulingContext } from '../../src/scheduling/framework/context.js';
import {
  createPrecisePrefixCacheScorer,
  type PrecisePrefixCacheScorer,
} from '../../src/scheduling/plugins/scorers/precise-prefix-cache-scorer.js';
import { createPrefillCostScorer } from '../../src/scheduling/plugins/scorers/prefill-cost-scorer.js';
import { PREFIX_MATCH, type PrefixMatch } from '../../src/scheduling/plugins/scorers/prefix-cache-scorer.js';
import { KvEventsService } from '../../src/scraping/kv-events/service.js';
import { vllmMapping } from '../../src/scraping/vllm.js';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { parseKvEventsConfig } from '../../src/sim/kv/kv-events-config.js';
import { buildPodManifests } from '../../src/sim/pods.js';
import { synthText } from '../../src/sim/tokenizer.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePort } from '../../src/util/ports.js';
import { SeededRng } from '../../src/util/rng.js';
import { host, request, waitFor } from './helpers.js';

/** Polls an async check every 50 ms until it holds, failing after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const MODEL = 'm';
const BLOCK = 16;

const KV_CONFIG = (port: string, replay: string) =>
  parseKvEventsConfig(
    JSON.stringify({
      enable_kv_cache_events: true,
      endpoint: `tcp://127.0.0.1:${port}`,
      replay_endpoint: `tcp://127.0.0.1:${replay}`,
      topic: `kv@sim@${MODEL}`,
    }),
  );

/** EndpointStates for simulator replicas, labelled with their KV ports as `sim --emit-pods` does. */
function states(sim: SimCluster): EndpointState[] {
  return buildPodManifests(sim.replicas, { labels: { app: 'sim' } }).map((pod, i) => {
    const r = sim.replicas[i]!;
    return new EndpointState(
      {
        id: `127.0.0.1:${r.port}`,
        address: '127.0.0.1',
        port: r.port,
        labels: pod.metadata.labels,
        podName: pod.metadata.name,
      },
      vllmMapping,
      true,
    );
  });
}

function scorerWith(
  service: KvEventsService,
  params: Record<string, unknown> = {},
): PrecisePrefixCacheScorer {
  const s = createPrecisePrefixCacheScorer('precise', { blockSize: BLOCK, ...params });
  s.attach({ ...host(), kvEvents: service });
  return s;
}

function scores(s: PrecisePrefixCacheScorer, prompt: string, candidates: EndpointState[]): number[] {
  const out = new Float64Array(candidates.length);
  s.score(new SchedulingContext(request({ model: MODEL, prompt }), MODEL, 0, 1 << 20), candidates, out);
  return [...out];
}

async function complete(url: string, prompt: string): Promise<number> {
  const res = await httpRequest(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: 2 }),
  });
  const body = (await res.body.json()) as { usage: { prompt_tokens_details?: { cached_tokens: number } } };
  expect(res.statusCode).toBe(200);
  return body.usage.prompt_tokens_details?.cached_tokens ?? 0;
}

async function metricValue(reg: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v ? Number(v.value) : 0;
}

const rng = new SeededRng(21);
const words = (n: number) => synthText(() => rng.next(), n);

describe('precise prefix-cache scorer on simulator KV events', () => {
  let sim: SimCluster;
  let eps: EndpointState[];
  const reg = new Registry();
  const service = new KvEventsService(silentLogger(), reg);
  let scorer: PrecisePrefixCacheScorer;

  beforeAll(async () => {
    sim = await startSimCluster({
      replicas: 3,
      servedModelNames: [MODEL],
      timeScale: 0.01,
      numGpuBlocks: 96,
      maxModelLen: 1024,
      enablePromptTokensDetails: true,
      kvEventsConfig: KV_CONFIG('*', '*'),
      // replica 2 never publishes
      perReplica: [{}, {}, { kvEventsConfig: null }],
    });
    eps = states(sim);
    scorer = scorerWith(service);
    scores(scorer, 'warm up', eps); // subscribes to every endpoint
    // replicas 0 and 1 go live on their first batch (a missed first batch comes back by replay)
    for (const i of [0, 1]) await complete(sim.replicas[i]!.url, words(40));
    await waitFor(
      () => scorer.hub!.status(eps[0]!.id) === 'live' && scorer.hub!.status(eps[1]!.id) === 'live',
      10_000,
      'live',
    );
  });

  afterAll(async () => {
    service.close();
    await sim?.close();
  });

  it('matches the replica’s own prefix cache, also after evictions', async () => {
    const shared = words(300);
    await complete(sim.replicas[0]!.url, shared);
    await waitFor(() => scores(scorer, shared, eps)[0] === 1, 10_000, 'blocks of the shared prompt');
    expect(scores(scorer, shared, eps)[1]).toBe(0);
    // push it out: 96 blocks hold 1536 tokens; 8 other prompts of 300 tokens evict most of it
    for (let k = 0; k < 8; k++) await complete(sim.replicas[0]!.url, words(300));
    await new Promise((r) => setTimeout(r, 200)); // let the last batches arrive
    const predicted = Math.round(scores(scorer, shared, eps)[0]! * Math.floor(300 / BLOCK));
    expect(predicted).toBeLessThan(Math.floor(300 / BLOCK));
    const cached = await complete(sim.replicas[0]!.url, shared);
    expect(cached).toBe(predicted * BLOCK);
  });

  it('publishes its exact match, so prefill-cost-scorer weighs cached tokens from the events', async () => {
    const p = words(320);
    await complete(sim.replicas[0]!.url, p);
    await waitFor(() => scores(scorer, p, eps)[0] === 1, 10_000, 'blocks of the prompt on replica 0');
    // the same prompt plus new text: replica 0 holds the first part exactly
    const longer = `${p}${words(320)}`;
    const ctx = new SchedulingContext(request({ model: MODEL, prompt: longer }), MODEL, 0, 1 << 20);
    const precise = new Float64Array(3);
    scorer.score(ctx, eps, precise);
    const match = ctx.get<PrefixMatch>(PREFIX_MATCH)!;
    expect(match.candidates).toBe(eps);
    const tokens = ctx.estPromptTokens();
    expect(match.cachedTokens(0, tokens)).toBeCloseTo(precise[0]! * tokens, 6);
    expect(precise[0]).toBeGreaterThan(0.3);
    expect(precise[0]).toBeLessThan(0.7);
    expect(match.cachedTokens(1, tokens)).toBe(0);
    const cost = createPrefillCostScorer('cost', {});
    const costs = new Float64Array(3);
    cost.score(ctx, eps, costs);
    // nothing pending anywhere: replica 0 is the cheapest by the tokens it holds
    expect(costs[0]).toBe(1);
    expect(costs[1]).toBeLessThan(1);
  });

  it('prepares the prompt before the decision; scoring then uses those hashes, with the same result', async () => {
    const p = words(260);
    await complete(sim.replicas[1]!.url, p);
    await waitFor(() => scores(scorer, p, eps)[1]! > 0.9, 10_000, 'stored on replica 1');
    const prompt = `${p}${words(100)}`;
    const ctx = new SchedulingContext(request({ model: MODEL, prompt }), MODEL, 0, 1 << 20);
    expect(scorer.prepare(ctx)).toBe(true); // events are live: worth a turn before the decision
    const hashing = vi.spyOn(scorer as unknown as { blockHashes: () => unknown }, 'blockHashes');
    const prepared = new Float64Array(3);
    scorer.score(ctx, eps, prepared);
    expect(hashing).not.toHaveBeenCalled();
    hashing.mockRestore();
    expect([...prepared]).toEqual(scores(scorer, prompt, eps));
    expect(prepared[1]).toBeGreaterThan(0.5);
    // without events (no hub) there is nothing to prepare, and no turn to yield
    expect(createPrecisePrefixCacheScorer('unattached', { blockSize: BLOCK }).prepare(ctx)).toBe(false);
  });

  it('forgets a replica whose prefix cache was reset (AllBlocksCleared)', async () => {
    const p = words(200);
    await complete(sim.replicas[1]!.url, p);
    await waitFor(() => scores(scorer, p, eps)[1]! > 0.9, 10_000, 'stored on replica 1');
    const reset = await httpRequest(`${sim.replicas[1]!.url}/reset_prefix_cache`, { method: 'POST' });
    expect(reset.statusCode).toBe(200);
    await reset.body.text();
    await waitFor(() => scores(scorer, p, eps)[1] === 0, 10_000, 'cleared on replica 1');
  });

  it('scores a replica that never publishes approximately, and says so in metrics', async () => {
    const p = words(200);
    expect(scorer.hub!.status(eps[2]!.id)).toBe('waiting');
    // the approximate index learns from dispatches: route a request there
    const ctx = new SchedulingContext(request({ model: MODEL, prompt: p }), MODEL, 0, 1 << 20);
    scorer.score(ctx, eps, new Float64Array(3));
    scorer.onDispatch(ctx, eps[2]!);
    const s = scores(scorer, p, eps);
    expect(s[2]).toBeGreaterThan(0.9);
    const labels = { pool: 'default/pool', endpoint: eps[2]!.id };
    expect(await metricValue(reg, 'infergate_precise_prefix_fallback_total', labels)).toBeGreaterThan(0);
    expect(await metricValue(reg, 'infergate_kv_events_publishing', labels)).toBe(0);
    expect(await metricValue(reg, 'infergate_kv_events_publishing', { endpoint: eps[0]!.id })).toBe(1);
  });
});

describe('precise prefix-cache scorer across a replica restart', () => {
  it('clears the replica when it restarts (dropped connection or sequence starting over)', async () => {
    const [http, pub, replay] = [await reservePort(), await reservePort(), await reservePort()];
    const opts = {
      replicas: 1,
      port: http,
      servedModelNames: [MODEL],
      timeScale: 0.01,
      maxModelLen: 1024,
      numGpuBlocks: 256,
      kvEventsConfig: KV_CONFIG(String(pub), String(replay)),
    };
    const reg = new Registry();
    const service = new KvEventsService(silentLogger(), reg);
    let sim = await startSimCluster(opts);
    try {
      const eps = states(sim);
      const scorer = scorerWith(service);
      const before = words(200);
      scores(scorer, before, eps);
      await complete(sim.replicas[0]!.url, before);
      await waitFor(() => scores(scorer, before, eps)[0]! > 0.9, 10_000, 'stored before the restart');
      await sim.close();
      sim = await startSimCluster(opts);
      // the subscriber reconnects by itself; new prompts until their events are seen again
      await until(
        async () => {
          const after = words(200);
          await complete(sim.replicas[0]!.url, after);
          await new Promise((r) => setTimeout(r, 50));
          return scores(scorer, after, eps)[0]! > 0.9;
        },
        15_000,
        'events after the restart',
      );
      expect(scores(scorer, before, eps)[0]).toBe(0);
      const id = eps[0]!.id;
      const seen =
        (await metricValue(reg, 'infergate_kv_events_recoveries_total', { endpoint: id, kind: 'restart' })) +
        (await metricValue(reg, 'infergate_kv_events_recoveries_total', { endpoint: id, kind: 'reconnect' }));
      expect(seen).toBeGreaterThanOrEqual(1);
    } finally {
      service.close();
      await sim.close();
    }
  }, 40_000);
});

describe('dropped events', () => {
  const bs = 4;
  const toks = Array.from({ length: 24 }, (_, i) => 100 + i);
  /** vLLM-format batch storing blocks [from, to) of `toks` with engine hashes 500 + i. */
  const batch = (from: number, to: number) =>
    encode([
      Date.now() / 1000,
      [
        {
          type: 'BlockStored',
          block_hashes: Array.from({ length: to - from }, (_, k) => 500 + from + k),
          parent_block_hash: from === 0 ? null : 500 + from - 1,
          token_ids: toks.slice(from * bs, to * bs),
          block_size: bs,
          lora_id: null,
          medium: 'GPU',
          lora_name: null,
        },
      ],
      0,
    ]);
  const seq = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };

  async function run(withReplay: boolean): Promise<{ score: number; kind: string }> {
    const pubPort = await reservePort();
    const replayPort = await reservePort();
    const pub = new Publisher();
    await pub.bind(`tcp://127.0.0.1:${pubPort}`);
    const router = new Router();
    const payloads = [batch(0, 2), batch(2, 4), batch(4, 6)];
    if (withReplay) {
      await router.bind(`tcp://127.0.0.1:${replayPort}`);
      void (async () => {
        for await (const [id, , start] of router) {
          for (let s = Number(start!.readBigInt64BE()); s < payloads.length; s++)
            await router.send([id!, Buffer.alloc(0), seq(s), payloads[s]!]);
          await router.send([id!, Buffer.alloc(0), seq(-1), Buffer.alloc(0)]);
        }
      })().catch(() => {});
    }
    const reg = new Registry();
    const service = new KvEventsService(silentLogger(), reg);
    const ep = new EndpointState(
      { id: `127.0.0.1:${pubPort}`, address: '127.0.0.1', port: 1, labels: {} },
      vllmMapping,
      true,
    );
    const scorer = scorerWith(service, {
      blockSize: bs,
      socketPort: pubPort,
      replayPort: withReplay ? replayPort : 0,
      replayTimeout: '2s',
    });
    const prompt = toks.slice();
    const score = () => {
      const out = new Float64Array(1);
      scorer.score(
        new SchedulingContext(request({ model: MODEL, extra: { prompt } }), MODEL, 0, 1 << 20),
        [ep],
        out,
      );
      return out[0]!;
    };
    try {
      score(); // subscribes
      // publish seq 0 until the subscription has joined (a PUB drops messages before that)
      await until(
        async () => {
          await pub.send(['', seq(0), payloads[0]!]);
          await new Promise((r) => setTimeout(r, 50));
          return scorer.hub!.status(ep.id) === 'live';
        },
        10_000,
        'subscription',
      );
      expect(score()).toBeCloseTo(2 / 6);
      // seq 1 is lost (never sent live); seq 2 arrives
      await pub.send(['', seq(2), payloads[2]!]);
      const kind = withReplay ? 'replay' : 'resync';
      await until(
        async () =>
          (await metricValue(reg, 'infergate_kv_events_recoveries_total', { endpoint: ep.id, kind })) === 1,
        10_000,
        kind,
      );
      return { score: score(), kind };
    } finally {
      service.close();
      pub.close();
      router.close();
    }
  }

  it('a sequence gap is filled from the replay socket: the index holds every block', async () => {
    expect((await run(true)).score).toBe(1);
  }, 20_000);

  it('without a replay socket the endpoint is resynchronised: nothing mis-chained survives', async () => {
    // the cleared index cannot chain seq 2's blocks (their parent was lost): no match, not a wrong one
    expect((await run(false)).score).toBe(0);
  }, 20_000);
});
