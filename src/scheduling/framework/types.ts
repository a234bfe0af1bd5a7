/**
 * The scheduling framework's plugin contracts (after the reference endpoint picker):
 *   profile handler → profile: filters (in order) → scorers (each clamped to [0,1] × weight by the
 *   framework, summed) → picker.
 * Plugins are synchronous and never wait on I/O: they read SchedulingEndpoint snapshots and the request.
 * Each plugin type lives in its own file under plugins/ and exports its type name and a factory.
 */
import type { Logger } from 'pino';
import type { KvEventsService } from '../../scraping/kv-events/service.js';
import type { Rng } from '../../util/rng.js';
import type { SaturationConfig } from '../saturation.js';
import type { SchedulingContext } from './context.js';
import type { RequestOutcome, SchedulingEndpoint } from './endpoint.js';

export interface PluginBase {
  /** Plugin type name in the plugin catalog, kebab-case (`queue-scorer`). */
  readonly type: string;
  /** Instance name from the config (`name`, defaulting to the type). */
  readonly name: string;
  /** Leading prompt characters the plugin reads (0/undefined: none; the body is rendered only if asked). */
  readonly promptChars?: number;
  /** Called once when the plugin is bound to the pool it serves (before the first request). */
  attach?(host: PluginHost): void;
  /**
   * Work on the request alone, done before the decision (e.g. tokenizing its prompt); it must not
   * read endpoint state. Keep the result in `ctx` for the scoring call. Returns true when it did
   * work that took time: the router then yields one event-loop turn before scheduling, so load
   * updates that arrived meanwhile (scrapes, peer gateways' counts) are seen by the decision.
   */
  prepare?(ctx: SchedulingContext): boolean;
  /** The request is being sent to `endpoint` (once per attempt). */
  onDispatch?(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void;
  /**
   * The attempt sent to `endpoint` answered its first token (streamed answers only; at most once per
   * attempt, before its onComplete; front doors that cannot see it never call it).
   */
  onFirstToken?(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void;
  /** An attempt sent to `endpoint` ended. */
  onComplete?(ctx: SchedulingContext, endpoint: SchedulingEndpoint, outcome: RequestOutcome): void;
}

export interface Filter extends PluginBase {
  readonly kind: 'filter';
  /** A subset of `candidates` (may be the same array). Must not return an empty list from a non-empty one. */
  filter<E extends SchedulingEndpoint>(ctx: SchedulingContext, candidates: readonly E[]): readonly E[];
}

/**
 * `affinity` scorers prefer particular endpoints (prefix, LoRA, session); `distribution` scorers
 * spread load. The runner reports an affinity scorer as the reason of a pick when it was decisive.
 */
export type ScorerCategory = 'affinity' | 'distribution';

export interface Scorer extends PluginBase {
  readonly kind: 'scorer';
  readonly category: ScorerCategory;
  /** Writes one raw score per candidate into `out[0 … candidates.length)`; the runner clamps to [0,1]. */
  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void;
  /** Called when this scorer's term decided the pick (the runner logs and counts it). */
  onDecisive?(
    ctx: SchedulingContext,
    picked: SchedulingEndpoint,
    candidates: readonly SchedulingEndpoint[],
  ): void;
}

export interface Picker extends PluginBase {
  readonly kind: 'picker';
  /** True when the pick follows the scores deterministically (decisive-scorer analysis applies). */
  readonly followsScores: boolean;
  /**
   * Candidate indices, best first, at most `maxNumOfEndpoints`, at least one for a non-empty list.
   * `scores[i]` is candidate i's weighted total.
   */
  pick(
    ctx: SchedulingContext,
    candidates: readonly SchedulingEndpoint[],
    scores: Float64Array,
    rng: Rng,
  ): readonly number[];
}

export interface WeightedScorer {
  readonly scorer: Scorer;
  /** ≥ 0; the reference format's default is 1. */
  readonly weight: number;
}

export interface SchedulerProfile {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: Picker;
}

export interface ProfileHandler extends PluginBase {
  readonly kind: 'profile-handler';
  /** The profile to run for this request. */
  pickProfile(ctx: SchedulingContext, profiles: readonly SchedulerProfile[]): SchedulerProfile;
}

export type Plugin = Filter | Scorer | Picker | ProfileHandler;
export type PluginKind = Plugin['kind'];

/** Builds a plugin from its config entry; throws PluginParamsError on bad parameters. */
export type PluginFactory = (name: string, params: Readonly<Record<string, unknown>>) => Plugin;

/** What a plugin may reach of the pool it serves. */
export interface PluginHost {
  /** Pool key `namespace/name`. */
  readonly poolKey: string;
  readonly logger: Logger;
  readonly rng: Rng;
  readonly saturation: SaturationConfig;
  /** Counters the plugins feed (the pool's Prometheus metrics). */
  readonly telemetry?: SchedulingTelemetry;
  /**
   * The gateway's KV-event subscriptions (the precise prefix-cache scorer's source). Absent where
   * the host may not connect to endpoints (unit tests, `--no-scrape`): such plugins fall back.
   */
  readonly kvEvents?: KvEventsService;
  /**
   * Pool-owned state kept across reloads (e.g. the prefix index), created on first use. A value
   * with `removeEndpoint(id)` is told when an endpoint leaves the pool.
   */
  shared<T extends object>(key: string, create: () => T): T;
}

export interface SchedulingTelemetry {
  /** One prefix lookup per request, at its first dispatch: its blocks and those the endpoint held. */
  prefixLookup(totalBlocks: number, matchedBlocks: number): void;
}

/** Implemented by shared state that holds per-endpoint data. */
export interface EndpointAware {
  removeEndpoint(id: string): void;
}
