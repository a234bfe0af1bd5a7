/**
 * The admin port: Prometheus metrics and health for orchestrators, the live page and summaries for
 * people.
 *   GET /                 the live page; /admin/snapshot its data, /admin/decisions the decision
 *                         ring (src/admin/page-routes.ts)
 *   GET /metrics          Prometheus text (the gateway's and the pool routers' metrics)
 *   GET /healthz          200 while the process runs
 *   GET /readyz           200 once a plan is served; 503 before that and while draining
 *   GET /admin/mirrors    primary-vs-mirror comparisons (JSON; `?format=text` for one line each)
 *   GET /admin/plan       what is being served: listeners with their actual ports, routes, backends
 * With a token, every request must carry `Authorization: Bearer <token>` (else 401).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { MirrorSummary } from '../gateway/mirror-stats.js';
import { type LivePage, PAGE_PATHS } from './page-routes.js';

export interface AdminSource {
  readonly registry: Registry;
  /** undefined when ready; otherwise why not. */
  notReadyReason(): string | undefined;
  planSummary(): unknown;
  mirrorSummaries(): MirrorSummary[];
  /** The live page and its JSON endpoints, when served. */
  readonly page?: LivePage;
}

export class AdminServer {
  private readonly server: Server;

  private readonly token: Buffer | undefined;

  /** `token`: the bearer token required on every request (undefined: none). */
  constructor(
    private readonly source: AdminSource,
    token?: string,
  ) {
    this.token = token === undefined || token === '' ? undefined : Buffer.from(`Bearer ${token}`);
    this.server = createServer((req, res) => {
      if (!this.authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        json(res, 401, { error: 'unauthorized: send Authorization: Bearer <admin token>' });
        return;
      }
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: String(err) });
        else res.destroy();
      });
    });
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.token === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  close(): Promise<void> {
    this.source.page?.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'method not allowed' });
      return;
    }
    if (this.source.page && (await this.source.page.handle(url.pathname, url.searchParams, res))) return;
    switch (url.pathname) {
      case '/metrics': {
        const text = await this.source.registry.metrics();
        res.writeHead(200, { 'content-type': this.source.registry.contentType });
        res.end(text);
        return;
      }
      case '/healthz':
        text(res, 200, 'ok\n');
        return;
      case '/readyz': {
        const why = this.source.notReadyReason();
        text(res, why === undefined ? 200 : 503, why === undefined ? 'ready\n' : `not ready: ${why}\n`);
        return;
      }
      case '/admin/mirrors': {
        const mirrors = this.source.mirrorSummaries();
        if (url.searchParams.get('format') === 'text') {
          text(
            res,
            200,
            mirrors.length === 0
              ? 'no mirrors configured\n'
              : mirrors.map((m) => `${m.key}: ${m.text}\n`).join(''),
          );
        } else json(res, 200, { mirrors });
        return;
      }
      case '/admin/plan':
        json(res, 200, this.source.planSummary());
        return;
      default:
        json(res, 404, {
          error: `no such admin path ${url.pathname}`,
          paths: [
            ...(this.source.page ? PAGE_PATHS : []),
            '/metrics',
            '/healthz',
            '/readyz',
            '/admin/mirrors',
            '/admin/plan',
          ],
        });
    }
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
