/**
 * Upstream endpoints (`address:port`) as the gateway sees them: one undici connection pool each
 * (keep-alive, no pipelining), the gateway's in-flight count, and passive outlier state. Endpoints
 * live in an UpstreamEndpointTable that outlives plan reloads, so counts and connections survive a reload.
 */
import { Pool } from 'undici';

/** Connection pool settings per endpoint. */
const POOL_OPTIONS = {
  connections: null, // unlimited: one connection per concurrent request (LLM streams are long)
  pipelining: 1, // no pipelining: a slow stream must not hold up the next request
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 60_000,
  connect: { timeout: 10_000 },
} as const;

export class UpstreamEndpoint {
  /** `address:port` (IPv6 addresses bracketed), the value of `x-gateway-destination-endpoint`. */
  readonly id: string;
  readonly origin: string;
  /** Requests (primary and mirror) this gateway has open to the endpoint now. */
  inFlight = 0;
  /** Outlier detection: consecutive 5xx / connect failures. */
  consecutiveFailures = 0;
  /** performance.now() until which the endpoint is ejected (0 = not ejected). */
  ejectedUntil = 0;
  /** How many times it was ejected (the ejection time grows with it). */
  ejections = 0;
  lastEjectedAt = 0;
  private pool: Pool | undefined;

  constructor(
    readonly address: string,
    readonly port: number,
  ) {
    this.id = endpointId(address, port);
    this.origin = `http://${this.id}`;
  }

  /** The connection pool, created on first use. */
  dispatcher(): Pool {
    if (this.pool === undefined) this.pool = new Pool(this.origin, POOL_OPTIONS);
    return this.pool;
  }

  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.close().catch(() => undefined);
  }

  /** Closes connections at once (drain deadline passed). */
  async destroy(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.destroy().catch(() => undefined);
  }
}

/** `address:port`, IPv6 addresses bracketed. */
export function endpointId(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class UpstreamEndpointTable {
  private readonly byId = new Map<string, UpstreamEndpoint>();

  get(address: string, port: number): UpstreamEndpoint {
    const id = endpointId(address, port);
    let ep = this.byId.get(id);
    if (ep === undefined) {
      ep = new UpstreamEndpoint(address, port);
      this.byId.set(id, ep);
    }
    return ep;
  }

  /** Closes and forgets idle endpoints whose id is not in `keep` (after a reload). */
  prune(keep: ReadonlySet<string>): void {
    for (const [id, ep] of this.byId) {
      if (!keep.has(id) && ep.inFlight === 0) {
        this.byId.delete(id);
        void ep.close();
      }
    }
  }

  async closeAll(force = false): Promise<void> {
    const all = [...this.byId.values()];
    this.byId.clear();
    await Promise.all(all.map((ep) => (force ? ep.destroy() : ep.close())));
  }
}
