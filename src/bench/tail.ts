/**
 * Evidence for a target's TTFT tail: the requests at or above its P99 TTFT, each with what the run
 * knows about it — when it was sent, its prompt and how much of it the replica found cached (from
 * the response's usage) — and, for infergate's targets, the gateway's access-log line for it (which
 * replica, the decisive scorer and the load the scheduler saw there at the pick). Times are in the
 * targets' (simulated) time. Pure: the caller reads the access log.
 */
import type { RequestRecord } from './client.js';
import { percentile } from './stats.js';

/** What the gateway logged for one request (access-log fields). */
export interface GatewayLine {
  endpoint?: string | undefined;
  reason?: string | undefined;
}

/** What is known of one request beyond its client record (every field optional but the first). */
export interface RequestEvidence {
  /** Prompt tokens found in the replica's prefix cache (null when no request of the run says). */
  cached_tokens: number | null;
  endpoint?: string | undefined;
  /** The gateway's reason: decisive scorer → endpoint (score …; load seen at the pick). */
  reason?: string | undefined;
  /** Prompt tokens the workload let it reuse (its ideal hit) and its TTFT floor (ttft-floor.ts). */
  reusable_tokens?: number | undefined;
  floor_ms?: number | undefined;
}

export interface TailRequest extends RequestEvidence {
  index: number;
  /** Sent at, seconds since the run started (simulated time). */
  sent_s: number;
  ttft_ms: number;
  prompt_tokens: number;
}

/** A request's floor, when known: its reusable tokens and its TTFT (simulated ms) on an idle replica. */
export type FloorOf = (r: RequestRecord) => { reusableTokens: number; floorMs: number } | undefined;

export interface TailEvidence {
  /** The P99 TTFT (simulated ms) the listed requests reach. */
  p99_ttft_ms: number;
  requests: TailRequest[];
  /** Share of the tail requests with fewer than half their prompt cached. */
  mostly_uncached_share: number | null;
  /** Tail requests per endpoint (infergate targets). */
  by_endpoint?: Record<string, number> | undefined;
  /** Tail requests per decisive scorer (the reason's first word; infergate targets). */
  by_decisive?: Record<string, number> | undefined;
}

/** At most this many tail requests are listed (slowest first). */
export const MAX_TAIL_REQUESTS = 40;

/**
 * `records` in wall ms; `timeScale` converts to simulated ms; `gateway` maps the request id the run
 * sent (`<idPrefix><index>`) to its access-log line.
 */
export function tailEvidence(
  records: readonly RequestRecord[],
  timeScale: number,
  gateway?: ReadonlyMap<string, GatewayLine>,
  idPrefix = '',
  floorOf?: FloorOf,
): TailEvidence | undefined {
  const ok = records.filter((r) => r.success && Number.isFinite(r.ttftMs));
  if (ok.length === 0) return undefined;
  const ttfts = ok.map((r) => r.ttftMs).sort((a, b) => a - b);
  const p99 = percentile(ttfts, 99);
  const tail = ok.filter((r) => r.ttftMs >= p99).sort((a, b) => b.ttftMs - a.ttftMs);
  const evidence = tail.map(requestEvidence(records, gateway, idPrefix, floorOf));
  const requests: TailRequest[] = tail.slice(0, MAX_TAIL_REQUESTS).map((r, i) => ({
    index: r.index,
    sent_s: round1(r.startMs / timeScale / 1000),
    ttft_ms: round1(r.ttftMs / timeScale),
    prompt_tokens: r.promptTokens,
    ...evidence[i]!,
  }));
  let known = 0;
  let uncached = 0;
  for (const [i, r] of tail.entries()) {
    const cached = evidence[i]!.cached_tokens;
    if (cached === null) continue;
    known++;
    if (cached < r.promptTokens / 2) uncached++;
  }
  const out: TailEvidence = {
    p99_ttft_ms: round1(p99 / timeScale),
    requests,
    mostly_uncached_share: known > 0 ? Math.round((uncached / known) * 100) / 100 : null,
  };
  if (gateway) {
    const byEp: Record<string, number> = {};
    const byDecisive: Record<string, number> = {};
    for (const r of tail) {
      const line = gateway.get(`${idPrefix}${r.index}`);
      if (!line) continue;
      if (line.endpoint) byEp[line.endpoint] = (byEp[line.endpoint] ?? 0) + 1;
      const decisive = line.reason?.split(' ')[0];
      if (decisive) byDecisive[decisive] = (byDecisive[decisive] ?? 0) + 1;
    }
    out.by_endpoint = byEp;
    out.by_decisive = byDecisive;
  }
  return out;
}

/**
 * Each request's evidence: its cached tokens (as in requestCacheOf: vLLM omits
 * prompt_tokens_details when nothing was cached, so once any request of the run reports it, a
 * request without it had 0), the gateway's access-log line (`gateway` maps `<idPrefix><index>` to
 * it) and its floor. The returned function is cheap per call.
 */
export function requestEvidence(
  records: readonly RequestRecord[],
  gateway?: ReadonlyMap<string, GatewayLine>,
  idPrefix = '',
  floorOf?: FloorOf,
): (r: RequestRecord) => RequestEvidence {
  const reported = records.some((r) => r.success && r.cachedTokens !== undefined);
  return (r) => {
    const line = gateway?.get(`${idPrefix}${r.index}`);
    const floor = floorOf?.(r);
    return {
      cached_tokens: r.cachedTokens ?? (reported ? 0 : null),
      ...(line?.endpoint !== undefined ? { endpoint: line.endpoint } : {}),
      ...(line?.reason !== undefined ? { reason: line.reason } : {}),
      ...(floor ? { reusable_tokens: floor.reusableTokens, floor_ms: round1(floor.floorMs) } : {}),
    };
  };
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/** Parses access-log lines (JSON, one per request) into id → endpoint and reason. */
export function parseAccessLog(text: string): Map<string, GatewayLine> {
  const out = new Map<string, GatewayLine>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.id !== 'string') continue;
      out.set(o.id, {
        endpoint: typeof o.endpoint === 'string' ? o.endpoint : undefined,
        reason: typeof o.reason === 'string' ? o.reason : undefined,
      });
    } catch {
      // A torn last line.
    }
  }
  return out;
}
