/**
 * The scheduler's Prometheus metrics, registered in the gateway's process Registry. Labels are
 * bounded by the config: `pool` (configured pools), `endpoint` (their endpoints; series of departed
 * endpoints are removed), `reason` (plugin type names and a few fixed words). Gauges are computed
 * when Prometheus scrapes, not on the request path.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EndpointState } from '../datastore/endpoint-state.js';
import { registerReferencePoolMetrics } from '../telemetry/reference-metrics.js';
import { loadedTokenizers } from '../tokenizer/index.js';

/** What the gauges read at collection time. */
export interface PoolTelemetrySource {
  readonly key: string;
  readonly endpoints: readonly EndpointState[];
  readonly queueSize: number;
  /** Entries of the pool's prefix indexes. */
  prefixIndexEntries(): number;
}

/** Seconds: a decision takes tens of microseconds; waiting in the queue is not included. */
const DECISION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
];

export class SchedulerMetrics {
  readonly duration: Histogram<'pool'>;
  readonly picks: Counter<'pool' | 'endpoint' | 'reason'>;
  /** Long-prefill decisions moved because a peer gateway claimed the same endpoint (PeerSettle). */
  readonly settleMoves: Counter<'pool'>;
  readonly prefixLookups: Counter<'pool'>;
  readonly prefixHits: Counter<'pool'>;
  readonly prefixRequestedBlocks: Counter<'pool'>;
  readonly prefixMatchedBlocks: Counter<'pool'>;
  readonly shed: Counter<'pool' | 'reason'>;
  readonly queueWait: Histogram<'pool'>;
  readonly pluginDurations: Histogram<'plugin_type'>;
  /** The reference picker's inference_extension_scheduler_e2e_duration_seconds (no labels). */
  readonly referenceE2e: Histogram<string>;
  /** reasons seen per pool, to remove an endpoint's pick series when it leaves. */
  private readonly reasons = new Map<string, Set<string>>();

  constructor(registry: Registry, pools: () => Iterable<PoolTelemetrySource>) {
    const registers = [registry];
    // The reference picker's pool gauges (label `name`: the pool's name), from fresh metrics only.
    this.referenceE2e = registerReferencePoolMetrics(registry, function* () {
      for (const p of pools()) {
        const fresh = p.endpoints.filter((ep) => ep.routable && ep.metrics !== undefined);
        yield {
          name: p.key.slice(p.key.indexOf('/') + 1),
          readyPods: p.endpoints.filter((ep) => ep.routable).length,
          kvUsages: fresh.flatMap((ep) => (ep.metrics!.kvUsage !== undefined ? [ep.metrics!.kvUsage] : [])),
          queueSizes: fresh.map((ep) => ep.metrics!.waiting),
        };
      }
    });
    this.duration = new Histogram({
      name: 'infergate_scheduler_duration_seconds',
      help: 'Time to take one routing decision (objective, filters, scorers, picker), excluding queueing.',
      labelNames: ['pool'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.picks = new Counter({
      name: 'infergate_scheduler_picks_total',
      help: 'Primary endpoint picks, by the scorer or picker that decided them.',
      labelNames: ['pool', 'endpoint', 'reason'],
      registers,
    });
    this.settleMoves = new Counter({
      name: 'infergate_peer_settle_moves_total',
      help: 'Long-prefill decisions taken again elsewhere because a peer gateway claimed the same endpoint at the same time.',
      labelNames: ['pool'],
      registers,
    });
    this.prefixLookups = new Counter({
      name: 'infergate_prefix_index_lookups_total',
      help: 'Requests looked up in the prefix index (counted at first dispatch).',
      labelNames: ['pool'],
      registers,
    });
    this.prefixHits = new Counter({
      name: 'infergate_prefix_index_hits_total',
      help: 'Lookups whose chosen endpoint held at least the first block of the prompt.',
      labelNames: ['pool'],
      registers,
    });
    this.prefixRequestedBlocks = new Counter({
      name: 'infergate_prefix_index_requested_blocks_total',
      help: 'Prompt blocks looked up.',
      labelNames: ['pool'],
      registers,
    });
    this.prefixMatchedBlocks = new Counter({
      name: 'infergate_prefix_index_matched_blocks_total',
      help: 'Prompt blocks the chosen endpoint was believed to hold (block hit ratio = matched / requested).',
      labelNames: ['pool'],
      registers,
    });
    this.shed = new Counter({
      name: 'infergate_shed_total',
      help: 'Requests refused by admission: saturated (sheddable), queue-full, queue-timeout.',
      labelNames: ['pool', 'reason'],
      registers,
    });
    this.queueWait = new Histogram({
      name: 'infergate_admission_queue_wait_seconds',
      help: 'Time admitted requests waited in the gateway queue.',
      labelNames: ['pool'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    });
    // Chat-template renders of the tokenizers this process loaded (the precise scorer's), by path;
    // `tokenizer` is the tokenizer.json a scorer names.
    const counted = new Map<string, number>();
    new Counter({
      name: 'infergate_chat_template_renders_total',
      help:
        'Chat templates rendered for scoring, by who rendered them: the compiled form (compiled) or ' +
        "@huggingface/jinja's interpreter (library: a template or request the compiler does not cover).",
      labelNames: ['tokenizer', 'path'],
      registers,
      collect() {
        for (const tok of loadedTokenizers()) {
          const stats = tok.chatTemplateStats;
          if (!stats) continue;
          const tokenizer = tok.name;
          for (const path of ['compiled', 'library'] as const) {
            const key = `${tok.name}\u0000${path}`;
            const delta = stats[path] - (counted.get(key) ?? 0);
            if (delta > 0) this.inc({ tokenizer, path }, delta);
            counted.set(key, stats[path]);
          }
        }
      },
    });
    new Gauge({
      name: 'infergate_chat_template_compiled',
      help: '1 while the chat template renders compiled (with the library for what it does not cover), 0 when only the library renders it.',
      labelNames: ['tokenizer'],
      registers,
      collect() {
        this.reset();
        for (const tok of loadedTokenizers()) {
          const stats = tok.chatTemplateStats;
          if (stats) this.set({ tokenizer: tok.name }, stats.kind === 'compiled' ? 1 : 0);
        }
      },
    });
    this.pluginDurations = new Histogram({
      name: 'infergate_scheduler_plugin_duration_seconds',
      help: 'Time spent in each plugin type per decision (only with plugin timings enabled).',
      labelNames: ['plugin_type'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'infergate_prefix_index_blocks',
      help: '(block, endpoint) entries held by the prefix index.',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) this.set({ pool: p.key }, p.prefixIndexEntries());
      },
    });
    new Gauge({
      name: 'infergate_admission_queue_size',
      help: 'Requests waiting in the gateway queue for an unsaturated endpoint.',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) this.set({ pool: p.key }, p.queueSize);
      },
    });
    new Gauge({
      name: 'infergate_pool_endpoint_metrics_age_seconds',
      help: 'Age of the endpoint metrics snapshot (absent until the first successful scrape).',
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        this.reset();
        const now = performance.now();
        for (const p of pools()) {
          for (const ep of p.endpoints) {
            if (ep.metrics) this.set({ pool: p.key, endpoint: ep.id }, (now - ep.metricsAt) / 1000);
          }
        }
      },
    });
    new Gauge({
      name: 'infergate_pool_endpoint_healthy',
      help: '1 when the endpoint is in rotation (ready and its metrics answer), 0 when taken out.',
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        this.reset();
        for (const p of pools())
          for (const ep of p.endpoints) this.set({ pool: p.key, endpoint: ep.id }, ep.routable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'infergate_pool_endpoint_inflight_requests',
      help: "This gateway's requests in flight to the endpoint.",
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) {
          for (const ep of p.endpoints) this.set({ pool: p.key, endpoint: ep.id }, ep.ownInflightRequests);
        }
      },
    });
    new Gauge({
      name: 'infergate_pool_endpoint_peer_inflight_requests',
      help: "Peer gateways' requests in flight to the endpoint, as they share them (load sharing; 0 without).",
      labelNames: ['pool', 'endpoint'],
      registers,
      collect() {
        this.reset();
        for (const p of pools()) {
          for (const ep of p.endpoints) this.set({ pool: p.key, endpoint: ep.id }, ep.peerInflightRequests);
        }
      },
    });
  }

  pick(pool: string, endpoint: string, reason: string): void {
    let set = this.reasons.get(pool);
    if (!set) {
      set = new Set();
      this.reasons.set(pool, set);
    }
    set.add(reason);
    this.picks.inc({ pool, endpoint, reason });
  }

  /** Drops the pick series of an endpoint that left the pool (bounded cardinality under churn). */
  forgetEndpoint(pool: string, endpoint: string): void {
    for (const reason of this.reasons.get(pool) ?? []) this.picks.remove({ pool, endpoint, reason });
  }

  pluginDuration(pluginType: string, seconds: number): void {
    this.pluginDurations.observe({ plugin_type: pluginType }, seconds);
  }

  prefixLookup(pool: string, totalBlocks: number, matchedBlocks: number): void {
    this.prefixLookups.inc({ pool });
    if (matchedBlocks > 0) this.prefixHits.inc({ pool });
    this.prefixRequestedBlocks.inc({ pool }, totalBlocks);
    if (matchedBlocks > 0) this.prefixMatchedBlocks.inc({ pool }, matchedBlocks);
  }
}
