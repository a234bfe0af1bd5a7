/**
 * The runner: picks a profile, runs its filters in order, its scorers (each raw score clamped to
 * [0,1] and multiplied by the profile's weight for it, by the framework — plugins never weight
 * themselves), and its picker; then appends fallbacks for retries. Works in reusable typed-array
 * scratch space: one decision allocates only its result.
 *
 * It also says why a pick was made: the scorer without whose term another endpoint would have won
 * (the "decisive" scorer) names the reason, e.g. `prefix-cache-scorer`.
 */

import type { Rng } from '../../util/rng.js';
import type { SchedulingContext } from './context.js';
import type { RequestOutcome, SchedulingEndpoint } from './endpoint.js';
import type { ScheduleTrace } from './trace.js';
import type {
  Plugin,
  PluginBase,
  ProfileHandler,
  SchedulerProfile,
  Scorer,
  WeightedScorer,
} from './types.js';

const EPSILON = 1e-9;

export type { SchedulerProfile, WeightedScorer };

export interface ScheduleResult<E extends SchedulingEndpoint = SchedulingEndpoint> {
  readonly profile: string;
  /** The picker's choices first, then fallbacks (best remaining score, then unfiltered). Never empty. */
  readonly endpoints: readonly E[];
  /** Weighted total score of the primary (0 when it was not scored). */
  readonly score: number;
  /** Bounded label for metrics: decisive scorer type, `score`, picker type, or `only-candidate`. */
  readonly reason: string;
  /** The scorer whose term decided the pick, if one did. */
  readonly decisive: Scorer | undefined;
  /** Candidates left after the filters. */
  readonly filtered: number;
}

/** Receives per-plugin timings; set only when someone listens (timing costs two clock reads per call). */
export type PluginTimer = (plugin: PluginBase, seconds: number) => void;

export class Scheduler {
  readonly handler: ProfileHandler;
  readonly profiles: readonly SchedulerProfile[];
  /** Every distinct plugin instance referenced by a profile (and the handler). */
  readonly plugins: readonly Plugin[];
  /** Leading prompt characters the plugins read (0: the prompt is never rendered). */
  readonly promptChars: number;
  /** Extra endpoints appended after the picker's choices, for retries. */
  readonly fallbacks: number;
  timer: PluginTimer | undefined;

  private readonly rng: Rng;
  private readonly preparers: readonly Plugin[];
  private totals = new Float64Array(64);
  private raw = new Float64Array(64);
  private contrib = new Float64Array(64 * 8);

  constructor(handler: ProfileHandler, profiles: readonly SchedulerProfile[], rng: Rng, fallbacks = 2) {
    if (profiles.length === 0) throw new Error('a scheduler needs at least one profile');
    this.handler = handler;
    this.profiles = profiles;
    this.rng = rng;
    this.fallbacks = fallbacks;
    const seen = new Set<Plugin>([handler]);
    for (const p of profiles) {
      for (const f of p.filters) seen.add(f);
      for (const s of p.scorers) seen.add(s.scorer);
      seen.add(p.picker);
    }
    this.plugins = [...seen];
    let chars = 0;
    for (const p of this.plugins) chars = Math.max(chars, p.promptChars ?? 0);
    this.promptChars = chars;
    this.preparers = this.plugins.filter((p) => p.prepare !== undefined);
  }

  /**
   * Runs every plugin's `prepare` (request-only work such as tokenizing). True when one did work
   * worth yielding for before `schedule` (see PluginBase.prepare).
   */
  prepare(ctx: SchedulingContext): boolean {
    const timer = this.timer;
    let worked = false;
    for (const p of this.preparers) {
      const t0 = timer ? performance.now() : 0;
      if (p.prepare!(ctx)) worked = true;
      if (timer) timer(p, (performance.now() - t0) / 1000);
    }
    return worked;
  }

  /**
   * Chooses endpoints among `candidates` (routable, non-empty); returns elements of `candidates`.
   * With `trace`, also records what each stage saw (for the decision ring); without, nothing is.
   */
  schedule<E extends SchedulingEndpoint>(
    ctx: SchedulingContext,
    candidates: readonly E[],
    trace?: ScheduleTrace,
  ): ScheduleResult<E> {
    const profile =
      this.profiles.length === 1 ? this.profiles[0]! : this.handler.pickProfile(ctx, this.profiles);
    const timer = this.timer;
    if (trace) {
      trace.profile = profile.name;
      trace.picker = profile.picker.name;
    }

    let list = candidates;
    for (const f of profile.filters) {
      const t0 = timer ? performance.now() : 0;
      const next = f.filter(ctx, list);
      if (timer) timer(f, (performance.now() - t0) / 1000);
      if (next.length > 0) list = next;
      if (trace) trace.filtered(f, list);
    }
    const n = list.length;
    if (n === 1) {
      return {
        profile: profile.name,
        endpoints: this.withFallbacks([list[0]!], list, candidates, undefined),
        score: 0,
        reason: 'only-candidate',
        decisive: undefined,
        filtered: 1,
      };
    }

    const scorers = profile.scorers;
    const s = scorers.length;
    this.ensure(n, s);
    const totals = this.totals;
    const raw = this.raw;
    const contrib = this.contrib;
    totals.fill(0, 0, n);
    for (let k = 0; k < s; k++) {
      const { scorer, weight } = scorers[k]!;
      raw.fill(0, 0, n);
      const t0 = timer ? performance.now() : 0;
      scorer.score(ctx, list, raw);
      if (timer) timer(scorer, (performance.now() - t0) / 1000);
      const row = k * n;
      for (let i = 0; i < n; i++) {
        const v = raw[i]!;
        const c = (v >= 0 ? Math.min(1, v) : 0) * weight; // clamp to [0,1]; NaN → 0
        contrib[row + i] = c;
        totals[i]! += c;
      }
      if (trace) trace.scoredBy(scorer, weight, list, contrib, row);
    }
    if (trace) trace.summed(list, totals);

    const t0 = timer ? performance.now() : 0;
    const picks = profile.picker.pick(ctx, list, totals, this.rng);
    if (timer) timer(profile.picker, (performance.now() - t0) / 1000);
    const primary = picks[0] ?? 0;

    let decisive: Scorer | undefined;
    if (profile.picker.followsScores && s > 0) decisive = this.decisiveScorer(scorers, n, primary);
    const reason = decisive ? decisive.type : profile.picker.followsScores ? 'score' : profile.picker.type;

    const chosen: E[] = [];
    for (let i = 0; i < picks.length; i++) chosen.push(list[picks[i]!]!);
    if (chosen.length === 0) chosen.push(list[primary]!);
    const result: ScheduleResult<E> = {
      profile: profile.name,
      endpoints: this.withFallbacks(chosen, list, candidates, totals),
      score: totals[primary]!,
      reason,
      decisive,
      filtered: n,
    };
    if (decisive?.onDecisive) decisive.onDecisive(ctx, chosen[0]!, list);
    return result;
  }

  /** The request is being sent to `ep`: every plugin with an `onDispatch` hook hears it. */
  dispatched(ctx: SchedulingContext, ep: SchedulingEndpoint): void {
    const ps = this.plugins;
    for (let i = 0; i < ps.length; i++) ps[i]!.onDispatch?.(ctx, ep);
  }

  /** The attempt sent to `ep` answered its first token: plugins with an `onFirstToken` hook hear it. */
  firstToken(ctx: SchedulingContext, ep: SchedulingEndpoint): void {
    const ps = this.plugins;
    for (let i = 0; i < ps.length; i++) ps[i]!.onFirstToken?.(ctx, ep);
  }

  completed(ctx: SchedulingContext, ep: SchedulingEndpoint, outcome: RequestOutcome): void {
    const ps = this.plugins;
    for (let i = 0; i < ps.length; i++) ps[i]!.onComplete?.(ctx, ep, outcome);
  }

  /**
   * The scorer without whose term the primary would no longer be the unique best (another candidate
   * would tie or win), by the widest margin. Undefined when the primary only won a tie-break, or when
   * no single term decided (only their sum did).
   */
  private decisiveScorer(scorers: readonly WeightedScorer[], n: number, p: number): Scorer | undefined {
    const totals = this.totals;
    const contrib = this.contrib;
    let runnerUp = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) if (i !== p && totals[i]! > runnerUp) runnerUp = totals[i]!;
    if (!(totals[p]! - runnerUp > EPSILON)) return undefined;
    let best: Scorer | undefined;
    let bestMargin = -EPSILON;
    for (let k = 0; k < scorers.length; k++) {
      const row = k * n;
      const mine = totals[p]! - contrib[row + p]!;
      let other = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        if (i === p) continue;
        const v = totals[i]! - contrib[row + i]!;
        if (v > other) other = v;
      }
      const margin = other - mine;
      if (margin > bestMargin) {
        bestMargin = margin;
        best = scorers[k]!.scorer;
      }
    }
    return best;
  }

  /** Appends up to `fallbacks` more: best remaining totals among the filtered, then the unfiltered. */
  private withFallbacks<E extends SchedulingEndpoint>(
    chosen: E[],
    filtered: readonly E[],
    all: readonly E[],
    totals: Float64Array | undefined,
  ): E[] {
    const want = chosen.length + this.fallbacks;
    while (chosen.length < want) {
      let bestIdx = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < filtered.length; i++) {
        if (chosen.includes(filtered[i]!)) continue;
        const sc = totals ? totals[i]! : 0;
        if (sc > bestScore) {
          bestScore = sc;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      chosen.push(filtered[bestIdx]!);
    }
    for (let i = 0; i < all.length && chosen.length < want; i++) {
      if (!chosen.includes(all[i]!)) chosen.push(all[i]!);
    }
    return chosen;
  }

  private ensure(n: number, s: number): void {
    if (this.totals.length < n) {
      this.totals = new Float64Array(n * 2);
      this.raw = new Float64Array(n * 2);
    }
    if (this.contrib.length < n * s) this.contrib = new Float64Array(n * s * 2);
  }
}
