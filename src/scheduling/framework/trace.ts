/**
 * What one scheduling run saw, stage by stage, as plain data: filled by `Scheduler.schedule` only
 * when a trace is passed (a sampled decision someone is looking at), so an untraced decision pays
 * one `undefined` check per stage. Endpoints are named by id (`address:port`); scores are the
 * clamped [0,1] values before weighting, `totals` the weighted sums the picker saw.
 */
import type { SchedulingEndpoint } from './endpoint.js';
import type { PluginBase } from './types.js';

export interface FilterStage {
  readonly filter: string;
  readonly type: string;
  /** Candidates left after this filter (a filter that would leave none is ignored: all stay). */
  readonly kept: readonly string[];
}

export interface ScorerStage {
  readonly scorer: string;
  readonly type: string;
  readonly weight: number;
  /** Clamped score in [0,1] per scored endpoint, in the order of `ScheduleTrace.scored`. */
  readonly scores: readonly number[];
}

export class ScheduleTrace {
  profile = '';
  readonly filters: FilterStage[] = [];
  /** The endpoints scored, in row order (the candidates left after the filters). */
  scored: string[] = [];
  readonly scorers: ScorerStage[] = [];
  /** Weighted total per scored endpoint (empty when one candidate was left and nothing was scored). */
  totals: number[] = [];
  picker = '';

  filtered(plugin: PluginBase, kept: readonly SchedulingEndpoint[]): void {
    this.filters.push({ filter: plugin.name, type: plugin.type, kept: ids(kept) });
  }

  scoredBy(
    plugin: PluginBase,
    weight: number,
    list: readonly SchedulingEndpoint[],
    contrib: Float64Array,
    row: number,
  ): void {
    if (this.scored.length === 0) this.scored = ids(list);
    const n = list.length;
    const scores: number[] = new Array(n);
    for (let i = 0; i < n; i++) scores[i] = weight > 0 ? contrib[row + i]! / weight : 0;
    this.scorers.push({ scorer: plugin.name, type: plugin.type, weight, scores });
  }

  summed(list: readonly SchedulingEndpoint[], totals: Float64Array): void {
    if (this.scored.length === 0) this.scored = ids(list);
    this.totals = Array.from(totals.subarray(0, list.length));
  }
}

function ids(list: readonly SchedulingEndpoint[]): string[] {
  const out: string[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!.id;
  return out;
}
