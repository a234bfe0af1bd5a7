/**
 * Everything the scheduler knows about one model-server endpoint: the latest scraped metrics
 * snapshot (replaced whole on each scrape, never mutated), health, and this gateway's own
 * accounting of the requests it sent there (counted at dispatch, released at completion).
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
  inflightRequests = 0;
  /** Their estimated prompt tokens. */
  inflightPromptTokens = 0;

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

  /**
   * Pending prefill: uncached prompt tokens of this gateway's requests sent here that have not
   * answered their first token yet (nor ended), and how many requests they are.
   */
  pendingPrefillTokens = 0;
  pendingPrefillRequests = 0;

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
    this.inflightRequests++;
    this.inflightPromptTokens += promptTokens;
    this.dispatched++;
    this.dispatchedTokens += promptTokens;
    const i = this.recentNext;
    this.recentAt[i] = now;
    this.recentTokens[i] = promptTokens;
    this.recentNext = (i + 1) % RECENT_DISPATCHES;
  }

  /** A request counted here ended (or never went out); `freedTokens` ≈ its prompt + generated tokens. */
  release(promptTokens: number, freedTokens: number): void {
    this.inflightRequests = Math.max(0, this.inflightRequests - 1);
    this.inflightPromptTokens = Math.max(0, this.inflightPromptTokens - promptTokens);
    this.completed++;
    this.completedTokens += freedTokens;
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

  /** Requests on the server (running + waiting) now; this gateway's in-flight when never scraped. */
  estRequests(): number {
    const m = this.metrics;
    if (!m) return this.inflightRequests;
    return Math.max(0, m.running + m.waiting + this.dispatchedSinceScrape);
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
    this.pendingPrefillTokens += tokens;
    this.pendingPrefillRequests++;
  }

  /** That request answered its first token, or ended without one. */
  endPrefill(tokens: number): void {
    this.pendingPrefillTokens = Math.max(0, this.pendingPrefillTokens - tokens);
    this.pendingPrefillRequests = Math.max(0, this.pendingPrefillRequests - 1);
  }

  /** The load the scheduler saw here, for the access log's reason: `waiting ~2, requests ~5, …`. */
  loadSummary(): string {
    const m = this.metrics;
    return (
      `waiting ~${this.estWaiting()}${m ? ` (scraped ${m.waiting})` : ''}, requests ~${this.estRequests()}, ` +
      `in flight ${this.inflightRequests} (${this.inflightPromptTokens} prompt tok), ` +
      `pending prefill ${Math.round(this.pendingPrefillTokens)} tok in ${this.pendingPrefillRequests} request(s)`
    );
  }
}
