/**
 * The record of one finished request: the gateway's metrics, one access-log line, and the primary's
 * side of each mirror comparison. Written exactly once per request, after its last byte.
 */
import type { IncomingMessage } from 'node:http';
import type { AccessLog } from '../telemetry/access-log.js';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.js';
import type { MirrorPair } from './mirror.js';
import type { SideOutcome } from './mirror-stats.js';
import type { RouteEntry } from './route-table.js';
import type { BackendRuntime, RuleRuntime } from './state.js';

/** What a request noted on its way (the Exchange's fields). Times in ms. */
export interface ExchangeRecord {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly entry: RouteEntry<RuleRuntime> | undefined;
  readonly backend: BackendRuntime | undefined;
  readonly endpoint: string | undefined;
  readonly model: string | undefined;
  readonly targetModel: string | undefined;
  readonly status: number;
  readonly ttftMs: number | undefined;
  readonly promptTokens: number | undefined;
  readonly completionTokens: number | undefined;
  readonly retries: number;
  readonly reason: string | undefined;
  readonly error: string | undefined;
  /** Operator-only detail (upstream address, errno) for the access log. */
  readonly errorDetail: string | undefined;
  readonly mirrorNotes: readonly string[] | undefined;
  /** A pool request with a model: recorded in the reference picker's objective metrics. */
  readonly objectiveStarted: boolean;
}

export function recordExchange(
  ctx: { readonly metrics: GatewayMetrics; readonly accessLog: AccessLog },
  r: ExchangeRecord,
  durationMs: number,
  mirrorPairs: readonly MirrorPair[] | undefined,
): void {
  const entry = r.entry;
  ctx.metrics.requestFinished({
    listener: entry?.listener.key ?? '',
    route: entry?.route.key ?? '',
    backend: r.backend?.label ?? '',
    model: r.model,
    targetModel: r.targetModel,
    status: r.status,
    durationSeconds: durationMs / 1000,
    ttftSeconds: r.ttftMs !== undefined ? r.ttftMs / 1000 : undefined,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
  });
  if (r.objectiveStarted) {
    ctx.metrics.reference.finished(
      {
        model: r.model,
        targetModel: r.targetModel,
        status: r.status,
        durationSeconds: durationMs / 1000,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
      },
      true,
    );
  }
  ctx.accessLog.write({
    id: r.id,
    listener: entry?.listener.key,
    route: entry?.route.key,
    rule: entry?.rule.index,
    backend: r.backend?.label,
    endpoint: r.endpoint,
    method: r.req.method ?? '',
    path: r.req.url ?? '',
    model: r.model,
    target_model: r.targetModel,
    status: r.status,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    ttft_ms: r.ttftMs !== undefined ? round1(r.ttftMs) : undefined,
    duration_ms: round1(durationMs),
    retries: r.retries,
    reason: r.reason,
    error: r.error,
    error_detail: r.errorDetail,
    mirrors: r.mirrorNotes as string[] | undefined,
  });
  if (mirrorPairs !== undefined) {
    const side: SideOutcome = {
      status: r.error !== undefined && r.status < 400 ? 0 : r.status,
      latencyMs: durationMs,
      ttftMs: r.ttftMs,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      error: r.error,
    };
    for (const p of mirrorPairs) p.primaryDone(side);
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
