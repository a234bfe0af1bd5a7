/**
 * Load shared between gateway replicas. Each replica knows at once what it dispatched itself, but
 * learns of its peers' dispatches only from the model servers' next metrics scrape (tens of ms
 * later); two replicas can meanwhile each send a long prompt to the same idle-looking endpoint.
 * With sharing, every replica publishes its own per-endpoint counts (requests in flight, their
 * prompt tokens, pending prefill tokens and requests) as they change, and adds the counts its
 * peers publish to its own (EndpointState.setPeerLoad): the scorers then see the requests of all
 * replicas, a millisecond after dispatch instead of a scrape later.
 *
 * Transport: a ZMQ PUB socket per replica (`listen`), and a SUB socket connected to every peer's.
 * Messages are one JSON frame after the topic frame `load`:
 *   { v: 1, from: <replica id>, full: boolean, eps: { "<address:port>": [inflight, inflightTokens,
 *     pendingTokens, pendingRequests, longClaims], … } }
 *   (longClaims, the replica's long-prefill decisions there not answered yet, is optional: a
 *   4-element entry from an older replica reads as 0)
 * - a change is published on the next turn of the event loop (changes of one turn coalesced), with
 *   absolute values, so a lost message is corrected by the next one for that endpoint;
 * - every `heartbeatMs` a full message lists every endpoint where the replica has load; an endpoint
 *   missing from a full message has none (so a lost zero is corrected within one heartbeat);
 * - a peer not heard from for `expireMs` (it stopped, crashed or is cut off) is forgotten: its
 *   counts leave every endpoint.
 * Counts for an endpoint this replica does not know (yet) are kept and applied when it appears.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Publisher, Subscriber } from 'zeromq';
import { closeBound } from '../util/zmq.js';
import type { EndpointState, PeerLoad } from './endpoint-state.js';

export interface PeerLoadOptions {
  /** ZMQ endpoint this replica publishes on, e.g. `tcp://0.0.0.0:9190`. */
  readonly listen: string;
  /** The peers' publish endpoints (this replica's own may be listed: it ignores itself). */
  readonly peers: readonly string[];
  /** Peers found at run time (e.g. the gateway's Pods in Kubernetes), in addition to `peers`. */
  readonly discovered?: PeerSource;
  /** Full snapshot period, ms (default 1000). */
  readonly heartbeatMs?: number;
  /** A peer silent this long is forgotten, ms (default 3 × heartbeat + 500). */
  readonly expireMs?: number;
  /**
   * How long a long-prefill decision is held for peers' claims before dispatch, ms (default 3; 0:
   * never), and from how many uncached prompt tokens (default 2048). The routers do the holding
   * (requestcontrol/router.ts, PeerSettle).
   */
  readonly settleWindowMs?: number;
  readonly settleMinTokens?: number;
}

export const DEFAULT_SETTLE_WINDOW_MS = 3;
export const DEFAULT_SETTLE_MIN_TOKENS = 2048;

/** A changing list of peer endpoints. */
export interface PeerSource {
  /** Calls `onPeers` with the current list (if known) and again with the whole list on each change. */
  watch(onPeers: (endpoints: readonly string[]) => void): void;
}

/** A PeerSource fed by whoever discovers peers (the CLI wires Kubernetes' Pod list into it). */
export class PeerList implements PeerSource {
  private current: readonly string[] | undefined;
  private readonly watchers: ((endpoints: readonly string[]) => void)[] = [];

  set(endpoints: readonly string[]): void {
    this.current = endpoints;
    for (const w of this.watchers) w(endpoints);
  }

  watch(onPeers: (endpoints: readonly string[]) => void): void {
    this.watchers.push(onPeers);
    if (this.current !== undefined) onPeers(this.current);
  }
}

/** Where the share finds endpoint states: one by id, and all of them (for full snapshots). */
export interface PeerLoadStates {
  get(id: string): EndpointState | undefined;
  all(): Iterable<EndpointState>;
}

const TOPIC = Buffer.from('load');
/** Bound on one received message; a full snapshot of 1,000 endpoints is ≈ 60 KB. */
const MAX_MESSAGE_BYTES = 1 << 20;
/** Bound on endpoints remembered per peer. */
const MAX_ENDPOINTS_PER_PEER = 10_000;
/** Bound on peers remembered at once. */
const MAX_PEERS = 256;
/** Largest count accepted in a message (anything larger is a broken peer). */
const MAX_COUNT = 1e12;

/** `tcp://host:port` (ZMQ syntax); throws a RangeError naming the flag otherwise. */
export function checkPeerEndpoint(flag: string, value: string): string {
  if (!/^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|\*):(\d{1,5}|\*)$/.test(value)) {
    throw new RangeError(`${flag} must look like tcp://host:port (got "${value}")`);
  }
  return value;
}

interface Peer {
  lastSeen: number;
  /** The counts it last sent, by endpoint id (only non-zero ones). */
  readonly loads: Map<string, PeerLoad>;
}

export class PeerLoadShare {
  /** This replica's id in messages (random per process: a restarted peer is a new peer). */
  readonly id = randomUUID();
  private readonly pub = new Publisher({ sendHighWaterMark: 10_000 });
  private readonly sub = new Subscriber({ maxMessageSize: MAX_MESSAGE_BYTES, receiveHighWaterMark: 10_000 });
  private readonly peers = new Map<string, Peer>();
  private readonly dirty = new Set<EndpointState>();
  /** Endpoints the subscriber is connected to. */
  private readonly connected = new Set<string>();
  private flushScheduled = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private sending: Promise<void> = Promise.resolve();
  private readonly heartbeatMs: number;
  private readonly expireMs: number;
  private readonly sent: Counter;
  private readonly received: Counter;
  private readonly rejected: Counter;
  /** The endpoint the publisher is bound to (resolved when `listen` used a wildcard port). */
  boundEndpoint: string | undefined;

  constructor(
    private readonly opts: PeerLoadOptions,
    private readonly states: PeerLoadStates,
    private readonly logger: Logger,
    metrics: Registry,
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.expireMs = opts.expireMs ?? 3 * this.heartbeatMs + 500;
    const registers = [metrics];
    this.sent = new Counter({
      name: 'infergate_peer_load_messages_sent_total',
      help: 'Load messages this gateway published to its peers.',
      registers,
    });
    this.received = new Counter({
      name: 'infergate_peer_load_messages_received_total',
      help: 'Load messages received from peer gateways.',
      registers,
    });
    this.rejected = new Counter({
      name: 'infergate_peer_load_messages_rejected_total',
      help: 'Messages from peer gateways that were not valid load messages (dropped).',
      registers,
    });
    const peers = this.peers;
    const connected = this.connected;
    new Gauge({
      name: 'infergate_peer_connections',
      help: 'Peer publish endpoints this gateway subscribes to (configured and discovered; its own when listed).',
      registers,
      collect() {
        this.set(connected.size);
      },
    });
    new Gauge({
      name: 'infergate_peer_gateways',
      help: 'Peer gateways heard from within the expiry time (their load counts are added to this one’s).',
      registers,
      collect() {
        this.set(peers.size);
      },
    });
  }

  /** Binds the publisher, connects to the peers, starts receiving and the heartbeat. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.pub.bind(this.opts.listen);
    this.boundEndpoint = this.pub.lastEndpoint ?? this.opts.listen;
    this.connectTo([]);
    this.opts.discovered?.watch((eps) => this.connectTo(eps));
    this.sub.subscribe(TOPIC.toString());
    void this.receive();
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Connects to the configured peers and `found`, and disconnects from any other. A peer cut off
   * this way stops being heard, and its counts go once it has been silent for the expiry time.
   */
  private connectTo(found: readonly string[]): void {
    if (this.closed) return;
    const want = new Set([...this.opts.peers, ...found]);
    for (const e of this.connected) {
      if (want.has(e)) continue;
      this.sub.disconnect(e);
      this.connected.delete(e);
    }
    for (const e of want) {
      if (this.connected.has(e)) continue;
      try {
        this.sub.connect(e);
        this.connected.add(e);
      } catch (err) {
        this.logger.warn({ peer: e, err: String(err) }, 'cannot connect to peer gateway');
      }
    }
  }

  /** An endpoint's own counts changed: published on the next turn of the event loop. */
  changed(state: EndpointState): void {
    if (this.closed) return;
    this.dirty.add(state);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** A new endpoint state appeared: counts peers already sent for it are applied. */
  adopt(state: EndpointState): void {
    for (const [id, peer] of this.peers) {
      const load = peer.loads.get(state.id);
      if (load) state.setPeerLoad(id, load);
    }
  }

  /** The configured publish endpoint. */
  get listen(): string {
    return this.opts.listen;
  }

  /** The configured peers. */
  get peerEndpoints(): readonly string[] {
    return this.opts.peers;
  }

  /** Peers currently heard from. */
  get peerCount(): number {
    return this.peers.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const id of [...this.peers.keys()]) this.forget(id);
    await this.sending.catch(() => undefined);
    this.sub.close();
    await closeBound(this.pub, this.boundEndpoint ?? null);
  }

  // ---- publishing ----------------------------------------------------------------------------

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.dirty.size === 0) return;
    const eps: Record<string, number[]> = {};
    for (const s of this.dirty) eps[s.id] = loadArray(s.ownLoad());
    this.dirty.clear();
    this.send(false, eps);
  }

  private beat(): void {
    const eps: Record<string, number[]> = {};
    for (const s of this.states.all()) {
      const load = s.ownLoad();
      if (!isZero(load)) eps[s.id] = loadArray(load);
    }
    this.send(true, eps);
    const now = performance.now();
    for (const [id, peer] of this.peers) {
      if (now - peer.lastSeen > this.expireMs) {
        this.logger.warn({ peer: id }, 'peer gateway silent: its load counts are dropped');
        this.forget(id);
      }
    }
  }

  private send(full: boolean, eps: Record<string, number[]>): void {
    const body = Buffer.from(JSON.stringify({ v: 1, from: this.id, full, eps }));
    // One send at a time (a ZMQ socket does not take concurrent sends); messages keep their order.
    this.sending = this.sending
      .then(() => (this.closed ? undefined : this.pub.send([TOPIC, body])))
      .then(
        () => {
          this.sent.inc();
        },
        (err: unknown) => {
          if (!this.closed) this.logger.warn({ err: String(err) }, 'peer load message not sent');
        },
      );
  }

  // ---- receiving ----------------------------------------------------------------------------

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        if (this.closed) return;
        const body = frames[1];
        const msg = body && frames.length === 2 ? parseMessage(body) : undefined;
        if (!msg) {
          this.rejected.inc();
          continue;
        }
        if (msg.from === this.id) continue;
        this.received.inc();
        this.apply(msg);
      }
    } catch (err) {
      if (!this.closed) this.logger.error({ err: String(err) }, 'peer load subscriber stopped');
    }
  }

  private apply(msg: LoadMessage): void {
    let peer = this.peers.get(msg.from);
    if (!peer) {
      if (this.peers.size >= MAX_PEERS) {
        this.rejected.inc();
        return;
      }
      peer = { lastSeen: 0, loads: new Map() };
      this.peers.set(msg.from, peer);
      this.logger.info({ peer: msg.from }, 'peer gateway heard: its load counts are added');
    }
    peer.lastSeen = performance.now();
    if (msg.full) {
      for (const id of [...peer.loads.keys()]) {
        if (!(id in msg.eps)) this.put(msg.from, peer, id, undefined);
      }
    }
    for (const [id, load] of Object.entries(msg.eps))
      this.put(msg.from, peer, id, isZero(load) ? undefined : load);
  }

  private put(peerId: string, peer: Peer, id: string, load: PeerLoad | undefined): void {
    if (load === undefined) peer.loads.delete(id);
    else if (peer.loads.has(id) || peer.loads.size < MAX_ENDPOINTS_PER_PEER) peer.loads.set(id, load);
    else return;
    this.states.get(id)?.setPeerLoad(peerId, load);
  }

  private forget(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    for (const id of peer.loads.keys()) this.states.get(id)?.setPeerLoad(peerId, undefined);
  }
}

interface LoadMessage {
  from: string;
  full: boolean;
  eps: Record<string, PeerLoad>;
}

function loadArray(l: PeerLoad): number[] {
  return [
    l.inflightRequests,
    l.inflightPromptTokens,
    Math.round(l.pendingPrefillTokens),
    l.pendingPrefillRequests,
    l.longClaims,
  ];
}

function isZero(l: PeerLoad): boolean {
  return (
    l.inflightRequests === 0 &&
    l.inflightPromptTokens === 0 &&
    l.pendingPrefillTokens === 0 &&
    l.pendingPrefillRequests === 0 &&
    l.longClaims === 0
  );
}

const count = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_COUNT;

/** A valid load message, or undefined (anything malformed is dropped whole). */
export function parseMessage(body: Buffer): LoadMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.v !== 1 || typeof m.from !== 'string' || m.from.length === 0 || m.from.length > 100) return undefined;
  if (typeof m.full !== 'boolean' || typeof m.eps !== 'object' || m.eps === null || Array.isArray(m.eps)) {
    return undefined;
  }
  const eps: Record<string, PeerLoad> = Object.create(null) as Record<string, PeerLoad>;
  for (const [id, v] of Object.entries(m.eps as Record<string, unknown>)) {
    if (id.length > 300 || !Array.isArray(v) || (v.length !== 4 && v.length !== 5) || !v.every(count))
      return undefined;
    eps[id] = {
      inflightRequests: v[0]!,
      inflightPromptTokens: v[1]!,
      pendingPrefillTokens: v[2]!,
      pendingPrefillRequests: v[3]!,
      longClaims: v[4] ?? 0,
    };
  }
  return { from: m.from, full: m.full, eps };
}
