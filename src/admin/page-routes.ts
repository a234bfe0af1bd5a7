/**
 * The live page's HTTP surface on the admin port (plain node:http; the admin server calls
 * `handle` before its own routes):
 *   GET /                  the page (src/admin/page/index.html; polls /admin/snapshot every second)
 *   GET /page/<file>       its script and style; uPlot's from node_modules (no CDN)
 *   GET /admin/snapshot    PageSnapshot JSON (snapshot.ts); a look starts the metrics sampler and
 *                          decision recording for their watch windows
 *   GET /admin/decisions   the decision ring, newest first (`?limit=N&pool=ns/name`)
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type { Plan } from '../config/plan.js';
import type { PoolView } from '../requestcontrol/types.js';
import type { DecisionRing } from '../telemetry/decision-ring.js';
import { MetricsWindow } from './metrics-window.js';
import { buildPageSnapshot, type PageSource, prefixCounterKeys } from './snapshot.js';

const PAGE_DIR = new URL('./page/', import.meta.url);

/** Files served under /page/: name → [where, content type]. */
function assetTable(): Map<string, [string | URL, string]> {
  const require = createRequire(import.meta.url);
  return new Map<string, [string | URL, string]>([
    ['/', [new URL('index.html', PAGE_DIR), 'text/html; charset=utf-8']],
    ['/page/app.js', [new URL('app.js', PAGE_DIR), 'text/javascript; charset=utf-8']],
    ['/page/style.css', [new URL('style.css', PAGE_DIR), 'text/css; charset=utf-8']],
    ['/page/uplot.js', [require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8']],
    ['/page/uplot.css', [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8']],
  ]);
}

export const PAGE_PATHS = ['/', '/admin/snapshot', '/admin/decisions'] as const;

export class LivePage {
  private readonly assets = assetTable();
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly source: PageSource) {}

  /** Answers a GET of the page's paths; false when `path` is not one of them. */
  async handle(path: string, query: URLSearchParams, res: ServerResponse): Promise<boolean> {
    const asset = this.assets.get(path);
    if (asset !== undefined) {
      const body = await this.read(path, asset[0]);
      res.writeHead(200, {
        'content-type': asset[1],
        'content-length': body.length,
        'cache-control': 'no-cache',
      });
      res.end(body);
      return true;
    }
    if (path === '/admin/snapshot') {
      this.source.decisions.watch();
      await this.source.window.watch();
      json(res, buildPageSnapshot(this.source));
      return true;
    }
    if (path === '/admin/decisions') {
      const ring = this.source.decisions;
      ring.watch();
      const limit = Number(query.get('limit') ?? ring.capacity);
      const pool = query.get('pool') ?? undefined;
      json(res, {
        recording: ring.recording,
        always: ring.always,
        capacity: ring.capacity,
        decisions: ring.recent(Number.isInteger(limit) && limit > 0 ? limit : ring.capacity, pool),
      });
      return true;
    }
    return false;
  }

  /** Stops the sampler and the decision watch timer. */
  close(): void {
    this.source.window.stop();
    this.source.decisions.close();
  }

  private async read(path: string, where: string | URL): Promise<Buffer> {
    let body = this.cache.get(path);
    if (body === undefined) {
      body = await readFile(where);
      this.cache.set(path, body);
    }
    return body;
  }
}

function json(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** What the composition root hands the page (everything read-only). */
export interface LivePageDeps {
  readonly registry: Registry;
  readonly decisions: DecisionRing;
  plan(): Plan | undefined;
  planSummary(): unknown;
  pools(): readonly PoolView[];
  mirrors(): readonly unknown[];
}

/** The live page over a process's registry, plan, pools, mirrors and decision ring. */
export function createLivePage(d: LivePageDeps): LivePage {
  const window = new MetricsWindow({
    registry: d.registry,
    // The replicas' own prefix-cache counters, so the page can show a recent hit rate per endpoint.
    extra: () => {
      const out = new Map<string, number>();
      for (const p of d.pools()) {
        for (const e of p.endpoints) {
          const m = e.metrics;
          if (m?.prefixCacheQueries === undefined || m.prefixCacheHits === undefined) continue;
          const k = prefixCounterKeys(e.id);
          out.set(k.queries, m.prefixCacheQueries);
          out.set(k.hits, m.prefixCacheHits);
        }
      }
      return out;
    },
  });
  return new LivePage({
    plan: d.plan,
    planSummary: d.planSummary,
    pools: d.pools,
    mirrors: d.mirrors,
    decisions: d.decisions,
    window,
  });
}
