/**
 * The scrape loop: every target's /metrics fetched on its own jittered timer (so 64 endpoints are not
 * scraped in lockstep), each fetch bounded by a timeout, over one keep-alive connection per target.
 * The scraper knows nothing of pools: it hands every outcome to the target's `onResult`, and the
 * pool room decides what "stale" and "unhealthy" mean.
 */
import { Pool } from 'undici';
import type { Rng } from '../util/rng.js';
import type { EngineMapping, ModelServerMetrics } from './model-server-metrics.js';
import { parseSelectedSamples } from './promtext.js';

export interface ScrapeTarget {
  /** Stable key (the endpoint id `address:port`). */
  readonly id: string;
  /** `http://host:port` of the metrics listener. */
  readonly origin: string;
  readonly mapping: EngineMapping;
  /** Called synchronously just before each fetch is sent (the pool snapshots its own counters). */
  onStart?(startedAt: number): void;
  /** Called once per fetch with its outcome. */
  onResult(result: ScrapeResult): void;
}

export type ScrapeResult =
  | {
      readonly ok: true;
      /** `performance.now()` when the fetch was sent: the metrics describe the server at about then. */
      readonly startedAt: number;
      readonly durationMs: number;
      /** Undefined when the page carries none of the engine's load gauges. */
      readonly metrics: ModelServerMetrics | undefined;
    }
  | {
      readonly ok: false;
      readonly startedAt: number;
      readonly durationMs: number;
      /**
       * `network`: no HTTP answer (refused, reset, timeout) — counts towards taking the endpoint out;
       * `http`: the server answered with a non-2xx status (up, but no metrics there).
       */
      readonly kind: 'network' | 'http';
      readonly error: string;
    };

export interface ScraperOptions {
  /** Mean time between two fetches of one target, ms (default 50). */
  intervalMs?: number;
  /** Per-fetch timeout, ms (default 1000). */
  timeoutMs?: number;
  /** Each wait is drawn uniformly in interval × [1 − jitter, 1 + jitter] (default 0.2). */
  jitter?: number;
  rng: Rng;
}

interface Loop {
  target: ScrapeTarget;
  client: Pool;
  timer: NodeJS.Timeout | undefined;
  inFlight: boolean;
  stopped: boolean;
  path: string;
}

export class MetricsScraper {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private readonly jitter: number;
  private readonly rng: Rng;
  private readonly loops = new Map<string, Loop>();
  private closed = false;

  constructor(opts: ScraperOptions) {
    this.intervalMs = opts.intervalMs ?? 50;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.jitter = Math.min(Math.max(opts.jitter ?? 0.2, 0), 1);
    this.rng = opts.rng;
    if (!(this.intervalMs > 0)) throw new RangeError('scrape interval must be > 0 ms');
    if (!(this.timeoutMs > 0)) throw new RangeError('scrape timeout must be > 0 ms');
  }

  /** Starts scraping a target (the first fetch goes out within one interval, at a random offset). */
  add(target: ScrapeTarget): void {
    if (this.closed) return;
    this.remove(target.id);
    const loop: Loop = {
      target,
      client: new Pool(target.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 10_000 }),
      timer: undefined,
      inFlight: false,
      stopped: false,
      path: target.mapping.metricsPath,
    };
    this.loops.set(target.id, loop);
    this.schedule(loop, this.rng.next() * this.intervalMs);
  }

  has(id: string): boolean {
    return this.loops.has(id);
  }

  /** Fetches a target now, outside its timer (used on first sight of an endpoint and by tests). */
  scrapeNow(id: string): Promise<void> {
    const loop = this.loops.get(id);
    return loop ? this.fetch(loop) : Promise.resolve();
  }

  remove(id: string): void {
    const loop = this.loops.get(id);
    if (!loop) return;
    this.loops.delete(id);
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    void loop.client.destroy().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(
      loops.map((l) => {
        l.stopped = true;
        if (l.timer) clearTimeout(l.timer);
        return l.client.destroy().catch(() => {});
      }),
    );
  }

  private schedule(loop: Loop, delayMs: number): void {
    if (loop.stopped) return;
    loop.timer = setTimeout(() => {
      loop.timer = undefined;
      void this.fetch(loop).finally(() => {
        const spread = 1 + this.jitter * (2 * this.rng.next() - 1);
        this.schedule(loop, this.intervalMs * spread);
      });
    }, delayMs);
    loop.timer.unref();
  }

  private async fetch(loop: Loop): Promise<void> {
    if (loop.inFlight || loop.stopped) return;
    loop.inFlight = true;
    const { target } = loop;
    const startedAt = performance.now();
    target.onStart?.(startedAt);
    let result: ScrapeResult;
    try {
      const res = await loop.client.request({
        path: loop.path,
        method: 'GET',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'text/plain' },
      });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        result = {
          ok: false,
          startedAt,
          durationMs: performance.now() - startedAt,
          kind: 'http',
          error: `HTTP ${res.statusCode}`,
        };
      } else {
        const text = await res.body.text();
        const metrics = target.mapping.map(parseSelectedSamples(text, target.mapping.sampleNames));
        result = { ok: true, startedAt, durationMs: performance.now() - startedAt, metrics };
      }
    } catch (err) {
      result = {
        ok: false,
        startedAt,
        durationMs: performance.now() - startedAt,
        kind: 'network',
        error: describeError(err),
      };
    }
    loop.inFlight = false;
    if (!loop.stopped) target.onResult(result);
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
    return typeof code === 'string' ? code : err.message;
  }
  return String(err);
}
