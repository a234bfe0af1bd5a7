import { describe, expect, it } from 'vitest';
import { metrics, state } from '../../test/scheduling/helpers.js';

describe('EndpointState estimates', () => {
  it('combine the last scrape with what this gateway did since it was sent', () => {
    const s = state(1, { m: { running: 4, waiting: 2, kvUsage: 0.5, numBlocks: 100, blockSize: 10 } });
    s.acquire(100);
    s.acquire(100);
    expect(s.estRequests()).toBe(8);
    expect(s.estWaiting()).toBe(4);
    expect(s.estKvUsage()).toBeCloseTo(0.7);
    s.release(100, 300);
    expect(s.estRequests()).toBe(7);
    expect(s.estKvUsage()).toBeCloseTo(0.4);
    expect(s.inflightRequests).toBe(1);
  });

  it('a new scrape absorbs what was dispatched before it was sent, not after', () => {
    const s = state(1, { m: { running: 0, waiting: 1 } });
    const t = performance.now();
    s.acquire(10, t - 50); // well before the scrape: in it
    s.beginScrape(t);
    s.acquire(10, t + 1); // in flight while the scrape travels
    s.applyScrape(metrics({ running: 1, waiting: 1 }), performance.now());
    expect(s.estRequests()).toBe(3);
    expect(s.inflightRequests).toBe(2);
  });

  it('never scraped: own counts; no KV reading; never negative', () => {
    const s = state(1, { inflight: 2 });
    expect(s.estRequests()).toBe(2);
    expect(s.estWaiting()).toBe(0);
    expect(s.estKvUsage()).toBeUndefined();
    s.release(100, 100);
    s.release(100, 100);
    s.release(100, 100);
    expect(s.inflightRequests).toBe(0);
    expect(s.inflightPromptTokens).toBe(0);
  });

  it('health: out after N network failures, back on the next answer; HTTP errors keep it in', () => {
    const s = state(1, { m: {} });
    expect(s.failScrape('ECONNREFUSED', 3)).toBe(false);
    expect(s.failScrape('ECONNREFUSED', 3)).toBe(false);
    expect(s.failScrape('ECONNREFUSED', 3)).toBe(true);
    expect(s.routable).toBe(false);
    expect(s.failScrape('ECONNREFUSED', 3)).toBe(false);
    s.noMetrics('HTTP 500');
    expect(s.routable).toBe(true);
    expect(s.metrics).toBeUndefined();
    expect(s.freshness(performance.now(), 200)).toBe('none');
  });

  it('freshness follows the age of the scrape', () => {
    const now = performance.now();
    expect(state(1, { m: {}, ageMs: 50 }, now).freshness(now, 200)).toBe('fresh');
    expect(state(1, { m: {}, ageMs: 500 }, now).freshness(now, 200)).toBe('stale');
  });
});
