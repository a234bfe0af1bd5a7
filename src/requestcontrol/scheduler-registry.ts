/**
 * The PoolRouterRegistry the gateway uses (src/pool/types.ts): one InferencePoolRouter per pool, one
 * EndpointState per distinct endpoint (shared by the pools that select it, so its load is counted
 * once), one scrape loop per endpoint. `sync(plan)` is called on every (re)load and keeps everything
 * that survives: endpoint metrics and in-flight counts, the pools' prefix indexes, their queues.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EndpointAddress, PickerConfigPlan, Plan, PoolPlan } from '../config/plan.js';
import { EndpointState } from '../datastore/endpoint-state.js';
import type { UnknownModelPolicy } from '../datastore/objectives.js';
import {
  DEFAULT_SETTLE_MIN_TOKENS,
  DEFAULT_SETTLE_WINDOW_MS,
  type PeerLoadOptions,
  PeerLoadShare,
} from '../datastore/peer-load.js';
import { BUILT_IN_PICKER_CONFIGS } from '../scheduling/profiles.js';
import { DEFAULT_SATURATION, type SaturationConfig } from '../scheduling/saturation.js';
import { metricsPortOf, resolveEngine } from '../scraping/engines.js';
import { KvEventsService } from '../scraping/kv-events/service.js';
import { MetricsScraper, type ScrapeResult } from '../scraping/scraper.js';
import type { DecisionRing } from '../telemetry/decision-ring.js';
import { type Rng, SeededRng } from '../util/rng.js';
import { InferencePoolRouter } from './router.js';
import { SchedulerMetrics } from './scheduler-telemetry.js';
import type { Endpoint, EndpointView, PoolRouterRegistry, PoolView } from './types.js';

export interface SchedulerRegistryOptions {
  /** The gateway's process Registry: the scheduler's metrics are registered there. */
  metrics: Registry;
  logger: Logger;
  /** Seeded RNG for tie-breaks, weighted draws and scrape jitter (default: seeded from the clock). */
  rng?: Rng;
  /** Mean time between two scrapes of one endpoint, ms (default 50). */
  scrapeIntervalMs?: number;
  /** Per-scrape timeout, ms (default 1000). */
  scrapeTimeoutMs?: number;
  /** False: no scraping at all (metrics-blind routing on this gateway's own counts). Default true. */
  scrape?: boolean;
  /** Consecutive failed scrapes (no HTTP answer) that take an endpoint out of rotation (default 3). */
  unhealthyAfter?: number;
  /**
   * Flow control: while every endpoint of a pool is saturated, hold non-sheddable requests in the
   * pool's gateway queue (priority, then arrival) instead of passing them to the model servers'
   * own queues. Default false, as the reference (its flow control is opt-in): holding at the gateway
   * on a KV-cache threshold idles capacity the servers would have used (docs/results.md).
   */
  flowControl?: boolean;
  /** Requests that may wait per pool while every endpoint is saturated, with flowControl (default 1000). */
  queueSize?: number;
  /** How long one may wait, ms (default 30,000), then 429 QUEUE_TIMEOUT. */
  queueTimeoutMs?: number;
  /** Fallback endpoints appended to each decision for retries (default 2). */
  fallbacks?: number;
  /** Unknown models: pass through (default) or 404, unless the pool's annotation says otherwise. */
  unknownModels?: UnknownModelPolicy;
  /**
   * Overrides every pool's picker config: a built-in name (`default`, `prefix-cache`, `round-robin`,
   * `least-request`) or a config. For benchmark baselines (`serve --scheduler round-robin`).
   */
  strategy?: string | PickerConfigPlan;
  /** Saturation thresholds for pools whose profile has no saturation-filter (default: reference). */
  saturation?: Partial<SaturationConfig>;
  /** Time every plugin call into `infergate_scheduler_plugin_duration_seconds` (default false). */
  pluginTimings?: boolean;
  /**
   * A decision counts on its primary endpoint as soon as it is taken; if the gateway never calls
   * onDispatch (client gone before sending), the count is given back after this long, ms (default 10,000).
   */
  reservationTtlMs?: number;
  /** Where sampled decisions are recorded ("why this endpoint"); none by default. */
  decisions?: DecisionRing;
  /**
   * Share per-endpoint load with peer gateways (src/datastore/peer-load.ts): this gateway publishes
   * its own counts on `listen` and adds those of `peers`. Off by default.
   */
  peerLoad?: PeerLoadOptions;
}

export interface SchedulerRegistry extends PoolRouterRegistry {
  get(poolKey: string): InferencePoolRouter | undefined;
  /** The shared state of an endpoint (`address:port`), if some pool selects it. */
  endpointState(id: string): EndpointState | undefined;
  /** Fetches every endpoint's metrics now (tests; also done on first sight of an endpoint). */
  scrapeAll(): Promise<void>;
}

/** `address:port`, with IPv6 addresses bracketed. */
export function endpointId(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function createSchedulerRegistry(opts: SchedulerRegistryOptions): SchedulerRegistry {
  return new PoolRegistry(opts);
}

class PoolRegistry implements SchedulerRegistry {
  private readonly routers = new Map<string, InferencePoolRouter>();
  private readonly states = new Map<string, EndpointState>();
  private readonly routersOf = new Map<string, InferencePoolRouter[]>();
  private readonly metricsOrigin = new Map<string, string>();
  private readonly scraper: MetricsScraper | undefined;
  private readonly metrics: SchedulerMetrics;
  private readonly logger: Logger;
  private readonly rng: Rng;
  private readonly unhealthyAfter: number;
  private readonly routerOpts: ConstructorParameters<typeof InferencePoolRouter>[2];
  private readonly warnedEngines = new Set<string>();
  private readonly kvEvents: KvEventsService | undefined;
  private readonly peerLoad: PeerLoadShare | undefined;

  constructor(opts: SchedulerRegistryOptions) {
    this.logger = opts.logger;
    this.rng = opts.rng ?? new SeededRng(Date.now() >>> 0);
    this.unhealthyAfter = Math.max(1, opts.unhealthyAfter ?? 3);
    this.metrics = new SchedulerMetrics(opts.metrics, () => this.routers.values());
    this.scraper =
      opts.scrape === false
        ? undefined
        : new MetricsScraper({
            intervalMs: opts.scrapeIntervalMs ?? 50,
            timeoutMs: opts.scrapeTimeoutMs ?? 1000,
            rng: this.rng,
          });
    // KV events are read from the same endpoints the scraper reads; no scraping, no connections
    this.kvEvents = opts.scrape === false ? undefined : new KvEventsService(this.logger, opts.metrics);
    const states = this.states;
    this.peerLoad = opts.peerLoad
      ? new PeerLoadShare(
          opts.peerLoad,
          { get: (id) => states.get(id), all: () => states.values() },
          this.logger,
          opts.metrics,
        )
      : undefined;
    let forcedConfig: PickerConfigPlan | undefined;
    if (typeof opts.strategy === 'string') {
      forcedConfig = BUILT_IN_PICKER_CONFIGS.get(opts.strategy);
      if (!forcedConfig) {
        throw new RangeError(
          `unknown scheduler strategy "${opts.strategy}" (known: ${[...BUILT_IN_PICKER_CONFIGS.keys()].join(', ')})`,
        );
      }
    } else forcedConfig = opts.strategy;
    this.routerOpts = {
      logger: this.logger,
      rng: this.rng,
      metrics: this.metrics,
      saturation: { ...DEFAULT_SATURATION, ...opts.saturation },
      flowControl: opts.flowControl ?? false,
      queueSize: opts.queueSize ?? 1000,
      queueTimeoutMs: opts.queueTimeoutMs ?? 30_000,
      fallbacks: opts.fallbacks ?? 2,
      unknownModels: opts.unknownModels ?? 'passthrough',
      forcedConfig,
      pluginTimings: opts.pluginTimings ?? false,
      reservationTtlMs: opts.reservationTtlMs ?? 10_000,
      decisions: opts.decisions,
      kvEvents: this.kvEvents,
      ...(this.peerLoad && opts.peerLoad
        ? {
            settle: {
              self: this.peerLoad.id,
              windowMs: opts.peerLoad.settleWindowMs ?? DEFAULT_SETTLE_WINDOW_MS,
              minTokens: opts.peerLoad.settleMinTokens ?? DEFAULT_SETTLE_MIN_TOKENS,
            },
          }
        : {}),
    };
  }

  sync(plan: Plan): void {
    this.syncPools(plan, (router, pool, states) => router.update(pool, states));
  }

  updateEndpoints(plan: Plan): void {
    this.syncPools(plan, (router, pool, states) => router.setEndpoints(pool, states));
  }

  /** Creates, updates (`update` on a kept router) and removes routers, and the endpoint states they share. */
  private syncPools(
    plan: Plan,
    update: (router: InferencePoolRouter, pool: PoolPlan, states: EndpointState[]) => void,
  ): void {
    const used = new Set<string>();
    const routersOf = new Map<string, InferencePoolRouter[]>();
    for (const [key, pool] of plan.pools) {
      const states: EndpointState[] = [];
      for (const addr of pool.endpoints) {
        const state = this.stateFor(addr, pool);
        if (states.includes(state)) continue;
        states.push(state);
        used.add(state.id);
      }
      let router = this.routers.get(key);
      if (router) update(router, pool, states);
      else {
        router = new InferencePoolRouter(pool, states, this.routerOpts);
        this.routers.set(key, router);
      }
      for (const s of states) {
        const list = routersOf.get(s.id);
        if (list) list.push(router);
        else routersOf.set(s.id, [router]);
      }
    }
    for (const [key, router] of this.routers) {
      if (plan.pools.has(key)) continue;
      router.close();
      this.routers.delete(key);
    }
    for (const id of [...this.states.keys()]) {
      if (used.has(id)) continue;
      this.states.delete(id);
      this.metricsOrigin.delete(id);
      this.scraper?.remove(id);
    }
    this.routersOf.clear();
    for (const [id, list] of routersOf) this.routersOf.set(id, list);
  }

  get(poolKey: string): InferencePoolRouter | undefined {
    return this.routers.get(poolKey);
  }

  endpointState(id: string): EndpointState | undefined {
    return this.states.get(id);
  }

  views(): PoolView[] {
    const now = performance.now();
    const out: PoolView[] = [];
    for (const r of this.routers.values()) {
      const endpoints: EndpointView[] = r.endpoints.map((e) => ({
        id: e.id,
        podName: e.endpoint.podName,
        routable: e.routable,
        ready: e.ready,
        healthy: e.healthy,
        inflight: e.ownInflightRequests,
        peerInflight: e.peerInflightRequests,
        metrics: e.metrics,
        metricsAgeMs: e.metrics ? now - e.metricsAt : undefined,
        lastError: e.lastError,
        engine: e.engine.type,
      }));
      out.push({ key: r.key, queued: r.queueSize, endpoints });
    }
    return out;
  }

  async scrapeAll(): Promise<void> {
    const scraper = this.scraper;
    if (!scraper) return;
    await Promise.all([...this.states.keys()].map((id) => scraper.scrapeNow(id)));
  }

  async start(): Promise<void> {
    const share = this.peerLoad;
    if (!share) return;
    await share.start().catch((err: unknown) => {
      throw new Error(`cannot open the peer load socket ${share.listen}: ${(err as Error).message}`);
    });
    this.logger.info(
      { listen: share.boundEndpoint, peers: share.peerEndpoints },
      'sharing load with peer gateways',
    );
  }

  async close(): Promise<void> {
    for (const r of this.routers.values()) r.close();
    this.routers.clear();
    this.kvEvents?.close();
    await this.peerLoad?.close();
    await this.scraper?.close();
  }

  /** The shared state of an endpoint, created (and scraped) on first sight, updated on reload. */
  private stateFor(addr: EndpointAddress, pool: PoolPlan): EndpointState {
    const id = endpointId(addr.address, addr.port);
    const choice = resolveEngine(addr.labels, pool.annotations);
    if (choice.unknown !== undefined && !this.warnedEngines.has(`${id}=${choice.unknown}`)) {
      this.warnedEngines.add(`${id}=${choice.unknown}`);
      this.logger.warn(
        { endpoint: id, engineType: choice.unknown },
        'unknown inference.networking.k8s.io/engine-type; reading vLLM metric names',
      );
    }
    const endpoint: Endpoint = {
      id,
      address: addr.address,
      port: addr.port,
      labels: addr.labels,
      ...(addr.podName !== undefined ? { podName: addr.podName } : {}),
    };
    const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    const origin = `http://${host}:${metricsPortOf(addr.labels, addr.port)}`;
    let state = this.states.get(id);
    if (state) {
      state.endpoint = endpoint;
      state.ready = addr.ready;
      if (state.engine !== choice.mapping || this.metricsOrigin.get(id) !== origin) {
        state.engine = choice.mapping;
        this.startScraping(state, origin);
      }
      return state;
    }
    state = new EndpointState(endpoint, choice.mapping, addr.ready);
    this.states.set(id, state);
    const share = this.peerLoad;
    if (share) {
      state.onOwnLoad = (s) => share.changed(s);
      share.adopt(state);
    }
    this.startScraping(state, origin);
    return state;
  }

  private startScraping(state: EndpointState, origin: string): void {
    this.metricsOrigin.set(state.id, origin);
    const scraper = this.scraper;
    if (!scraper) return;
    scraper.add({
      id: state.id,
      origin,
      mapping: state.engine,
      onStart: () => state.beginScrape(),
      onResult: (r) => this.onScrape(state, r),
    });
    void scraper.scrapeNow(state.id);
  }

  private onScrape(state: EndpointState, r: ScrapeResult): void {
    const wasRoutable = state.routable;
    if (r.ok) state.applyScrape(r.metrics, r.startedAt);
    else if (r.kind === 'http') state.noMetrics(r.error);
    else if (state.failScrape(r.error, this.unhealthyAfter)) {
      this.logger.warn(
        { endpoint: state.id, error: r.error, failures: state.consecutiveFailures },
        'endpoint taken out of rotation: its metrics do not answer',
      );
    }
    if (!wasRoutable && state.routable && state.ready) {
      this.logger.info({ endpoint: state.id }, 'endpoint back in rotation');
    }
    const routers = this.routersOf.get(state.id);
    if (!routers) return;
    const changed = wasRoutable !== state.routable;
    for (const router of routers) {
      if (changed) router.endpointsChanged();
      else router.wake();
    }
  }
}
