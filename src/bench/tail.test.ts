import { describe, expect, it } from 'vitest';
import type { RequestRecord } from './client.js';
import { parseAccessLog, requestEvidence, tailEvidence } from './tail.js';

function rec(index: number, ttftMs: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    index,
    startMs: index * 100,
    status: 200,
    model: 'm',
    objective: undefined,
    group: undefined,
    text: '',
    success: true,
    ttftMs,
    latencyMs: ttftMs + 50,
    promptTokens: 1000,
    outputTokens: 10,
    cachedTokens: undefined,
    ...over,
  };
}

/** 100 requests with TTFT 1..100 ms wall; the slowest two reach the P99. */
function run(cached: (i: number) => number | undefined): RequestRecord[] {
  return Array.from({ length: 100 }, (_, i) => rec(i, i + 1, { cachedTokens: cached(i) }));
}

describe('tailEvidence', () => {
  it('lists the requests at or above P99, slowest first, in simulated time', () => {
    const t = tailEvidence(
      run(() => undefined),
      0.5,
    )!;
    expect(t.p99_ttft_ms).toBe(198); // P99 of 1..100 ms is 99.01 wall = 198.02 simulated, rounded
    expect(t.requests.map((r) => r.index)).toEqual([99]);
    expect(t.requests[0]).toMatchObject({ ttft_ms: 200, sent_s: 19.8, prompt_tokens: 1000 });
  });

  it('a tail request without cached_tokens counts 0 once any request of the run reports them', () => {
    // Only request 3 reports (vLLM omits the details when nothing was cached).
    const t = tailEvidence(
      run((i) => (i === 3 ? 800 : undefined)),
      1,
    )!;
    expect(t.requests[0]!.cached_tokens).toBe(0);
    expect(t.mostly_uncached_share).toBe(1);
  });

  it('cached_tokens stay unknown (null) when no request of the run reports them', () => {
    const t = tailEvidence(
      run(() => undefined),
      1,
    )!;
    expect(t.requests[0]!.cached_tokens).toBeNull();
    expect(t.mostly_uncached_share).toBeNull();
  });

  it('mostly_uncached_share counts tail requests with under half their prompt cached', () => {
    const recs = Array.from({ length: 200 }, (_, i) =>
      rec(i, i + 1, { cachedTokens: i === 199 ? 600 : 100 }),
    );
    const t = tailEvidence(recs, 1)!;
    expect(t.requests.map((r) => r.index)).toEqual([199, 198]);
    expect(t.mostly_uncached_share).toBe(0.5);
  });

  it('joins the gateway’s access-log lines: endpoint and decisive scorer per tail request', () => {
    const log = [
      JSON.stringify({
        id: 'x-199',
        endpoint: '10.0.0.2:8000',
        reason: 'prefix → 10.0.0.2:8000 (score 0.9)',
      }),
      JSON.stringify({ id: 'x-198', endpoint: '10.0.0.2:8000', reason: 'queue → 10.0.0.2:8000' }),
      JSON.stringify({ id: 'x-5', endpoint: '10.0.0.3:8000', reason: 'queue → 10.0.0.3:8000' }),
      '{"id": torn',
    ].join('\n');
    const recs = Array.from({ length: 200 }, (_, i) => rec(i, i + 1));
    const t = tailEvidence(recs, 1, parseAccessLog(log), 'x-')!;
    expect(t.requests.map((r) => r.index)).toEqual([199, 198]);
    expect(t.requests[0]).toMatchObject({
      endpoint: '10.0.0.2:8000',
      reason: 'prefix → 10.0.0.2:8000 (score 0.9)',
    });
    expect(t.by_endpoint).toEqual({ '10.0.0.2:8000': 2 });
    expect(t.by_decisive).toEqual({ prefix: 1, queue: 1 });
    // Without the id prefix nothing matches.
    expect(tailEvidence(recs, 1, parseAccessLog(log))?.by_endpoint).toEqual({});
  });

  it('no successful request: no evidence', () => {
    expect(tailEvidence([rec(0, Number.NaN, { success: false })], 1)).toBeUndefined();
  });
});

describe('tailEvidence with a floor', () => {
  it('joins each tail request’s reusable tokens and TTFT floor', () => {
    const t = tailEvidence(
      run(() => undefined),
      1,
      undefined,
      '',
      (r) => ({ reusableTokens: r.index, floorMs: 123.456 }),
    )!;
    expect(t.requests[0]).toMatchObject({ index: 99, reusable_tokens: 99, floor_ms: 123.5 });
    // Without a floor the fields are absent.
    expect(
      tailEvidence(
        run(() => undefined),
        1,
      )!.requests[0]!.floor_ms,
    ).toBeUndefined();
  });
});

describe('requestEvidence', () => {
  it('joins each request with its access-log line and floor; cached tokens as in the tail', () => {
    const recs = [rec(0, 10, { cachedTokens: 512 }), rec(1, 20), rec(2, 30, { success: false })];
    const log = JSON.stringify({
      id: 'x-1',
      endpoint: '10.0.0.2:8000',
      reason: 'prefill-cost → 10.0.0.2:8000',
    });
    const of = requestEvidence(recs, parseAccessLog(log), 'x-', (r) =>
      r.index === 1 ? { reusableTokens: 900, floorMs: 123.45 } : undefined,
    );
    expect(of(recs[0]!)).toEqual({ cached_tokens: 512 });
    expect(of(recs[1]!)).toEqual({
      cached_tokens: 0,
      endpoint: '10.0.0.2:8000',
      reason: 'prefill-cost → 10.0.0.2:8000',
      reusable_tokens: 900,
      floor_ms: 123.5,
    });
    expect(requestEvidence([rec(0, 10)])(rec(0, 10))).toEqual({ cached_tokens: null });
  });
});
