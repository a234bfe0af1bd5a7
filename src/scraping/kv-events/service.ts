/**
 * KV-event subscriptions of the gateway: per pool (and index parameters) one KvEventHub — an index
 * of the pool's cached blocks plus one EndpointSubscriber per endpoint, created on first sight of
 * the endpoint and closed when it leaves. The KvEventsService owns the hubs and their Prometheus
 * series; the scheduler registry creates it, the precise prefix-cache scorer asks it for its hub.
 *
 * Where an endpoint publishes: `tcp://<pod address>:<socketPort>` (and `replayPort` for replays),
 * unless the Pod carries the labels `infergate.io/kv-events-port` /
 * `infergate.io/kv-events-replay-port` (the simulator's replicas share one address).
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { KvBlockIndex } from './block-index.js';
import type { KvEventBatch } from './decode.js';
import { EndpointSubscriber, type RecoveryKind } from './subscriber.js';

export const KV_EVENTS_PORT_LABEL = 'infergate.io/kv-events-port';
export const KV_REPLAY_PORT_LABEL = 'infergate.io/kv-events-replay-port';

export interface KvHubParams {
  /** Port of the engines' PUB socket (vLLM's default endpoint tcp://*:5557). */
  readonly socketPort: number;
  /** Port of their replay ROUTER, or null when they have none. */
  readonly replayPort: number | null;
  /** Topic prefix subscribed to ("" = every topic; llm-d's engines publish `kv@<pod>@<model>`). */
  readonly topicFilter: string;
  /** Tokens per block of the index. */
  readonly blockSize: number;
  readonly maxBlocksPerEndpoint: number;
  /** Replay wait before resynchronising, ms. */
  readonly replayTimeoutMs: number;
}

/** How an endpoint's blocks are known. `live`: from its events; anything else: not (fallback). */
export type KvEndpointStatus = 'live' | 'waiting' | 'disconnected' | 'incompatible' | 'unknown';

/** What a hub needs of an endpoint besides its id (`address:port`). */
export interface KvEndpointRef {
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

function portLabel(labels: Readonly<Record<string, string>>, name: string): number | undefined {
  const v = labels[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

function tcp(address: string, port: number): string {
  return address.includes(':') ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`;
}

interface Series {
  batches: Counter<'pool' | 'endpoint'>;
  recoveries: Counter<'pool' | 'endpoint' | 'kind'>;
  decodeErrors: Counter<'pool' | 'endpoint'>;
  fallbacks: Counter<'pool' | 'endpoint'>;
}

class EndpointFeed {
  incompatible = false;
  fallbackChild: { inc(): void } | undefined;
  constructor(readonly sub: EndpointSubscriber) {}
}

export class KvEventHub {
  readonly index: KvBlockIndex;
  private readonly feeds = new Map<string, EndpointFeed>();
  private closed = false;

  constructor(
    readonly poolKey: string,
    readonly params: KvHubParams,
    private readonly logger: Logger,
    private readonly series: Series | undefined,
  ) {
    this.index = new KvBlockIndex({
      blockSize: params.blockSize,
      maxBlocksPerEndpoint: params.maxBlocksPerEndpoint,
    });
  }

  /** Blocks in the index (the router sums `size` of shared plugin state). */
  get size(): number {
    return this.index.size;
  }

  /** Subscribes to the endpoint's events unless already subscribed. Cheap when it is. */
  ensure(id: string, ep: KvEndpointRef): void {
    if (this.closed || this.feeds.has(id)) return;
    const p = this.params;
    const port = portLabel(ep.labels, KV_EVENTS_PORT_LABEL) ?? p.socketPort;
    const replay = portLabel(ep.labels, KV_REPLAY_PORT_LABEL) ?? p.replayPort;
    const labels = { pool: this.poolKey, endpoint: id };
    const s = this.series;
    const feed: EndpointFeed = new EndpointFeed(
      new EndpointSubscriber(
        {
          endpoint: tcp(ep.address, port),
          replayEndpoint: replay === null ? null : tcp(ep.address, replay),
          topicFilter: p.topicFilter,
          replayTimeoutMs: p.replayTimeoutMs,
          logger: this.logger,
        },
        {
          batch: (b) => {
            this.apply(id, feed, b);
            s?.batches.inc(labels);
          },
          reset: () => this.index.cleared(id),
          recovered: (kind: RecoveryKind) => s?.recoveries.inc({ ...labels, kind }),
          decodeError: (message) => {
            s?.decodeErrors.inc(labels);
            this.logger.warn(
              { pool: this.poolKey, endpoint: id, err: message },
              'undecodable KV event batch',
            );
          },
        },
      ),
    );
    feed.fallbackChild = s?.fallbacks.labels(labels);
    this.feeds.set(id, feed);
    feed.sub.start();
  }

  status(id: string): KvEndpointStatus {
    const f = this.feeds.get(id);
    if (!f) return 'unknown';
    if (f.incompatible) return 'incompatible';
    const st = f.sub.status;
    return st === 'closed' ? 'unknown' : st;
  }

  /** True when at least one subscribed endpoint's events are live (its blocks are indexed). */
  anyLive(): boolean {
    for (const f of this.feeds.values()) if (!f.incompatible && f.sub.status === 'live') return true;
    return false;
  }

  /** The scorer used the approximate fallback for this endpoint once. */
  countFallback(id: string): void {
    this.feeds.get(id)?.fallbackChild?.inc();
  }

  /** Applies a batch as if received from endpoint `id` (the subscriber's path; also for tests). */
  applyBatch(id: string, batch: KvEventBatch): void {
    this.apply(id, this.feeds.get(id), batch);
  }

  removeEndpoint(id: string): void {
    const f = this.feeds.get(id);
    if (f) {
      f.sub.close();
      this.feeds.delete(id);
      const s = this.series;
      if (s) {
        const labels = { pool: this.poolKey, endpoint: id };
        s.batches.remove(labels);
        s.decodeErrors.remove(labels);
        s.fallbacks.remove(labels);
        for (const kind of ['replay', 'resync', 'restart', 'reconnect'])
          s.recoveries.remove({ ...labels, kind });
      }
    }
    this.index.removeEndpoint(id);
  }

  /** Endpoints subscribed to, with their status (for the gauges and tests). */
  statuses(): [string, KvEndpointStatus][] {
    return [...this.feeds.keys()].map((id) => [id, this.status(id)]);
  }

  close(): void {
    this.closed = true;
    for (const f of this.feeds.values()) f.sub.close();
    this.feeds.clear();
  }

  private apply(id: string, feed: EndpointFeed | undefined, batch: KvEventBatch): void {
    const index = this.index;
    for (const ev of batch.events) {
      if (ev.kind === 'stored') {
        if (index.stored(id, ev) === 'incompatible' && feed && !feed.incompatible) {
          feed.incompatible = true;
          this.logger.warn(
            { pool: this.poolKey, endpoint: id, engineBlockSize: ev.blockSize, blockSize: index.blockSize },
            'engine block size is not a multiple of the index block size: scoring this endpoint approximately',
          );
        }
      } else if (ev.kind === 'removed') index.removed(id, ev.blockHashes);
      else index.cleared(id);
    }
  }
}

/** The gateway's KV-event hubs, one per pool and parameter set, and their metrics. */
export class KvEventsService {
  private readonly hubs = new Map<string, KvEventHub>();
  private readonly series: Series | undefined;

  constructor(
    private readonly logger: Logger,
    registry?: Registry,
  ) {
    if (!registry) return;
    const registers = [registry];
    const hubs = this.hubs;
    this.series = {
      batches: new Counter({
        name: 'infergate_kv_events_batches_total',
        help: 'KV event batches applied to the pool index, by endpoint (live and replayed).',
        labelNames: ['pool', 'endpoint'],
        registers,
      }),
      recoveries: new Counter({
        name: 'infergate_kv_events_recoveries_total',
        help:
          'Sequence gaps repaired by replay (replay), endpoints cleared after an unrepaired gap (resync), ' +
          'a sequence starting over (restart) or a dropped connection (reconnect).',
        labelNames: ['pool', 'endpoint', 'kind'],
        registers,
      }),
      decodeErrors: new Counter({
        name: 'infergate_kv_events_decode_errors_total',
        help: 'KV event messages that could not be decoded.',
        labelNames: ['pool', 'endpoint'],
        registers,
      }),
      fallbacks: new Counter({
        name: 'infergate_precise_prefix_fallback_total',
        help: 'Scorings of an endpoint by the approximate prefix index because its KV events are not live.',
        labelNames: ['pool', 'endpoint'],
        registers,
      }),
    };
    new Gauge({
      name: 'infergate_kv_events_publishing',
      help: '1 when the endpoint publishes KV events the precise prefix scorer uses, 0 when it is scored approximately.',
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        this.reset();
        for (const hub of hubs.values())
          for (const [id, st] of hub.statuses())
            this.set({ pool: hub.poolKey, endpoint: id }, st === 'live' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'infergate_kv_index_blocks',
      help: 'Distinct token blocks in the pool KV-event index.',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const hub of hubs.values()) this.inc({ pool: hub.poolKey }, hub.size);
      },
    });
  }

  /** The pool's hub for these parameters, created on first use. */
  hub(poolKey: string, params: KvHubParams): KvEventHub {
    const key = `${poolKey}\u0000${JSON.stringify(params)}`;
    let h = this.hubs.get(key);
    if (!h) {
      h = new KvEventHub(poolKey, params, this.logger, this.series);
      this.hubs.set(key, h);
    }
    return h;
  }

  close(): void {
    for (const h of this.hubs.values()) h.close();
    this.hubs.clear();
  }
}
