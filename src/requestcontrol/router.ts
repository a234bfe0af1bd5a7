/**
 * One InferencePool's router: objective → admission (shed / queue when every endpoint is saturated)
 * → scheduler (filters → scorers → picker) → decision. The decision carries the request's scheduling
 * context until completion, so dispatch and completion reach the endpoint accounting and the plugins
 * (prefix index insertion, session memory).
 *
 * Owned by the registry; `update` is called on every reload with the pool's new plan and keeps the
 * endpoint states, the prefix index (pool-shared plugin state) and the queue.
 */

import type { Logger } from 'pino';
import type { Criticality, PickerConfigPlan, PoolPlan } from '../config/plan.js';
import type { EndpointState } from '../datastore/endpoint-state.js';
import { type ObjectiveChoice, PoolObjectives, type UnknownModelPolicy } from '../datastore/objectives.js';
import { GatewayError } from '../openai/errors.js';
import { rewriteModel } from '../openai/model-rewrite.js';
import { buildScheduler } from '../scheduling/framework/config.js';
import { SchedulingContext } from '../scheduling/framework/context.js';
import type { ScheduleResult, Scheduler } from '../scheduling/framework/scheduler.js';
import { ScheduleTrace } from '../scheduling/framework/trace.js';
import type { EndpointAware, PluginHost, SchedulingTelemetry } from '../scheduling/framework/types.js';
import { SaturationFilter } from '../scheduling/plugins/filters/saturation-filter.js';
import { PREFIX_MATCH, type PrefixMatch } from '../scheduling/plugins/scorers/prefix-cache-scorer.js';
import { DEFAULT_PICKER_CONFIG, pickerConfigFor } from '../scheduling/profiles.js';
import { allSaturated, type SaturationConfig } from '../scheduling/saturation.js';
import type { KvEventsService } from '../scraping/kv-events/service.js';
import type { DecisionRecord, DecisionRing } from '../telemetry/decision-ring.js';
import type { Rng } from '../util/rng.js';
import { AdmissionQueue } from './admission.js';
import type { PoolTelemetrySource, SchedulerMetrics } from './scheduler-telemetry.js';
import type { Endpoint, InferenceRequest, PoolRouter, RequestOutcome, RoutingDecision } from './types.js';

export interface PoolRouterOptions {
  readonly logger: Logger;
  readonly rng: Rng;
  readonly metrics: SchedulerMetrics;
  /** Saturation thresholds when the pool's profile has no saturation-filter. */
  readonly saturation: SaturationConfig;
  /**
   * True: while every endpoint is saturated, non-sheddable requests wait in the pool's gateway queue
   * (flow control). False (the reference's default): they go to the model servers, which queue them.
   */
  readonly flowControl: boolean;
  readonly queueSize: number;
  readonly queueTimeoutMs: number;
  readonly fallbacks: number;
  readonly unknownModels: UnknownModelPolicy;
  /** A built-in or explicit config that overrides every pool's own (benchmark baselines). */
  readonly forcedConfig: PickerConfigPlan | undefined;
  readonly pluginTimings: boolean;
  /** A decision never dispatched releases its reservation after this long, ms. */
  readonly reservationTtlMs: number;
  /** Where sampled decisions are recorded ("why this endpoint"); undefined: never. */
  readonly decisions: DecisionRing | undefined;
  /** KV-event subscriptions for plugins that read them (absent: no connections to endpoints). */
  readonly kvEvents?: KvEventsService;
  /** Settling long prefills with peer gateways (absent: no peers, or turned off). */
  readonly settle?: PeerSettle;
}

/**
 * Two gateway replicas that decide within a message's trip of each other cannot see each other's
 * load, and may both send a long cold prefill to one idle-looking replica. A decision whose
 * uncached prompt on its pick is at least `minTokens` is therefore published as a claim and held
 * `windowMs` before it is dispatched; if a peer whose id sorts lower claimed the same endpoint in
 * that window (or the window before the decision), this gateway decides again without it (at
 * most MAX_SETTLE_MOVES times). The lower id keeps the endpoint, so exactly one of two moves.
 */
export interface PeerSettle {
  /** This gateway's id among its peers (PeerLoadShare.id). */
  readonly self: string;
  readonly windowMs: number;
  readonly minTokens: number;
}

/** Re-decisions one request may take while settling. */
const MAX_SETTLE_MOVES = 3;

export class InferencePoolRouter implements PoolRouter, PoolTelemetrySource {
  readonly key: string;
  plan: PoolPlan;
  /** Ready-or-not endpoints of the pool, in plan order; states are owned by the registry. */
  endpoints: readonly EndpointState[] = [];
  objectives: PoolObjectives;
  scheduler!: Scheduler;
  saturation!: SaturationConfig;
  readonly queue: AdmissionQueue;

  private readonly opts: PoolRouterOptions;
  private readonly shared = new Map<string, object>();
  private configKey = '';
  private wakePending = false;
  private closed = false;
  private routableCache: EndpointState[] | undefined;
  private readonly telemetry: SchedulingTelemetry;
  /** Decisions holding a reservation, oldest first (from `pendingHead`); swept on every decision. */
  private pending: (Decision | undefined)[] = [];
  private pendingHead = 0;

  constructor(plan: PoolPlan, endpoints: readonly EndpointState[], opts: PoolRouterOptions) {
    this.key = plan.key;
    this.plan = plan;
    this.opts = opts;
    this.queue = new AdmissionQueue(opts.queueSize);
    this.objectives = new PoolObjectives(plan, opts.unknownModels);
    this.telemetry = {
      prefixLookup: (total, matched) => opts.metrics.prefixLookup(this.key, total, matched),
    };
    this.update(plan, endpoints);
  }

  get queueSize(): number {
    return this.queue.size;
  }

  /** Applies a reload: new plan, new endpoint list; rebuilds the scheduler only if its config changed. */
  update(plan: PoolPlan, endpoints: readonly EndpointState[]): void {
    this.objectives = new PoolObjectives(plan, this.opts.unknownModels);
    this.setEndpoints(plan, endpoints);
    const config = this.opts.forcedConfig ?? pickerConfigFor(plan);
    const key = configKey(config);
    if (key !== this.configKey) {
      this.scheduler = this.build(config);
      this.configKey = key;
    }
  }

  /**
   * A new endpoint set for a pool whose plan changed in nothing else (pod churn): objectives and
   * scheduler are kept; plugins forget the endpoints that left; queued requests are retried.
   */
  setEndpoints(plan: PoolPlan, endpoints: readonly EndpointState[]): void {
    const gone = this.endpoints.filter((e) => !endpoints.includes(e));
    this.plan = plan;
    this.endpoints = endpoints;
    this.routableCache = undefined;
    for (const ep of gone) {
      for (const v of this.shared.values()) (v as Partial<EndpointAware>).removeEndpoint?.(ep.id);
      this.opts.metrics.forgetEndpoint(this.key, ep.id);
    }
    this.wake();
  }

  /** Endpoint states changed (scrape result, health): recompute candidates and retry the queue. */
  endpointsChanged(): void {
    this.routableCache = undefined;
    this.wake();
  }

  prefixIndexEntries(): number {
    let total = 0;
    for (const v of this.shared.values()) {
      const size = (v as { size?: unknown }).size;
      if (typeof size === 'number') total += size;
    }
    return total;
  }

  /** Pool-shared plugin state by key (for tests and the micro-benchmark). */
  sharedState(key: string): object | undefined {
    return this.shared.get(key);
  }

  async route(req: InferenceRequest, signal: AbortSignal): Promise<RoutingDecision> {
    if (this.closed) throw new GatewayError('NO_READY_ENDPOINT', `InferencePool ${this.key} is gone.`);
    const choice = this.objectives.resolve(req, this.opts.rng);
    let candidates = this.candidatesFor(req);

    // Saturation matters only to a sheddable request or to flow control: skip the scan otherwise.
    const saturated =
      (choice.priority < 0 || this.opts.flowControl) &&
      allSaturated(candidates, performance.now(), this.saturation);
    if (saturated && choice.priority < 0) {
      this.opts.metrics.shed.inc({ pool: this.key, reason: 'saturated' });
      throw new GatewayError(
        'POOL_SATURATED',
        'Every endpoint of the pool is saturated; sheddable request dropped.',
      );
    }
    if (this.opts.flowControl && (saturated || this.queue.size > 0)) {
      const queuedAt = performance.now();
      const waiting = this.queue.wait(choice.priority, this.opts.queueTimeoutMs, signal);
      this.wake();
      try {
        await waiting;
      } catch (err) {
        if (err instanceof GatewayError) {
          const reason =
            err.code === 'QUEUE_TIMEOUT'
              ? 'queue-timeout'
              : err.code === 'POOL_SATURATED'
                ? 'queue-full'
                : undefined;
          if (reason) this.opts.metrics.shed.inc({ pool: this.key, reason });
        }
        throw err;
      }
      this.opts.metrics.queueWait.observe({ pool: this.key }, (performance.now() - queuedAt) / 1000);
      candidates = this.candidatesFor(req);
    }
    const t0 = performance.now();
    const scheduler = this.scheduler;
    const ctx = new SchedulingContext(req, choice.targetModel, choice.priority, scheduler.promptChars, t0);
    let preparedMs = 0;
    if (scheduler.prepare(ctx)) {
      // the request's own work (tokenizing) is done: let load updates that arrived meanwhile in
      preparedMs = performance.now() - t0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed) throw noEndpoint(this.key);
      candidates = this.candidatesFor(req);
    }
    const decision = this.decide(req, choice, candidates, ctx, scheduler, preparedMs);
    const settle = this.opts.settle;
    return settle && settle.windowMs > 0 ? this.settle(settle, decision, req, choice, candidates) : decision;
  }

  /** PeerSettle: holds a long cold decision for the window, and decides again if a lower peer claimed its endpoint. */
  private async settle(
    s: PeerSettle,
    first: Decision,
    req: InferenceRequest,
    choice: ObjectiveChoice,
    candidates: readonly EndpointState[],
  ): Promise<RoutingDecision> {
    let decision = first;
    let pool = candidates;
    for (let moves = 0; ; moves++) {
      const target = decision.reserved;
      if (target === undefined || decision.uncachedOnPrimary() < s.minTokens) return decision;
      const since = performance.now() - s.windowMs;
      decision.claim();
      await new Promise<void>((resolve) => setTimeout(resolve, s.windowMs));
      if (this.closed || decision.reserved !== target) return decision;
      if (moves >= MAX_SETTLE_MOVES || !target.claimedBy(s.self, since)) return decision;
      const rest = pool.filter((e) => e !== target);
      if (rest.length === 0) return decision;
      this.opts.metrics.settleMoves.inc({ pool: this.key });
      decision.expire();
      pool = rest;
      decision = this.decide(req, choice, rest, decision.ctx, decision.scheduler, 0);
    }
  }

  /** The routable endpoints the request may go to; NO_READY_ENDPOINT when there are none. */
  private candidatesFor(req: InferenceRequest): readonly EndpointState[] {
    const candidates = inSubset(this.routable(), req.endpointSubset);
    if (candidates.length === 0) throw noEndpoint(this.key);
    return candidates;
  }

  /** Stops admitting; waiters fail with NO_READY_ENDPOINT. */
  close(): void {
    this.closed = true;
    this.queue.rejectAll(noEndpoint(this.key));
  }

  /** `preparedMs`: time the plugins' prepare took before a yield; counted in the decision's duration. */
  private decide(
    req: InferenceRequest,
    choice: ObjectiveChoice,
    candidates: readonly EndpointState[],
    ctx: SchedulingContext,
    scheduler: Scheduler,
    preparedMs: number,
  ): Decision {
    ctx.now = performance.now();
    const t0 = ctx.now - preparedMs;
    this.sweepReservations(ctx.now);
    const ring = this.opts.decisions;
    const trace = ring?.wanted() ? new ScheduleTrace() : undefined;
    const result = scheduler.schedule(ctx, candidates, trace);
    const primary = result.endpoints[0]!;
    const rewritten =
      choice.targetModel !== undefined &&
      choice.clientModel !== undefined &&
      choice.targetModel !== choice.clientModel;
    const body = rewritten ? rewriteModel(req.body, choice.targetModel!, req.json) : req.body;
    const metrics = this.opts.metrics;
    const decisionSeconds = (performance.now() - t0) / 1000;
    metrics.duration.observe({ pool: this.key }, decisionSeconds);
    metrics.referenceE2e.observe(decisionSeconds);
    metrics.pick(this.key, primary.id, result.reason);
    const reason = `${result.reason} → ${primary.id} (score ${result.score.toFixed(2)}, ${result.filtered}/${candidates.length} candidates; seen there: ${primary.loadSummary()})`;
    const record = trace ? ring!.push(this.draft(req, choice, candidates, result, trace, t0)) : undefined;
    const decision = new Decision(
      this,
      scheduler,
      ctx,
      result.endpoints,
      body,
      choice,
      rewritten,
      reason,
      ctx.now,
      record,
    );
    this.pending.push(decision);
    return decision;
  }

  /** The decision record of a traced decision (off the hot path: only sampled decisions get here). */
  private draft(
    req: InferenceRequest,
    choice: ObjectiveChoice,
    candidates: readonly EndpointState[],
    result: ScheduleResult,
    trace: ScheduleTrace,
    t0: number,
  ): Parameters<DecisionRing['push']>[0] {
    const eps = result.endpoints;
    return {
      requestId: req.id,
      pool: this.key,
      model: req.model,
      targetModel: choice.targetModel,
      objective: choice.objective,
      criticality: choice.criticality,
      candidates: candidates.map((e) => e.id),
      profile: trace.profile,
      filters: trace.filters,
      scored: trace.scored.length > 0 ? trace.scored : [eps[0]!.id],
      scorers: trace.scorers,
      totals: trace.totals,
      picker: trace.picker,
      pick: eps[0]!.id,
      fallbacks: eps.slice(1).map((e) => e.id),
      decisive: result.decisive?.type,
      reason: result.reason,
      score: result.score,
      durationUs: Math.round((performance.now() - t0) * 1000),
    };
  }

  /** Releases the reservations of decisions never dispatched within the TTL (client gone first). */
  private sweepReservations(now: number): void {
    const ttl = this.opts.reservationTtlMs;
    const list = this.pending;
    let head = this.pendingHead;
    while (head < list.length) {
      const d = list[head]!;
      if (d.reserved && now - d.decidedAt < ttl) break;
      d.expire();
      list[head] = undefined; // swept: let the decision (and its request body) be collected
      head++;
    }
    if (head > 1024 && head * 2 > list.length) {
      this.pending = list.slice(head);
      head = 0;
    }
    this.pendingHead = head;
  }

  /** Called by decisions: an attempt ended, capacity may have freed. */
  wake(): void {
    if (this.wakePending || this.queue.size === 0 || this.closed) return;
    this.wakePending = true;
    setImmediate(this.drain);
  }

  /** Releases one waiter per turn of the event loop, so its dispatch is counted before the next. */
  private readonly drain = (): void => {
    this.wakePending = false;
    if (this.queue.size === 0 || this.closed) return;
    const candidates = this.routable();
    if (candidates.length === 0) {
      this.queue.rejectAll(noEndpoint(this.key));
      return;
    }
    if (allSaturated(candidates, performance.now(), this.saturation)) return;
    this.queue.releaseOne();
    this.wake();
  };

  private routable(): readonly EndpointState[] {
    if (this.routableCache) return this.routableCache;
    const out: EndpointState[] = [];
    for (const ep of this.endpoints) if (ep.routable) out.push(ep);
    this.routableCache = out;
    return out;
  }

  private build(config: PickerConfigPlan): Scheduler {
    let scheduler: Scheduler;
    try {
      scheduler = buildScheduler(config, this.opts.rng, this.opts.fallbacks);
    } catch (err) {
      this.opts.logger.error(
        { pool: this.key, err: err instanceof Error ? err.message : String(err) },
        'EndpointPickerConfig does not load; using the default profile',
      );
      scheduler = buildScheduler(DEFAULT_PICKER_CONFIG, this.opts.rng, this.opts.fallbacks);
    }
    const host: PluginHost = {
      poolKey: this.key,
      logger: this.opts.logger,
      rng: this.opts.rng,
      saturation: this.opts.saturation,
      telemetry: this.telemetry,
      kvEvents: this.opts.kvEvents,
      shared: <T extends object>(key: string, create: () => T): T => {
        let v = this.shared.get(key) as T | undefined;
        if (!v) {
          v = create();
          this.shared.set(key, v);
        }
        return v;
      },
    };
    for (const p of scheduler.plugins) p.attach?.(host);
    const filter = scheduler.plugins.find((p): p is SaturationFilter => p instanceof SaturationFilter);
    this.saturation = filter ? filter.config : { ...this.opts.saturation, ...config.saturationDetector };
    if (this.opts.pluginTimings) {
      const h = this.opts.metrics;
      scheduler.timer = (plugin, seconds) => h.pluginDuration(plugin.type, seconds);
    }
    return scheduler;
  }
}

/**
 * One routing decision. Its primary endpoint is counted (reserved) as the decision is taken, so
 * decisions taken back to back — a burst, or a queue releasing several waiters — see each other
 * before any is dispatched. The first dispatch keeps the reservation (or moves it to the endpoint
 * actually used); a decision never dispatched gives it back after the router's reservation TTL.
 */
class Decision implements RoutingDecision {
  readonly endpoints: readonly Endpoint[];
  readonly body: Buffer;
  readonly targetModel: string | undefined;
  readonly responseModel?: { readonly upstream: string; readonly client: string };
  readonly reason: string;
  readonly criticality?: Criticality;
  readonly objective?: string;
  readonly record?: DecisionRecord;
  readonly decidedAt: number;
  /** The endpoint counted for this decision until its first dispatch. */
  reserved: EndpointState | undefined;
  /** Where this decision claimed a long prefill (PeerSettle) until it answers, ends or moves. */
  private claimed: EndpointState | undefined;
  /** States of the attempts dispatched and not yet completed. */
  private readonly attempts: EndpointState[] = [];
  /** Those of them that answered their first token. */
  private readonly firstTokens: EndpointState[] = [];
  private readonly states: readonly EndpointState[];
  private readonly tokens: number;

  constructor(
    private readonly router: InferencePoolRouter,
    readonly scheduler: Scheduler,
    readonly ctx: SchedulingContext,
    states: readonly EndpointState[],
    body: Buffer,
    choice: ObjectiveChoice,
    rewritten: boolean,
    reason: string,
    decidedAt: number,
    record: DecisionRecord | undefined,
  ) {
    this.states = states;
    this.endpoints = states.map((s) => s.endpoint);
    this.body = body;
    this.targetModel = choice.targetModel;
    if (rewritten) this.responseModel = { upstream: choice.targetModel!, client: choice.clientModel! };
    this.reason = reason;
    if (choice.criticality) this.criticality = choice.criticality;
    if (choice.objective) this.objective = choice.objective;
    this.decidedAt = decidedAt;
    if (record) this.record = record;
    this.tokens = ctx.estPromptTokens();
    this.reserved = states[0]!;
    this.reserved.acquire(this.tokens);
  }

  /** Prompt tokens the scheduler's prefix match does not expect cached on the primary (all when unknown). */
  uncachedOnPrimary(): number {
    const prompt = this.tokens;
    const match = this.ctx.get<PrefixMatch>(PREFIX_MATCH);
    const i = match ? match.candidates.indexOf(this.states[0]!) : -1;
    return i >= 0 ? Math.max(0, prompt - match!.cachedTokens(i, prompt)) : prompt;
  }

  /** Claims the primary for PeerSettle (once). */
  claim(): void {
    if (this.claimed !== undefined) return;
    this.claimed = this.states[0]!;
    this.claimed.claim();
  }

  private unclaim(): void {
    const c = this.claimed;
    this.claimed = undefined;
    c?.unclaim();
  }

  onDispatch(endpoint: Endpoint): void {
    const state =
      this.states.find((e) => e.id === endpoint.id) ??
      this.router.endpoints.find((e) => e.id === endpoint.id);
    if (this.claimed !== undefined && this.claimed !== state) this.unclaim();
    const reserved = this.reserved;
    this.reserved = undefined;
    if (reserved && reserved !== state) reserved.release(this.tokens, this.tokens);
    if (!state) return;
    if (reserved !== state) state.acquire(this.tokens);
    this.attempts.push(state);
    this.scheduler.dispatched(this.ctx, state);
  }

  onFirstToken(endpoint: Endpoint): void {
    const state = this.attempts.find((e) => e.id === endpoint.id);
    if (!state || this.firstTokens.includes(state)) return;
    if (this.claimed === state) this.unclaim();
    this.firstTokens.push(state);
    this.scheduler.firstToken(this.ctx, state);
  }

  onComplete(endpoint: Endpoint, outcome: RequestOutcome): void {
    const i = this.attempts.findIndex((e) => e.id === endpoint.id);
    if (i < 0) return;
    const state = this.attempts[i]!;
    this.attempts.splice(i, 1);
    if (this.claimed === state) this.unclaim();
    const f = this.firstTokens.indexOf(state);
    if (f >= 0) this.firstTokens.splice(f, 1);
    const freed = (outcome.promptTokens ?? this.tokens) + (outcome.completionTokens ?? 0);
    state.release(this.tokens, freed);
    this.scheduler.completed(this.ctx, state, outcome);
    this.router.wake();
  }

  /** Gives the reservation back if the decision was never dispatched. */
  expire(): void {
    this.unclaim();
    const reserved = this.reserved;
    if (!reserved) return;
    this.reserved = undefined;
    reserved.release(this.tokens, this.tokens);
    this.router.wake();
  }
}

/** The candidates whose address is in the proxy's subset hint (all of them without a hint). */
function inSubset(
  candidates: readonly EndpointState[],
  subset: readonly string[] | undefined,
): readonly EndpointState[] {
  if (subset === undefined) return candidates;
  const addresses = new Set<string>();
  for (const s of subset) addresses.add(addressOf(s));
  return candidates.filter((c) => addresses.has(c.endpoint.address));
}

/** `10.0.0.1:8000` → `10.0.0.1`; `[::1]:8000` → `::1`; a bare address as it is. */
function addressOf(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    return close < 0 ? hostPort : hostPort.slice(1, close);
  }
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 || hostPort.indexOf(':') !== colon ? hostPort : hostPort.slice(0, colon);
}

function noEndpoint(pool: string): GatewayError {
  return new GatewayError('NO_READY_ENDPOINT', `No ready endpoint in InferencePool ${pool}.`);
}

/** Identity of a config for "did it change?" (the source location does not matter). */
function configKey(cfg: PickerConfigPlan): string {
  return JSON.stringify([cfg.name, cfg.plugins, cfg.schedulingProfiles]);
}
