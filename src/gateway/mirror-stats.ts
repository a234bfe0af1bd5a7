/**
 * Primary-vs-mirror comparisons per (route rule, mirror backend): how many copies were sent, dropped
 * (mirror too slow: concurrency bound reached) or failed, how often both answered with the same
 * status, and the latency / TTFT / token distributions of both sides over the most recent pairs.
 * Kept across reloads (keyed by `<route>#<rule> → <mirror backend>`); served by GET /admin/mirrors.
 */

/** Fixed-size ring of the most recent samples. */
export class RingSamples {
  private readonly buf: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  push(v: number): void {
    this.buf[this.next] = v;
    this.next = (this.next + 1) % this.buf.length;
    if (this.count < this.buf.length) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Sorted copy of the samples held. */
  sorted(): Float64Array {
    return this.buf.slice(0, this.count).sort();
  }
}

export interface Distribution {
  n: number;
  mean: number;
  p50: number;
  p95: number;
}

function distribution(r: RingSamples): Distribution | undefined {
  if (r.size === 0) return undefined;
  const s = r.sorted();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { n: s.length, mean: round(sum / s.length), p50: round(q(0.5)), p95: round(q(0.95)) };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** One side of a finished pair. Times in ms from the client request's arrival. */
export interface SideOutcome {
  /** HTTP status (0: no response: connect error, timeout …). */
  status: number;
  latencyMs: number;
  ttftMs: number | undefined;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  error: string | undefined;
}

interface SidePair {
  latencyMs: RingSamples;
  ttftMs: RingSamples;
  promptTokens: RingSamples;
  completionTokens: RingSamples;
}

function sides(capacity: number): SidePair {
  return {
    latencyMs: new RingSamples(capacity),
    ttftMs: new RingSamples(capacity),
    promptTokens: new RingSamples(capacity),
    completionTokens: new RingSamples(capacity),
  };
}

export interface MirrorIdentity {
  route: string;
  rule: number;
  /** Mirror backend label. */
  mirror: string;
}

export interface MirrorSummary extends MirrorIdentity {
  key: string;
  /** Copies sent to the mirror. */
  sent: number;
  /** Copies not sent because the mirror had `mirrorConcurrency` copies in flight. */
  dropped: number;
  /** Copies the mirror answered (any status). */
  completed: number;
  /** Copies that got no answer (connect error, timeout, reset). */
  failed: number;
  /** Pairs where primary and mirror answered with the same status / a different one. */
  sameStatus: number;
  differentStatus: number;
  /** `primary→mirror` status pairs that differed, with counts (at most 20 kinds kept). */
  statusDifferences: Record<string, number>;
  primary: Record<'latencyMs' | 'ttftMs' | 'promptTokens' | 'completionTokens', Distribution | undefined>;
  mirrorSide: Record<'latencyMs' | 'ttftMs' | 'promptTokens' | 'completionTokens', Distribution | undefined>;
  /** One readable line. */
  text: string;
}

export class MirrorStats {
  sent = 0;
  dropped = 0;
  completed = 0;
  failed = 0;
  sameStatus = 0;
  differentStatus = 0;
  private readonly statusDifferences = new Map<string, number>();
  private readonly primary: SidePair;
  private readonly mirror: SidePair;

  constructor(
    readonly key: string,
    readonly id: MirrorIdentity,
    capacity = 2048,
  ) {
    this.primary = sides(capacity);
    this.mirror = sides(capacity);
  }

  /** Records a pair whose mirror side got a response. */
  recordPair(primary: SideOutcome, mirror: SideOutcome): void {
    if (primary.status === mirror.status) this.sameStatus++;
    else {
      this.differentStatus++;
      const k = `${primary.status}→${mirror.status}`;
      const n = this.statusDifferences.get(k);
      if (n !== undefined) this.statusDifferences.set(k, n + 1);
      else if (this.statusDifferences.size < 20) this.statusDifferences.set(k, 1);
    }
    addSide(this.primary, primary);
    addSide(this.mirror, mirror);
  }

  summary(): MirrorSummary {
    const p = summarise(this.primary);
    const m = summarise(this.mirror);
    return {
      key: this.key,
      ...this.id,
      sent: this.sent,
      dropped: this.dropped,
      completed: this.completed,
      failed: this.failed,
      sameStatus: this.sameStatus,
      differentStatus: this.differentStatus,
      statusDifferences: Object.fromEntries(this.statusDifferences),
      primary: p,
      mirrorSide: m,
      text: this.text(p, m),
    };
  }

  private text(p: MirrorSummary['primary'], m: MirrorSummary['mirrorSide']): string {
    const parts = [`${this.sent} mirrored`];
    if (this.dropped) parts[0] += `, ${this.dropped} dropped (mirror busy)`;
    if (this.failed) parts[0] += `, ${this.failed} failed`;
    const pairs = this.sameStatus + this.differentStatus;
    if (pairs > 0) parts.push(`${pct(this.sameStatus / pairs)} same status as primary`);
    const cmp = (label: string, a?: Distribution, b?: Distribution, unit = ' ms') => {
      if (!a || !b) return;
      const ratio = a.p50 > 0 ? ` (${(b.p50 / a.p50).toFixed(2)}×)` : '';
      parts.push(`${label} p50 mirror ${b.p50}${unit} vs primary ${a.p50}${unit}${ratio}`);
    };
    cmp('latency', p.latencyMs, m.latencyMs);
    cmp('TTFT', p.ttftMs, m.ttftMs);
    if (p.completionTokens && m.completionTokens) {
      parts.push(
        `completion tokens mean mirror ${m.completionTokens.mean} vs primary ${p.completionTokens.mean}`,
      );
    }
    return parts.join('; ');
  }
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function addSide(s: SidePair, o: SideOutcome): void {
  s.latencyMs.push(o.latencyMs);
  if (o.ttftMs !== undefined) s.ttftMs.push(o.ttftMs);
  if (o.promptTokens !== undefined) s.promptTokens.push(o.promptTokens);
  if (o.completionTokens !== undefined) s.completionTokens.push(o.completionTokens);
}

function summarise(s: SidePair): MirrorSummary['primary'] {
  return {
    latencyMs: distribution(s.latencyMs),
    ttftMs: distribution(s.ttftMs),
    promptTokens: distribution(s.promptTokens),
    completionTokens: distribution(s.completionTokens),
  };
}

export class MirrorStatsTable {
  private readonly byKey = new Map<string, MirrorStats>();

  get(key: string, id: MirrorIdentity): MirrorStats {
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = new MirrorStats(key, id);
      this.byKey.set(key, s);
    }
    return s;
  }

  summaries(): MirrorSummary[] {
    return [...this.byKey.values()].map((s) => s.summary());
  }
}
