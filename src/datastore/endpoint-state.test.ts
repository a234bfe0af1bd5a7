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

  it('a scrape sent within the visibility window has not seen the latest dispatches yet', () => {
    const s = state(1, { m: { running: 0, waiting: 0, kvUsage: 0.1, numBlocks: 100, blockSize: 10 } });
    const t = 10_000;
    s.acquire(100, t - 1000); // long before: the server has it
    for (const tokens of [20, 30, 40]) s.acquire(tokens, t - 2); // just before: still on the way
    s.beginScrape(t);
    s.applyScrape(metrics({ running: 1, waiting: 1, kvUsage: 0.1, numBlocks: 100, blockSize: 10 }), t);
    expect(s.dispatchedSinceScrape).toBe(3);
    expect(s.estRequests()).toBe(5);
    expect(s.estKvUsage()).toBeCloseTo(0.1 + 90 / 1000, 12);
    expect(s.inflightPromptTokens).toBe(190);
  });

  it('completions before the scrape are in it; after it they count against what was sent since', () => {
    const s = state(1, { m: { running: 2, waiting: 1, kvUsage: 0.5, numBlocks: 100, blockSize: 10 } });
    s.acquire(100, 0);
    s.acquire(100, 0);
    s.release(100, 150); // before the next scrape
    s.beginScrape(10_000);
    s.applyScrape(metrics({ running: 2, waiting: 1, kvUsage: 0.5, numBlocks: 100, blockSize: 10 }), 10_000);
    expect(s.dispatchedSinceScrape).toBe(0);
    expect(s.estKvUsage()).toBe(0.5);
    s.acquire(50, 10_001);
    s.release(100, 250);
    expect(s.dispatchedSinceScrape).toBe(0);
    expect(s.estKvUsage()).toBeCloseTo(0.5 + (50 - 250) / 1000, 12);
  });

  it('the dispatch ring wraps: only the latest 64 dispatches can be on the way', () => {
    const s = state(1, { m: { running: 0, waiting: 5 } });
    for (let i = 0; i < 70; i++) s.acquire(1, 10_000 - 1);
    s.beginScrape(10_000);
    s.applyScrape(metrics({ running: 0, waiting: 5 }), 10_000);
    expect(s.dispatchedSinceScrape).toBe(64);
  });

  it('requests: never fewer than the gateways have in flight, when the page lags its dispatches', () => {
    const s = state(1, { m: { running: 0, waiting: 0 } });
    const t = 10_000;
    s.acquire(10, t - 400); // sent during an engine step that had not ended when the scrape was taken
    s.acquire(10, t - 300);
    s.beginScrape(t);
    s.applyScrape(metrics({ running: 0, waiting: 0 }), t); // the gauges of the step before
    expect(s.dispatchedSinceScrape).toBe(0);
    expect(s.estRequests()).toBe(2);
    s.setPeerLoad('peer-a', {
      inflightRequests: 3,
      inflightPromptTokens: 30,
      pendingPrefillTokens: 0,
      pendingPrefillRequests: 0,
      longClaims: 0,
    });
    expect(s.estRequests()).toBe(5);
    s.beginScrape(t + 50);
    s.applyScrape(metrics({ running: 7, waiting: 1 }), t + 50); // other clients' requests too
    expect(s.estRequests()).toBe(8);
  });

  it('a server not queueing runs what was sent since at once: waiting stays 0', () => {
    const s = state(1, { m: { running: 3, waiting: 0 } });
    s.acquire(10);
    s.acquire(10);
    expect(s.estWaiting()).toBe(0);
    expect(s.estRequests()).toBe(5);
  });

  it('KV capacity and usage need the cache config and a reading', () => {
    expect(state(1, { m: { numBlocks: 100, blockSize: 16 } }).kvCapacityTokens()).toBe(1600);
    expect(state(1, { m: { numBlocks: 0, blockSize: 16 } }).kvCapacityTokens()).toBeUndefined();
    expect(state(1, { m: { blockSize: 16 } }).kvCapacityTokens()).toBeUndefined();
    expect(state(1, {}).kvCapacityTokens()).toBeUndefined();
    const noReading = state(1, { m: { kvUsage: undefined, numBlocks: 100, blockSize: 16 } });
    noReading.acquire(10);
    expect(noReading.estKvUsage()).toBeUndefined();
    const noCapacity = state(1, { m: { kvUsage: 0.3 } });
    noCapacity.acquire(500);
    expect(noCapacity.estKvUsage()).toBe(0.3);
    const full = state(1, { m: { kvUsage: 0.95, numBlocks: 10, blockSize: 10 } });
    full.acquire(50);
    expect(full.estKvUsage()).toBe(1);
  });

  it('freshness: exactly at the threshold is still fresh; metrics age', () => {
    const s = state(1);
    s.beginScrape(1000);
    s.applyScrape(metrics(), 1000);
    expect(s.freshness(1200, 200)).toBe('fresh');
    expect(s.freshness(1200.5, 200)).toBe('stale');
    expect(s.metricsAge(1250)).toBe(250);
    s.applyScrape(undefined, 1300);
    expect(s.metricsAge(1400)).toBe(Number.POSITIVE_INFINITY);
  });

  it('pending prefill: counted per request, never negative', () => {
    const s = state(1);
    s.startPrefill(100);
    s.startPrefill(50.4);
    expect([s.pendingPrefillTokens, s.pendingPrefillRequests]).toEqual([150.4, 2]);
    s.endPrefill(100);
    expect(s.pendingPrefillTokens).toBeCloseTo(50.4, 12);
    expect(s.pendingPrefillRequests).toBe(1);
    s.endPrefill(100);
    s.endPrefill(100);
    expect([s.pendingPrefillTokens, s.pendingPrefillRequests]).toEqual([0, 0]);
  });

  it('summarises the load it saw for the access log', () => {
    const s = state(1, { m: { running: 2, waiting: 3 } });
    s.acquire(40);
    s.startPrefill(12.6);
    expect(s.loadSummary()).toBe(
      'waiting ~4 (scraped 3), requests ~6, in flight 1 (40 prompt tok), pending prefill 13 tok in 1 request(s)',
    );
    expect(state(2, { inflight: 2 }).loadSummary()).toBe(
      'waiting ~0, requests ~2, in flight 2 (200 prompt tok), pending prefill 0 tok in 0 request(s)',
    );
  });
});
