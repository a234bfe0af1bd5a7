/**
 * What the load generator measures, checked against a server whose pacing is known: the fake
 * OpenAI server waits `ttftMs` before the first token and `itlMs` between tokens. Timers never fire
 * early (beyond 1 ms of rounding), so the server's pacing bounds TTFT and E2E from below, and the
 * figures of one request must add up exactly: TTFT + Σ ITL gaps = E2E latency. A single gap has no
 * safe lower bound on a loaded machine (a late read of one token shortens the next gap), so the
 * pacing of the gaps is checked on their median.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../src/bench/bench.js';
import { type RequestRecord, TargetClient } from '../../src/bench/client.js';
import type { BenchRequest } from '../../src/bench/workload/types.js';
import { type FakeOpenAi, startFakeOpenAi } from './fake-openai.js';
import { benchOptions } from './helpers.js';

const TTFT_MS = 60;
const ITL_MS = 20;
const TOKENS = 6;
/** Node timers may fire up to 1 ms before their nominal time (ms rounding); allow 2. */
const TIMER_SLACK_MS = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const servers: FakeOpenAi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function completionRequest(index: number): BenchRequest {
  const json = { model: 'fake-model', prompt: `question ${index}`, max_tokens: TOKENS, stream: true };
  return {
    index,
    body: JSON.stringify(json),
    model: 'fake-model',
    objective: undefined,
    headers: undefined,
    promptTokens: 2,
    maxTokens: TOKENS,
    group: undefined,
  };
}

describe('per-request timing against a server with known pacing', () => {
  it('TTFT runs from the request’s own send; ITL gaps run from the previous token and sum to E2E − TTFT', async () => {
    const f = await startFakeOpenAi(() => ({ ttftMs: TTFT_MS, itlMs: ITL_MS, tokens: TOKENS }));
    servers.push(f);
    const client = new TargetClient(f.url, '/v1/completions');
    const runStart = performance.now();
    const got: { rec: RequestRecord; gaps: number[] }[] = [];
    try {
      // One after another: request k is sent well after the run started (k × its latency).
      for (let k = 0; k < 4; k++) {
        const gaps: number[] = [];
        const rec = await client.send(completionRequest(k), {
          signal: new AbortController().signal,
          timeoutMs: 30_000,
          collectText: false,
          itl: { push: (g) => gaps.push(...g) },
          runStart,
        });
        got.push({ rec, gaps });
      }
    } finally {
      await client.close();
    }
    for (const { rec, gaps } of got) {
      expect(rec.success).toBe(true);
      expect(rec.outputTokens).toBe(TOKENS);
      // The server held the first token back TTFT_MS after it received the request.
      expect(rec.ttftMs).toBeGreaterThanOrEqual(TTFT_MS - TIMER_SLACK_MS);
      expect(rec.ttftMs).toBeLessThanOrEqual(rec.latencyMs);
      // One gap per token after the first, together exactly the time from the first token to the last.
      expect(gaps).toHaveLength(TOKENS - 1);
      const sum = gaps.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(rec.latencyMs - rec.ttftMs, 6);
      // So the latency is at least the server's whole pacing.
      expect(rec.latencyMs).toBeGreaterThanOrEqual(TTFT_MS + (TOKENS - 1) * ITL_MS - TOKENS * TIMER_SLACK_MS);
    }
    // The gaps follow the server's pacing (median: robust to one late read).
    expect(median(got.flatMap((g) => g.gaps))).toBeGreaterThanOrEqual(ITL_MS - TIMER_SLACK_MS);
    // Later requests were sent later in the run, and their TTFT did not grow with it.
    expect(got[3]!.rec.startMs).toBeGreaterThan(got[0]!.rec.startMs + 3 * TTFT_MS);
  });

  it('a whole run: per-request TTFT and E2E and the pooled ITL agree with the pacing (closed loop of one)', async () => {
    const f = await startFakeOpenAi(() => ({ ttftMs: TTFT_MS, itlMs: ITL_MS, tokens: TOKENS }));
    servers.push(f);
    const n = 5;
    const r = await runBench(
      benchOptions(f.url, {
        saveDetailed: true,
        dataset: {
          name: 'random',
          inputLen: 16,
          outputLen: TOKENS,
          rangeRatio: 0,
          rangeMode: 'centered',
          prefixLen: 0,
        },
        load: {
          requestRate: Number.POSITIVE_INFINITY,
          maxConcurrency: 1,
          numPrompts: n,
          requestTimeoutS: 60,
        },
      }),
    );
    const t = r.targets[0]!;
    expect(t.metrics.completed).toBe(n);
    let gapTotal = 0;
    for (const rec of t.records) {
      expect(rec.ttftMs).toBeGreaterThanOrEqual(TTFT_MS - TIMER_SLACK_MS);
      expect(rec.ttftMs).toBeLessThanOrEqual(rec.latencyMs);
      expect(rec.latencyMs).toBeGreaterThanOrEqual(TTFT_MS + (TOKENS - 1) * ITL_MS - TOKENS * TIMER_SLACK_MS);
      gapTotal += rec.latencyMs - rec.ttftMs;
    }
    expect(t.metrics.itl.count).toBe(n * (TOKENS - 1));
    expect(t.metrics.itl.median).toBeGreaterThanOrEqual(ITL_MS - TIMER_SLACK_MS);
    // The pooled gaps are the same time as the requests' E2E − TTFT, gap by gap.
    expect(t.metrics.itl.mean * t.metrics.itl.count).toBeCloseTo(gapTotal, 3);
    // TPOT per request is (E2E − TTFT) / (tokens − 1): its mean is the mean gap here.
    expect(t.metrics.tpot.mean).toBeCloseTo(t.metrics.itl.mean, 3);
  });
});
