/**
 * The load generator against a fake OpenAI server on loopback: concurrency, arrivals, bounds,
 * errors, what counts as the first token, usage, conversations and /metrics scraping.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBench } from '../../src/bench/bench.js';
import { reservePort } from '../../src/util/ports.js';
import { type Behaviour, type FakeOpenAi, startFakeOpenAi } from './fake-openai.js';
import { benchOptions } from './helpers.js';

const servers: FakeOpenAi[] = [];
async function fake(b: (n: number) => Behaviour = () => ({})): Promise<FakeOpenAi> {
  const f = await startFakeOpenAi(b);
  servers.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('closed loop', () => {
  it('never has more than --max-concurrency requests in flight, and reaches it', async () => {
    const f = await fake(() => ({ ttftMs: 100, itlMs: 2 }));
    const r = await runBench(
      benchOptions(f.url, {
        load: { requestRate: Infinity, maxConcurrency: 4, numPrompts: 24, requestTimeoutS: 60 },
      }),
    );
    expect(f.maxConcurrent()).toBe(4);
    expect(f.received).toHaveLength(24);
    expect(r.targets[0]!.metrics.completed).toBe(24);
  });

  it('sends everything at once without a limit', async () => {
    const f = await fake(() => ({ ttftMs: 150 }));
    await runBench(
      benchOptions(f.url, { load: { requestRate: Infinity, numPrompts: 12, requestTimeoutS: 60 } }),
    );
    expect(f.received).toHaveLength(12);
    expect(f.maxConcurrent()).toBeGreaterThan(4);
  });
});

describe('initial test request (vLLM’s “initial single prompt test run”)', () => {
  it('sends the first prompt once before the run, uncounted', async () => {
    const f = await fake(() => ({ itlMs: 1 }));
    const r = await runBench(
      benchOptions(f.url, {
        initialTest: true,
        load: { requestRate: Infinity, maxConcurrency: 2, numPrompts: 6, requestTimeoutS: 60 },
      }),
    );
    expect(f.received).toHaveLength(7);
    expect(r.targets[0]!.metrics.completed).toBe(6);
    // The test request is request 0's prompt: that prompt arrives twice, every other once.
    const prompts = f.received.map((x) => JSON.stringify(JSON.parse(x.body).prompt));
    expect(new Set(prompts).size).toBe(6);
    expect(prompts.filter((p) => p === prompts[0])).toHaveLength(2);
    expect(r.targets[0]!.warnings.join('\n')).not.toContain('initial test');
  });

  it('a failed test request is reported; the run goes on', async () => {
    const f = await fake((n) => (n === 0 ? { status: 500 } : {}));
    const r = await runBench(
      benchOptions(f.url, {
        initialTest: true,
        load: { requestRate: Infinity, numPrompts: 3, requestTimeoutS: 60 },
      }),
    );
    expect(f.received).toHaveLength(4);
    expect(r.targets[0]!.metrics.completed).toBe(3);
    expect(r.targets[0]!.warnings.join('\n')).toContain('the initial test request (not counted) failed');
  });
});

describe('open loop (Poisson)', () => {
  it('sends exactly --num-prompts requests, the same bytes for the same seed', async () => {
    const bodies = async (seed: number): Promise<string[]> => {
      const f = await fake(() => ({ itlMs: 1 }));
      const r = await runBench(
        benchOptions(f.url, {
          seed,
          load: { requestRate: 400, numPrompts: 30, requestTimeoutS: 60 },
          dataset: {
            name: 'random',
            inputLen: 20,
            outputLen: 3,
            rangeRatio: 0.5,
            rangeMode: 'centered',
            prefixLen: 5,
          },
        }),
      );
      expect(r.targets[0]!.metrics.completed).toBe(30);
      expect(f.received).toHaveLength(30);
      return f.received.map((x) => x.body).sort();
    };
    const a = await bodies(7);
    const b = await bodies(7);
    const c = await bodies(8);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('queues arrivals behind --max-concurrency', async () => {
    const f = await fake(() => ({ ttftMs: 30 }));
    await runBench(
      benchOptions(f.url, {
        load: { requestRate: 1000, maxConcurrency: 2, numPrompts: 10, requestTimeoutS: 60 },
      }),
    );
    expect(f.received).toHaveLength(10);
    expect(f.maxConcurrent()).toBeLessThanOrEqual(2);
  });
});

describe('bounds', () => {
  it('--duration stops the run by itself', async () => {
    const f = await fake(() => ({ ttftMs: 5, itlMs: 5 }));
    const r = await runBench(
      benchOptions(f.url, {
        load: { requestRate: Infinity, maxConcurrency: 3, durationS: 0.4, requestTimeoutS: 60 },
      }),
    );
    const t = r.targets[0]!;
    expect(f.received.length).toBeGreaterThanOrEqual(3);
    expect(t.metrics.completed + t.metrics.failed).toBe(f.received.length);
    expect(t.metrics.failed).toBe(0);
  });

  it('aborts what is still in flight when the grace period ends, and counts it', async () => {
    const f = await fake(() => ({ hang: true }));
    const r = await runBench(
      benchOptions(f.url, {
        load: { requestRate: Infinity, maxConcurrency: 2, durationS: 0.2, graceS: 0.1, requestTimeoutS: 60 },
      }),
    );
    const t = r.targets[0]!;
    expect(t.aborted).toBe(2);
    expect(t.metrics.errors).toEqual({ aborted: 2 });
    expect(t.warnings[0]).toContain('every request failed');
    // The server sees the client go away.
    await vi.waitFor(() => expect(f.aborted()).toBe(2), { timeout: 5000 });
  });

  it('stops at once on the external signal (Ctrl-C) and reports what finished', async () => {
    const stop = new AbortController();
    const f = await fake((n) => {
      if (n < 3) return {};
      // The fourth request hangs; "Ctrl-C" comes while it is in flight.
      setTimeout(() => stop.abort(), 20);
      return { hang: true };
    });
    const r = await runBench(
      benchOptions(f.url, {
        signal: stop.signal,
        load: { requestRate: Infinity, maxConcurrency: 1, numPrompts: 100, requestTimeoutS: 60 },
      }),
    );
    expect(r.targets[0]!.metrics.completed).toBe(3);
    expect(r.targets[0]!.metrics.errors).toEqual({ aborted: 1 });
    expect(f.received).toHaveLength(4);
  });
});

describe('errors', () => {
  it('counts failures by HTTP status', async () => {
    const f = await fake((n) => (n % 4 === 1 ? { status: 503 } : n % 4 === 2 ? { status: 429 } : {}));
    const r = await runBench(
      benchOptions(f.url, {
        load: { requestRate: Infinity, maxConcurrency: 1, numPrompts: 20, requestTimeoutS: 60 },
      }),
    );
    expect(r.targets[0]!.metrics.errors).toEqual({ '503': 5, '429': 5 });
    expect(r.targets[0]!.metrics.completed).toBe(10);
  });

  it('counts connection failures as network errors', async () => {
    const port = await reservePort();
    const r = await runBench(
      benchOptions(`http://127.0.0.1:${port}`, {
        load: { requestRate: Infinity, numPrompts: 3, requestTimeoutS: 60 },
      }),
    );
    expect(r.targets[0]!.metrics.errors).toEqual({ 'network:ECONNREFUSED': 3 });
  });

  it('counts a per-request timeout as timeout', async () => {
    const f = await fake(() => ({ hang: true }));
    const r = await runBench(
      benchOptions(f.url, { load: { requestRate: Infinity, numPrompts: 2, requestTimeoutS: 0.1 } }),
    );
    expect(r.targets[0]!.metrics.errors).toEqual({ timeout: 2 });
  });
});

describe('what is measured', () => {
  it('TTFT starts at the first chunk with non-empty choices; one ITL gap per later token', async () => {
    const f = await fake(() => ({ emptyFirst: true, ttftMs: 60, itlMs: 1, tokens: 5 }));
    const r = await runBench(
      benchOptions(f.url, {
        saveDetailed: true,
        load: { requestRate: Infinity, numPrompts: 4, requestTimeoutS: 60 },
      }),
    );
    const t = r.targets[0]!;
    for (const rec of t.records) {
      expect(rec.success).toBe(true);
      // The empty-choices chunk came at once; the first token not before the server's 60 ms delay.
      expect(rec.ttftMs).toBeGreaterThanOrEqual(59);
      expect(rec.latencyMs).toBeGreaterThanOrEqual(rec.ttftMs);
      expect(rec.outputTokens).toBe(5);
    }
    expect(t.metrics.itl.count).toBe(4 * 4);
    expect(t.metrics.tpot.count).toBe(4);
  });

  it('chat: the role chunk is the first token; without usage, token chunks are counted', async () => {
    const f = await fake(() => ({ tokens: 6, noUsage: true }));
    const r = await runBench(
      benchOptions(f.url, {
        endpoint: '/v1/chat/completions',
        load: { requestRate: Infinity, numPrompts: 3, requestTimeoutS: 60 },
      }),
    );
    const t = r.targets[0]!;
    expect(t.records.map((x) => x.outputTokens)).toEqual([6, 6, 6]);
    // Role chunk + 6 content chunks = 6 gaps per request, as vLLM's client counts them.
    expect(t.metrics.itl.count).toBe(18);
    expect(JSON.parse(f.received[0]!.body)).toMatchObject({
      max_completion_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("usage's completion_tokens wins over the chunk count; prompt tokens come from usage too", async () => {
    const f = await fake(() => ({ tokens: 3, reportedTokens: 9 }));
    const r = await runBench(
      benchOptions(f.url, { load: { requestRate: Infinity, numPrompts: 2, requestTimeoutS: 60 } }),
    );
    const t = r.targets[0]!;
    expect(t.metrics.totalOutputTokens).toBe(18);
    // The fake reports prompt tokens as characters / 4.
    const chars = (JSON.parse(f.received[0]!.body) as { prompt: string }).prompt.length;
    expect(t.records[0]!.promptTokens).toBe(Math.floor(chars / 4));
  });

  it('reports times in the targets time with --time-scale', async () => {
    const f = await fake(() => ({ ttftMs: 40 }));
    const r = await runBench(
      benchOptions(f.url, {
        timeScale: 0.5,
        load: { requestRate: Infinity, numPrompts: 2, requestTimeoutS: 60 },
      }),
    );
    expect(r.targets[0]!.metrics.ttft.mean).toBeGreaterThanOrEqual(79);
  });
});

describe('multi-round conversations', () => {
  it('each user resends its history with the server’s actual answers, one question in flight at a time', async () => {
    const f = await fake(() => ({ itlMs: 1 }));
    const r = await runBench(
      benchOptions(f.url, {
        endpoint: '/v1/chat/completions',
        dataset: {
          name: 'multi-round',
          numUsers: 2,
          numRounds: 3,
          qps: 40,
          systemPromptLen: 8,
          userHistoryLen: 6,
          answerLen: 5,
          questionLen: 4,
        },
        load: { requestRate: Infinity, numPrompts: 14, durationS: 20, requestTimeoutS: 60 },
      }),
    );
    expect(r.targets[0]!.metrics.completed).toBe(14);
    const byUser = new Map<string, { messages: { role: string; content: string }[] }[]>();
    for (const req of f.received) {
      const user = String(req.headers['x-user-id']);
      const list = byUser.get(user) ?? [];
      list.push(req.json as { messages: { role: string; content: string }[] });
      byUser.set(user, list);
    }
    const systemPrompts = new Set<string>();
    let multiRound = 0;
    for (const [, reqs] of byUser) {
      reqs.forEach((body, k) => {
        expect(body.messages).toHaveLength(1 + 2 * k);
        if (k > 0) {
          // Previous request + the answer the fake streamed (" w0 … w4") + a new question.
          expect(body.messages.slice(0, 2 * k - 1)).toEqual(reqs[k - 1]!.messages);
          expect(body.messages[2 * k - 1]).toEqual({ role: 'assistant', content: ' w0 w1 w2 w3 w4' });
          multiRound++;
        }
      });
      systemPrompts.add(reqs[0]!.messages[0]!.content.split(' ').slice(0, 9).join(' '));
    }
    expect(multiRound).toBeGreaterThan(0);
    expect(byUser.size).toBeGreaterThan(1);
    // Every user's first request opens with the same 8-token system prompt.
    expect(systemPrompts.size).toBe(1);
  });
});

describe('replica metrics', () => {
  it('reads the prefix-cache hit rate and requests per replica; a shared prefix raises the hit rate', async () => {
    const run = async (prefixLen: number) => {
      const f = await fake();
      const r = await runBench(
        benchOptions(f.url, {
          scrapeUrls: [f.url],
          dataset: {
            name: 'random',
            inputLen: 30,
            outputLen: 2,
            rangeRatio: 0,
            rangeMode: 'centered',
            prefixLen,
          },
          load: { requestRate: Infinity, maxConcurrency: 2, numPrompts: 20, requestTimeoutS: 60 },
        }),
      );
      return r.targets[0]!;
    };
    const without = await run(0);
    const withPrefix = await run(300);
    expect(withPrefix.prefixCache!.source).toBe('v1-counters');
    expect(withPrefix.prefixCache!.replicas[0]!.requests).toBe(20);
    expect(withPrefix.prefixCache!.hitRate!).toBeGreaterThan(0.5);
    expect(withPrefix.prefixCache!.hitRate!).toBeGreaterThan(without.prefixCache!.hitRate ?? 0);
    expect(withPrefix.timeline.length).toBeGreaterThanOrEqual(2);
  });

  it('notes an unreachable /metrics without failing the run', async () => {
    const f = await fake();
    const port = await reservePort();
    const r = await runBench(benchOptions(f.url, { scrapeUrls: [`http://127.0.0.1:${port}`] }));
    const t = r.targets[0]!;
    expect(t.metrics.completed).toBe(10);
    expect(t.prefixCache!.hitRate).toBeNull();
    expect(t.warnings.some((w) => w.includes(`127.0.0.1:${port}/metrics`))).toBe(true);
  });
});

describe('mixes', () => {
  it('sends the model and objective each request drew, and breaks the figures down by them', async () => {
    const f = await fake();
    const r = await runBench(
      benchOptions(f.url, {
        modelMix: [
          { name: 'adapter-a', weight: 1 },
          { name: 'adapter-b', weight: 1 },
        ],
        objectiveMix: [
          { name: 'critical', weight: 1 },
          { name: 'sheddable', weight: 1 },
        ],
        load: { requestRate: Infinity, numPrompts: 40, requestTimeoutS: 60 },
      }),
    );
    const t = r.targets[0]!;
    const sent = new Map(f.received.map((x) => [x.body, x]));
    for (const rec of t.records) {
      expect(['adapter-a', 'adapter-b']).toContain(rec.model);
    }
    for (const req of sent.values()) {
      expect(['critical', 'sheddable']).toContain(req.headers['x-gateway-inference-objective']);
    }
    expect(Object.keys(t.byModel!)).toEqual(['adapter-a', 'adapter-b']);
    expect(Object.keys(t.byObjective!)).toEqual(['critical', 'sheddable']);
    expect(t.byModel!['adapter-a']!.completed + t.byModel!['adapter-b']!.completed).toBe(40);
  });
});
