/**
 * Everything the scheduler knows about one model-server endpoint: the latest scraped metrics
 * snapshot (replaced whole on each scrape, never mutated), health, this gateway's own accounting
 * of the requests it sent there (counted at dispatch, released at completion), and the same
 * accounting of its peer gateways when they share it (src/datastore/peer-load.ts).
 *
 * Scorers read the `est*` methods, which combine the last scrape with what this gateway dispatched
 * and completed since that scrape started: a burst between two scrapes is seen at once, so it does
 * not herd onto the replica that looked idlest 50 ms ago.
 */
import type {
  EngineMapping,
  MetricsFreshness,
  ModelServerMetrics,
} from '../scraping/model-server-metrics.js';
import type { Endpoint } from './endpoint.js';

/**
 * A request dispatched less than this long before a scrape is sent is assumed not to be in that
 * scrape (still on its way to the server, or not yet taken by the engine's next step): it stays in
 * the estimates until a later scrape. Wall ms.
 */
export const DISPATCH_VISIBILITY_MS = 5;

/** One gateway's counts on one endpoint: what peer gateways share (src/datastore/peer-load.ts). */
export interface PeerLoad {
  readonly inflightRequests: number;
  readonly inflightPromptTokens: number;
  readonly pendingPrefillTokens: number;
  readonly pendingPrefillRequests: number;
  /** Its long-prefill decisions here not yet answered (a rise is a claim: see `claimedBy`). */
  readonly longClaims: number;
}

const ZERO_LOAD: PeerLoad = {
  inflightRequests: 0,
  inflightPromptTokens: 0,
  pendingPrefillTokens: 0,
  pendingPrefillRequests: 0,
  longClaims: 0,
};

/** Recent dispatches remembered for DISPATCH_VISIBILITY_MS (a burst larger than this counts as all recent). */
const RECENT_DISPATCHES = 64;

/** Satisfies scheduling's `SchedulingEndpoint` (structurally: the datastore sits below scheduling). */
export class EndpointState {
  readonly id: string;
  /** Replaced (same id) when a reload changes the pod's name or labels. */
  endpoint: Endpoint;
  engine: EngineMapping;
  /** Ready in the plan (Pod Ready / EndpointSlice ready). */
  ready: boolean;

  /** Latest scraped snapshot; undefined before the first successful scrape or when the page has none. */
  metrics: ModelServerMetrics | undefined = undefined;
  /** `performance.now()` when the scrape behind `metrics` was sent; −∞ when never. */
  metricsAt = Number.NEGATIVE_INFINITY;
  /** False after `unhealthyAfter` consecutive network failures; true again on the next success. */
  healthy = true;
  consecutiveFailures = 0;
  lastError: string | undefined = undefined;

  /** This gateway's requests dispatched here and not completed. */
  ownInflightRequests = 0;
  /** Their estimated prompt tokens. */
  ownInflightPromptTokens = 0;
  /**
   * Pending prefill: uncached prompt tokens of this gateway's requests sent here that have not
   * answered their first token yet (nor ended), and how many requests they are.
   */
  ownPendingPrefillTokens = 0;
  ownPendingPrefillRequests = 0;
  /** This gateway's long-prefill decisions here that have not answered yet (what peers settle by). */
  ownLongClaims = 0;
  /** Called after each change of the `own*` counts (peer load sharing publishes them). */
  onOwnLoad: ((state: EndpointState) => void) | undefined = undefined;

  /** Peer gateways' latest counts here, by peer id, and their sum. */
  private readonly peerLoads = new Map<string, PeerLoad>();
  private readonly peerSum: { -readonly [K in keyof PeerLoad]: number } = { ...ZERO_LOAD };
  /** When each peer's `longClaims` here last rose (`performance.now()`, local receive time). */
  private readonly peerClaimAt = new Map<string, number>();

  // Monotonic totals; the `base*` copies are taken when a scrape is sent, so `total − base` is what
  // the scraped snapshot cannot have seen yet.
  private dispatched = 0;
  private completed = 0;
  private dispatchedTokens = 0;
  private completedTokens = 0;
  private pendingBase = [0, 0, 0, 0] as [number, number, number, number];
  private base = [0, 0, 0, 0] as [number, number, number, number];
  // Ring of the latest dispatch times (ms) and their prompt tokens, for DISPATCH_VISIBILITY_MS.
  private readonly recentAt = new Float64Array(RECENT_DISPATCHES).fill(Number.NEGATIVE_INFINITY);
  private readonly recentTokens = new Float64Array(RECENT_DISPATCHES);
  private recentNext = 0;

  constructor(endpoint: Endpoint, engine: EngineMapping, ready: boolean) {
    this.id = endpoint.id;
    this.endpoint = endpoint;
    this.engine = engine;
    this.ready = ready;
  }

  /** Candidate for routing: ready in the plan and not taken out by failed scrapes. */
  get routable(): boolean {
    return this.ready && this.healthy;
  }

  // ---- gateway accounting -------------------------------------------------------------------

  /**
   * A request of ~`promptTokens` tokens is bound for this endpoint: counted when the decision is
   * taken (so back-to-back decisions see each other), kept when it is dispatched here.
   */
  acquire(promptTokens: number, now: number = performance.now()): void {
    this.ownInflightRequests++;
    this.ownInflightPromptTokens += promptTokens;
    this.dispatched++;
    this.dispatchedTokens += promptTokens;
    const i = this.recentNext;
    this.recentAt[i] = now;
    this.recentTokens[i] = promptTokens;
    this.recentNext = (i + 1) % RECENT_DISPATCHES;
    this.onOwnLoad?.(this);
  }

  /** A request counted here ended (or never went out); `freedTokens` ≈ its prompt + generated tokens. */
  release(promptTokens: number, freedTokens: number): void {
    this.ownInflightRequests = Math.max(0, this.ownInflightRequests - 1);
    this.ownInflightPromptTokens = Math.max(0, this.ownInflightPromptTokens - promptTokens);
    this.completed++;
    this.completedTokens += freedTokens;
    this.onOwnLoad?.(this);
  }

  // ---- what the scorers read: own counts plus the peers' ------------------------------------

  /** Requests dispatched here and not completed: this gateway's and its peers'. */
  get inflightRequests(): number {
    return this.ownInflightRequests + this.peerSum.inflightRequests;
  }

  /** Their estimated prompt tokens. */
  get inflightPromptTokens(): number {
    return this.ownInflightPromptTokens + this.peerSum.inflightPromptTokens;
  }

  /** Uncached prompt tokens sent here and not yet answered with a first token (own and peers'). */
  get pendingPrefillTokens(): number {
    return this.ownPendingPrefillTokens + this.peerSum.pendingPrefillTokens;
  }

  /** How many requests those are. */
  get pendingPrefillRequests(): number {
    return this.ownPendingPrefillRequests + this.peerSum.pendingPrefillRequests;
  }

  /** The peer gateways' requests in flight here. */
  get peerInflightRequests(): number {
    return this.peerSum.inflightRequests;
  }

  /** Replaces one peer's counts here; undefined forgets that peer. */
  setPeerLoad(peer: string, load: PeerLoad | undefined, now: number = performance.now()): void {
    if ((load?.longClaims ?? 0) > (this.peerLoads.get(peer)?.longClaims ?? 0))
      this.peerClaimAt.set(peer, now);
    if (load === undefined) {
      if (!this.peerLoads.delete(peer)) return;
    } else {
      this.peerLoads.set(peer, load);
    }
    const sum = this.peerSum;
    sum.inflightRequests = 0;
    sum.inflightPromptTokens = 0;
    sum.pendingPrefillTokens = 0;
    sum.pendingPrefillRequests = 0;
    sum.longClaims = 0;
    for (const l of this.peerLoads.values()) {
      sum.inflightRequests += l.inflightRequests;
      sum.inflightPromptTokens += l.inflightPromptTokens;
      sum.pendingPrefillTokens += l.pendingPrefillTokens;
      sum.pendingPrefillRequests += l.pendingPrefillRequests;
      sum.longClaims += l.longClaims;
    }
  }

  /** A long-prefill decision of this gateway is bound here (published to the peers as a claim). */
  claim(): void {
    this.ownLongClaims++;
    this.onOwnLoad?.(this);
  }

  /** That decision answered, ended, moved or expired. */
  unclaim(): void {
    if (this.ownLongClaims === 0) return;
    this.ownLongClaims--;
    this.onOwnLoad?.(this);
  }

  /**
   * Whether a peer whose id sorts before `self` claimed a long prefill here at or after `since`
   * (ms, `performance.now()`): of two gateways that claimed one endpoint at once, the one with the
   * lower id keeps it. A peer forgotten since keeps its last claim time (at most one per peer).
   */
  claimedBy(self: string, since: number): boolean {
    for (const [peer, at] of this.peerClaimAt) if (peer < self && at >= since) return true;
    return false;
  }

  /** This gateway's own counts, as its peers receive them. */
  ownLoad(): PeerLoad {
    return {
      inflightRequests: this.ownInflightRequests,
      inflightPromptTokens: this.ownInflightPromptTokens,
      pendingPrefillTokens: this.ownPendingPrefillTokens,
      pendingPrefillRequests: this.ownPendingPrefillRequests,
      longClaims: this.ownLongClaims,
    };
  }

  // ---- scraping ------------------------------------------------------------------------------

  /**
   * Called as a scrape is sent. Requests dispatched in the last DISPATCH_VISIBILITY_MS are left
   * out of the base, so they keep counting as "sent since the scrape" until a later one.
   */
  beginScrape(now: number = performance.now()): void {
    let recent = 0;
    let recentTokens = 0;
    const since = now - DISPATCH_VISIBILITY_MS;
    for (let i = 0; i < RECENT_DISPATCHES; i++) {
      if (this.recentAt[i]! > since) {
        recent++;
        recentTokens += this.recentTokens[i]!;
      }
    }
    const b = this.pendingBase;
    b[0] = this.dispatched - recent;
    b[1] = this.completed;
    b[2] = this.dispatchedTokens - recentTokens;
    b[3] = this.completedTokens;
  }

  /** A scrape sent at `startedAt` answered; `metrics` undefined means the page had no load gauges. */
  applyScrape(metrics: ModelServerMetrics | undefined, startedAt: number): void {
    this.metrics = metrics;
    this.metricsAt = metrics ? startedAt : Number.NEGATIVE_INFINITY;
    const b = this.pendingBase;
    this.base = [b[0], b[1], b[2], b[3]];
    this.consecutiveFailures = 0;
    this.healthy = true;
    this.lastError = undefined;
  }

  /** A scrape failed at the network level; returns true when this failure took the endpoint out. */
  failScrape(error: string, unhealthyAfter: number): boolean {
    this.consecutiveFailures++;
    this.lastError = error;
    if (this.healthy && this.consecutiveFailures >= unhealthyAfter) {
      this.healthy = false;
      return true;
    }
    return false;
  }

  /** The server answered but without metrics (HTTP error): metrics are dropped, health kept. */
  noMetrics(error: string): void {
    this.metrics = undefined;
    this.metricsAt = Number.NEGATIVE_INFINITY;
    this.consecutiveFailures = 0;
    this.healthy = true;
    this.lastError = error;
  }

  // ---- estimates the scorers read ----------------------------------------------------------

  freshness(now: number, staleAfterMs: number): MetricsFreshness {
    if (this.metrics === undefined) return 'none';
    return now - this.metricsAt > staleAfterMs ? 'stale' : 'fresh';
  }

  /** Milliseconds since the snapshot's scrape was sent (∞ when there is none). */
  metricsAge(now: number): number {
    return now - this.metricsAt;
  }

  /** Requests this gateway dispatched here minus those it completed, since the snapshot. */
  get dispatchedSinceScrape(): number {
    return this.dispatched - this.base[0] - (this.completed - this.base[1]);
  }

  /**
   * Waiting queue now. Requests this gateway sent since the scrape (net of completions) count as
   * waiting only when the server was already queueing — a server with a free batch slot runs a new
   * request at once, so an idle replica is not judged busy for the next 50 ms.
   */
  estWaiting(): number {
    const m = this.metrics;
    if (!m) return 0;
    if (m.waiting <= 0) return 0;
    return Math.max(0, m.waiting + this.dispatchedSinceScrape);
  }

  /**
   * Requests on the server (running + waiting) now: the scrape plus what this gateway sent since,
   * and never fewer than the requests the gateways have in flight there (own and peers'). The
   * floor covers a page that lags its dispatches — vLLM's gauges change only when an engine step
   * ends, so a request sent during a long prefill step is in neither the scrape nor "since".
   */
  estRequests(): number {
    const m = this.metrics;
    if (!m) return this.inflightRequests;
    return Math.max(this.inflightRequests, m.running + m.waiting + this.dispatchedSinceScrape);
  }

  /** KV capacity in tokens when the engine exports its cache config. */
  kvCapacityTokens(): number | undefined {
    const m = this.metrics;
    if (!m || m.numBlocks === undefined || m.blockSize === undefined) return undefined;
    const t = m.numBlocks * m.blockSize;
    return t > 0 ? t : undefined;
  }

  /**
   * KV utilisation now in [0, 1]: the scraped value, projected with the prompt tokens dispatched
   * and the tokens freed since the scrape when the capacity is known. Undefined without a reading.
   */
  estKvUsage(): number | undefined {
    const m = this.metrics;
    if (!m || m.kvUsage === undefined) return undefined;
    const cap = this.kvCapacityTokens();
    if (cap === undefined) return m.kvUsage;
    const delta = this.dispatchedTokens - this.base[2] - (this.completedTokens - this.base[3]);
    return Math.min(1, Math.max(0, m.kvUsage + delta / cap));
  }

  // ---- pending prefill -----------------------------------------------------------------------

  /** A request with `tokens` uncached prompt tokens was sent here; counted until `endPrefill`. */
  startPrefill(tokens: number): void {
    this.ownPendingPrefillTokens += tokens;
    this.ownPendingPrefillRequests++;
    this.onOwnLoad?.(this);
  }

  /** That request answered its first token, or ended without one. */
  endPrefill(tokens: number): void {
    this.ownPendingPrefillTokens = Math.max(0, this.ownPendingPrefillTokens - tokens);
    this.ownPendingPrefillRequests = Math.max(0, this.ownPendingPrefillRequests - 1);
    this.onOwnLoad?.(this);
  }

  /** The load the scheduler saw here, for the access log's reason: `waiting ~2, requests ~5, …`. */
  loadSummary(): string {
    const m = this.metrics;
    return (
      `waiting ~${this.estWaiting()}${m ? ` (scraped ${m.waiting})` : ''}, requests ~${this.estRequests()}, ` +
      `in flight ${this.ownInflightRequests} (${this.ownInflightPromptTokens} prompt tok), ` +
      `pending prefill ${Math.round(this.ownPendingPrefillTokens)} tok in ${this.ownPendingPrefillRequests} request(s)` +
      (this.peerLoads.size > 0
        ? `; peers: in flight ${this.peerSum.inflightRequests} (${this.peerSum.inflightPromptTokens} prompt tok), ` +
          `pending prefill ${Math.round(this.peerSum.pendingPrefillTokens)} tok in ${this.peerSum.pendingPrefillRequests} request(s)`
        : '')
    );
  }
}
