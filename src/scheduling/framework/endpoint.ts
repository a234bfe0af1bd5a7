/**
 * What the scheduling framework reads of an endpoint and of a finished request. Scheduling declares
 * these itself so that it depends on no room above it: the datastore's `EndpointState` satisfies
 * `SchedulingEndpoint` structurally, and request control reports `RequestOutcome`s.
 */
import type { MetricsFreshness, ModelServerMetrics } from '../../scraping/model-server-metrics.js';

/** Characters per token assumed when only text is known (the reference picker uses 4). */
export const CHARS_PER_TOKEN = 4;

/** One candidate endpoint as plugins see it: identity, the last scrape, and load estimates. */
export interface SchedulingEndpoint {
  /** `address:port`. */
  readonly id: string;
  /** Its address and Pod labels (for plugins that connect to the endpoint, e.g. for KV events). */
  readonly endpoint: { readonly address: string; readonly labels: Readonly<Record<string, string>> };
  /** Latest scraped snapshot; undefined before the first successful scrape. */
  readonly metrics: ModelServerMetrics | undefined;
  /** `performance.now()` when the scrape behind `metrics` was sent; −∞ when never. */
  readonly metricsAt: number;
  /** Requests dispatched here and not completed: this gateway's, plus its peers' with load sharing. */
  readonly inflightRequests: number;
  /** Their estimated prompt tokens. */
  readonly inflightPromptTokens: number;
  freshness(now: number, staleAfterMs: number): MetricsFreshness;
  /** Milliseconds since the snapshot's scrape was sent (∞ when there is none). */
  metricsAge(now: number): number;
  /** Waiting queue now (scrape + what this gateway sent since). */
  estWaiting(): number;
  /** Requests on the server (running + waiting) now. */
  estRequests(): number;
  /** KV capacity in tokens when the engine exports its cache config. */
  kvCapacityTokens(): number | undefined;
  /** KV utilisation now in [0, 1]; undefined without a reading. */
  estKvUsage(): number | undefined;
  /**
   * Uncached prompt tokens of the requests sent here that have not answered their first token yet
   * (nor ended): the prefill work queued or running ahead of a new request. This gateway's, plus its
   * peers' with load sharing.
   */
  readonly pendingPrefillTokens: number;
  /** How many requests those tokens belong to. */
  readonly pendingPrefillRequests: number;
  /** A request this gateway dispatched: its uncached prompt tokens start counting as pending prefill. */
  startPrefill(tokens: number): void;
  /** …and stop at its first token (or its end without one). */
  endPrefill(tokens: number): void;
}

/** What a request's completion looked like, for in-flight accounting and learning. */
export interface RequestOutcome {
  /** HTTP status sent upstream returned (0 when no response arrived). */
  status: number;
  /** True when the response was sent to the client in full. */
  ok: boolean;
  ttftMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Why it failed, when it did: `connect`, `timeout`, `reset`, `client-abort` … */
  error?: string;
}
