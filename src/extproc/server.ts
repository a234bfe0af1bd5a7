/**
 * The `epp` front door: an Envoy ext_proc server (`envoy.service.ext_proc.v3.ExternalProcessor`)
 * that picks an endpoint of one InferencePool with the same PoolRouter as `serve`, plus the ports
 * the reference picker has: gRPC health (services `liveness`, `readiness` and the ExternalProcessor
 * name; also answered on the ext_proc port, where Envoy's cluster health check asks) and Prometheus.
 *
 * Owns the gRPC servers and the metrics HTTP server. The pool routers and the Prometheus registry
 * are the composition root's (src/app/epp.ts): it syncs the routers with each plan, then calls
 * `apply(plan)` here.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Plan } from '../config/plan.js';
import type { PoolRouter, PoolRouterRegistry } from '../requestcontrol/types.js';
import { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import {
  EXT_PROC_SERVICE,
  extProcService,
  type ProcessingRequest,
  type ProcessingResponse,
} from './proto.js';
import { ExtProcStream, type StreamContext } from './stream.js';

export interface EppOptions {
  /** Pool key `namespace/name` this picker serves. */
  poolKey: string;
  /** Bind address of every port. */
  host: string;
  /** ext_proc gRPC port (0: any free port). */
  grpcPort: number;
  /** gRPC health port (0: any free port; -1: only on the ext_proc port). */
  healthPort: number;
  /** Prometheus port (0: any free port; -1: none). */
  metricsPort: number;
  /** Largest request body buffered, bytes. */
  maxBodyBytes: number;
  /** See StreamContext.injectStreamUsage. */
  injectStreamUsage: boolean;
  /** See StreamContext.responseBodies (must match `envoy-config --response-bodies`). */
  responseBodies: 'always' | 'when-needed';
  /** See StreamContext.debugHeaders (default off). */
  debugHeaders: boolean;
  logger: Logger;
}

/** What the composition root gives the picker: the pool routers and the Prometheus registry. */
export interface EppDeps {
  pools: PoolRouterRegistry;
  registry: Registry;
}

export interface EppAddresses {
  grpc: string;
  health: string | undefined;
  metrics: string | undefined;
}

const LIVENESS = 'liveness';
const READINESS = 'readiness';

export class EppServer {
  private readonly registry: Registry;
  private readonly pools: PoolRouterRegistry;
  private readonly grpc = new Server();
  private readonly healthServer: Server | undefined;
  private readonly health = new HealthImplementation({ '': 'SERVING', [LIVENESS]: 'SERVING' });
  private readonly http: HttpServer | undefined;
  private readonly open = new Set<ExtProcStream>();
  private router: PoolRouter | undefined;
  private ready = false;
  private addrs: EppAddresses | undefined;
  /** Why /readyz says 503 before the first plan (set by `open`). */
  private notReadyReason: (() => string) | undefined;

  private constructor(
    private readonly opts: EppOptions,
    deps: EppDeps,
  ) {
    this.registry = deps.registry;
    this.pools = deps.pools;
    const metrics = new GatewayMetrics(this.registry);
    const served = new Counter({
      name: 'infergate_epp_served_endpoint_total',
      help: 'Responses by the endpoint the proxy reported as serving: the picked primary, another (a fallback), or none reported.',
      labelNames: ['pool', 'outcome'],
      registers: [this.registry],
    });
    const servedBy = {
      primary: served.labels(opts.poolKey, 'primary'),
      other: served.labels(opts.poolKey, 'fallback'),
      unreported: served.labels(opts.poolKey, 'unreported'),
    };
    const ctx: StreamContext = {
      router: () => this.router,
      poolKey: opts.poolKey,
      backendLabel: `InferencePool ${opts.poolKey}`,
      metrics,
      logger: opts.logger,
      maxBodyBytes: opts.maxBodyBytes,
      injectStreamUsage: opts.injectStreamUsage,
      responseBodies: opts.responseBodies,
      debugHeaders: opts.debugHeaders,
      open: this.open,
      served: (outcome) => servedBy[outcome].inc(),
    };
    this.grpc.addService(extProcService(), {
      Process: (call: ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
        new ExtProcStream(ctx, call);
      },
    });
    this.health.addToServer(this.grpc);
    if (opts.healthPort >= 0) {
      this.healthServer = new Server();
      this.health.addToServer(this.healthServer);
    }
    if (opts.metricsPort >= 0) this.http = createServer(this.onHttp);
    this.setReady(false);
  }

  /**
   * Serves `plan` (the routers already synced with it) and binds every port. Throws when the pool is
   * not in the plan or a port is taken.
   */
  static async start(plan: Plan, opts: EppOptions, deps: EppDeps): Promise<EppServer> {
    const server = new EppServer(opts, deps);
    try {
      server.apply(plan);
      await server.bind();
    } catch (err) {
      await server.close(0);
      throw err;
    }
    return server;
  }

  /**
   * Binds every port before there is a plan (a cluster still being listed, a pool not created yet):
   * /healthz answers, /readyz answers 503 with `notReadyReason()`, gRPC health says NOT_SERVING and
   * ext_proc streams get 503 until `apply` serves a plan with the pool. Throws when a port is taken.
   */
  static async open(opts: EppOptions, deps: EppDeps, notReadyReason: () => string): Promise<EppServer> {
    const server = new EppServer(opts, deps);
    server.notReadyReason = notReadyReason;
    try {
      await server.bind();
    } catch (err) {
      await server.close(0);
      throw err;
    }
    return server;
  }

  private async bind(): Promise<void> {
    const opts = this.opts;
    const grpcPort = await bindGrpc(this.grpc, opts.host, opts.grpcPort);
    const healthPort =
      this.healthServer !== undefined
        ? await bindGrpc(this.healthServer, opts.host, opts.healthPort)
        : undefined;
    const metricsPort =
      this.http !== undefined ? await listen(this.http, opts.host, opts.metricsPort) : undefined;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    this.addrs = {
      grpc: `${host}:${grpcPort}`,
      health: healthPort !== undefined ? `${host}:${healthPort}` : undefined,
      metrics: metricsPort !== undefined ? `http://${host}:${metricsPort}` : undefined,
    };
  }

  get addresses(): EppAddresses {
    return this.addrs!;
  }

  /** Serves a new plan (a reload), the routers already synced with it. The pool must still be in it. */
  apply(plan: Plan): void {
    if (!plan.pools.has(this.opts.poolKey)) {
      const known = [...plan.pools.keys()];
      throw new Error(
        `InferencePool ${this.opts.poolKey} is not in the manifests` +
          (known.length > 0 ? ` (pools: ${known.join(', ')})` : ' (they declare no InferencePool)'),
      );
    }
    this.router = this.pools.get(this.opts.poolKey);
    this.setReady(this.router !== undefined);
  }

  /**
   * Stops: not ready at once, no new streams; streams still open after `graceMs` are ended (Envoy
   * then applies the filter's failure mode to them).
   */
  async close(graceMs: number): Promise<void> {
    this.setReady(false);
    this.health.setStatus(LIVENESS, 'NOT_SERVING');
    const deadline = Date.now() + graceMs;
    while (this.open.size > 0 && Date.now() < deadline) await sleep(50);
    for (const s of [...this.open]) s.close();
    await Promise.all([
      shutdownGrpc(this.grpc),
      this.healthServer !== undefined ? shutdownGrpc(this.healthServer) : undefined,
      this.http !== undefined ? closeHttp(this.http) : undefined,
    ]);
  }

  private setReady(ready: boolean): void {
    this.ready = ready;
    const s = ready ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus(READINESS, s);
    this.health.setStatus(EXT_PROC_SERVICE, s);
  }

  private readonly onHttp = (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    if (path === '/readyz') {
      res.writeHead(this.ready ? 200 : 503, { 'content-type': 'text/plain' });
      const why = this.router === undefined ? this.notReadyReason?.() : undefined;
      res.end(this.ready ? 'ready\n' : `not ready${why ? `: ${why}` : ''}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics, /healthz, /readyz\n');
  };
}

function bindGrpc(server: Server, host: string, port: number): Promise<number> {
  const h = host.includes(':') ? `[${host}]` : host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${h}:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${h}:${port}: ${err.message}`));
      else resolve(bound);
    });
  });
}

function shutdownGrpc(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
