/**
 * "Why this endpoint": a bounded ring of recent scheduling decisions, recorded only while someone is
 * looking (the live page or GET /admin/decisions asked within the watch window) or always when the
 * operator enabled debug output (`serve --debug-headers`). When nobody looks, the request path pays
 * one boolean read per decision (`wanted()`); nothing is allocated.
 *
 * Records are plain JSON-ready data. Memory is bounded by `capacity` records; each holds one score
 * per (scorer, scored endpoint).
 */

export interface DecisionFilterStage {
  readonly filter: string;
  readonly type: string;
  /** Endpoint ids left after this filter. */
  readonly kept: readonly string[];
}

export interface DecisionScorerStage {
  readonly scorer: string;
  readonly type: string;
  readonly weight: number;
  /** Clamped score in [0,1] per endpoint of `scored`, same order. */
  readonly scores: readonly number[];
}

export interface DecisionRecord {
  /** Increasing number of the record in this process. */
  readonly seq: number;
  /** Wall-clock time of the decision, ISO 8601. */
  readonly at: string;
  readonly requestId: string;
  /** Pool key `namespace/name`. */
  readonly pool: string;
  readonly model: string | undefined;
  readonly targetModel: string | undefined;
  readonly objective: string | undefined;
  readonly criticality: string | undefined;
  /** Routable endpoints before the filters. */
  readonly candidates: readonly string[];
  readonly profile: string;
  readonly filters: readonly DecisionFilterStage[];
  /** Endpoints scored (left after the filters), in the order of every scorer's `scores`. */
  readonly scored: readonly string[];
  readonly scorers: readonly DecisionScorerStage[];
  /** Weighted total per scored endpoint. */
  readonly totals: readonly number[];
  readonly picker: string;
  /** The primary endpoint. */
  readonly pick: string;
  /** Further endpoints for retries, in order. */
  readonly fallbacks: readonly string[];
  /** Type of the scorer without whose term another endpoint would have won, if one did. */
  readonly decisive: string | undefined;
  /** Bounded reason label (as in infergate_scheduler_picks_total): decisive scorer, `score`, picker, `only-candidate`. */
  readonly reason: string;
  /** Weighted total of the pick. */
  readonly score: number;
  /** Time the decision took, microseconds (recording included). */
  readonly durationUs: number;
}

export type DecisionDraft = Omit<DecisionRecord, 'seq' | 'at'>;

export interface DecisionRingOptions {
  /** Records kept (oldest dropped first). Default 256. */
  capacity?: number;
  /** While watched, record one decision in this many (≥ 1). Default 1: every decision. */
  sampleEvery?: number;
  /** Recording stops this long after the last look, ms. Default 15,000. */
  watchWindowMs?: number;
  /** Record every decision regardless of watchers (debug output enabled). Default false. */
  always?: boolean;
}

export class DecisionRing {
  readonly capacity: number;
  readonly always: boolean;
  private readonly sampleEvery: number;
  private readonly watchWindowMs: number;
  private readonly buf: (DecisionRecord | undefined)[];
  private next = 0;
  private seq = 0;
  private skipped = 0;
  private watched = false;
  private lastLook = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: DecisionRingOptions = {}) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 256));
    this.sampleEvery = Math.max(1, Math.floor(opts.sampleEvery ?? 1));
    this.watchWindowMs = Math.max(1, opts.watchWindowMs ?? 15_000);
    this.always = opts.always ?? false;
    this.buf = new Array(this.capacity);
  }

  /** Hot path: should the decision being taken be recorded? */
  wanted(): boolean {
    if (this.always) return true;
    if (!this.watched) return false;
    if (++this.skipped < this.sampleEvery) return false;
    this.skipped = 0;
    return true;
  }

  /** True while decisions are being recorded. */
  get recording(): boolean {
    return this.always || this.watched;
  }

  /** Someone looked (page, JSON endpoint): record decisions for the next watch window. */
  watch(): void {
    this.lastLook = performance.now();
    if (this.watched) return;
    this.watched = true;
    this.timer = setInterval(this.expire, Math.min(1_000, this.watchWindowMs));
    this.timer.unref();
  }

  push(draft: DecisionDraft): DecisionRecord {
    const record: DecisionRecord = { seq: ++this.seq, at: new Date().toISOString(), ...draft };
    this.buf[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    return record;
  }

  /** Newest first, at most `limit`, optionally of one pool only. */
  recent(limit = this.capacity, pool?: string): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    for (let k = 1; k <= this.capacity && out.length < limit; k++) {
      const r = this.buf[(this.next - k + this.capacity) % this.capacity];
      if (r === undefined) break;
      if (pool === undefined || r.pool === pool) out.push(r);
    }
    return out;
  }

  /** Stops the watch timer. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.watched = false;
  }

  private readonly expire = (): void => {
    if (performance.now() - this.lastLook < this.watchWindowMs) return;
    this.close();
  };
}

/** Best entries shown on a response header: the pick and the nearest rivals. */
const HEADER_ENDPOINTS = 3;

/**
 * The compact one-line JSON of `x-infergate-decision` (debug output only): profile, pick, decisive
 * scorer, candidates before and after the filters, and for the best few endpoints their total and
 * per-scorer scores.
 */
export function decisionHeader(r: DecisionRecord): string {
  const order = r.totals.map((_, i) => i).sort((a, b) => r.totals[b]! - r.totals[a]!);
  const top: Record<string, Record<string, number>> = {};
  for (const i of order.slice(0, HEADER_ENDPOINTS)) {
    const entry: Record<string, number> = { total: round3(r.totals[i]!) };
    for (const s of r.scorers) entry[s.scorer] = round3(s.scores[i]!);
    top[r.scored[i]!] = entry;
  }
  return JSON.stringify({
    seq: r.seq,
    profile: r.profile,
    pick: r.pick,
    reason: r.reason,
    decisive: r.decisive ?? null,
    candidates: r.candidates.length,
    filtered: r.scored.length || 1,
    top,
  });
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
