/**
 * The simulator's KV events, decoded by an independent subscriber: a Python program using pyzmq and
 * msgpack, written against vLLM's published wire format (test/sim/python/kv_events_check.py), checks
 * the frames, sequence numbers, batch layout, each event's field order (current vLLM's tagged maps
 * on replica 0, the legacy tagged arrays on replica 1, whose ports and data_parallel_rank are offset
 * by its index) and a replay from the ROUTER socket, while requests fill a small KV cache until it
 * evicts and a prefix-cache reset clears it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimCluster, startSimCluster } from '../../src/sim/index.js';
import { parseKvEventsConfig } from '../../src/sim/kv/kv-events-config.js';
import { synthText } from '../../src/sim/tokenizer.js';
import { SeededRng } from '../../src/util/rng.js';
import { hasTool, toolPath } from '../helpers/deps.js';

const SCRIPT = fileURLToPath(new URL('./python/kv_events_check.py', import.meta.url));
const TOPIC = 'kv@sim@m';

interface CheckResult {
  batches: number;
  first_seq: number | null;
  stats: Record<string, number>;
  replay: { requested: boolean; batches?: number; matching?: number; first?: number | null };
  errors: string[];
}

function runChecker(
  pub: string,
  replay: string,
  layout: string,
  rank: number,
): {
  subscribed: Promise<void>;
  result: Promise<CheckResult>;
  child: ChildProcess;
} {
  const child = spawn(toolPath('python-kv')!, [SCRIPT, pub, replay, TOPIC, layout, String(rank), '20'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let onSub: () => void = () => {};
  const subscribed = new Promise<void>((r) => {
    onSub = r;
  });
  const result = new Promise<CheckResult>((resolve, reject) => {
    lines.on('line', (l) => {
      if (l === 'subscribed') onSub();
      else if (l.startsWith('{')) resolve(JSON.parse(l) as CheckResult);
    });
    child.on('exit', (code) => reject(new Error(`checker exited ${code} without a result`)));
  });
  return { subscribed, result, child };
}

async function complete(url: string, prompt: string): Promise<void> {
  const res = await request(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', prompt, max_tokens: 4 }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

describe.skipIf(!hasTool('python-kv'))('KV events decoded by a Python subscriber (pyzmq + msgpack)', () => {
  let sim: SimCluster;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sim = await startSimCluster({
      replicas: 2,
      servedModelNames: ['m'],
      timeScale: 0.001,
      numGpuBlocks: 40,
      maxModelLen: 512,
      blockSize: 16,
      kvEventsConfig: parseKvEventsConfig(
        JSON.stringify({
          enable_kv_cache_events: true,
          endpoint: 'tcp://127.0.0.1:*',
          replay_endpoint: 'tcp://127.0.0.1:*',
          topic: TOPIC,
        }),
      ),
      perReplica: [{ kvEventsLayout: 'map' }, { kvEventsLayout: 'array' }],
    });
  });

  afterAll(async () => {
    for (const c of children) c.kill();
    await sim?.close();
  });

  it('frames, layouts, field order, evictions, reset and replay check out on both replicas', async () => {
    const checks = sim.replicas.map((r, i) => {
      const kv = r.kvEvents!;
      expect(kv.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const c = runChecker(kv.endpoint, kv.replayEndpoint!, i === 0 ? 'map' : 'array', i);
      children.push(c.child);
      return c;
    });
    await Promise.all(checks.map((c) => c.subscribed));
    const rng = new SeededRng(11);
    // 40 blocks of 16 tokens: six different ~200-token prompts cannot all stay cached
    for (const r of sim.replicas) {
      for (let k = 0; k < 6; k++)
        await complete(
          r.url,
          synthText(() => rng.next(), 200),
        );
      const reset = await request(`${r.url}/reset_prefix_cache`, { method: 'POST' });
      expect(reset.statusCode).toBe(200);
      await reset.body.text();
    }
    const results = await Promise.all(checks.map((c) => c.result));
    for (const res of results) {
      expect(res.errors).toEqual([]);
      expect(res.first_seq).toBe(0);
      expect(res.stats.stored).toBeGreaterThan(0);
      expect(res.stats.stored_blocks).toBeGreaterThan(40);
      expect(res.stats.removed_blocks).toBeGreaterThan(0);
      // every evicted hash had been announced as stored
      expect(res.stats.removed_known).toBe(res.stats.removed_blocks);
      expect(res.stats.cleared).toBe(1);
      expect(res.replay.requested).toBe(true);
      expect(res.replay.first).toBe(0);
      expect(res.replay.batches).toBe(res.batches);
      expect(res.replay.matching).toBe(res.batches);
    }
  }, 60_000);
});
