/**
 * `session-affinity-scorer` (infergate; the llm-d scorer of the same name keeps the session in a
 * cookie the proxy must set, this one keeps it in the gateway): requests carrying the same session
 * key go back to the endpoint that served the session last — score 1 there, 0 elsewhere (0 for all
 * when the session is new or its endpoint is no longer a candidate).
 *
 * The key is the request header `header` (default `x-session-id`), or, with `userField: true`, the
 * OpenAI body field `user` when the header is absent. Sessions are remembered at dispatch in an LRU
 * of at most `maxSessions` entries.
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';

export const SESSION_AFFINITY_SCORER = 'session-affinity-scorer';

export interface SessionAffinityParams {
  readonly header: string;
  readonly userField: boolean;
  readonly maxSessions: number;
}

export class SessionAffinityScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = SESSION_AFFINITY_SCORER;
  readonly category = 'affinity';
  /** session key → endpoint id, least recently used first. */
  private readonly sessions = new Map<string, string>();

  constructor(
    readonly name: string,
    readonly params: SessionAffinityParams,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  score(ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    const key = this.keyOf(ctx);
    const id = key === undefined ? undefined : this.sessions.get(key);
    for (let i = 0; i < candidates.length; i++) out[i] = id !== undefined && candidates[i]!.id === id ? 1 : 0;
  }

  onDispatch(ctx: SchedulingContext, endpoint: SchedulingEndpoint): void {
    const key = this.keyOf(ctx);
    if (key === undefined) return;
    this.sessions.delete(key);
    this.sessions.set(key, endpoint.id);
    if (this.sessions.size > this.params.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
  }

  private keyOf(ctx: SchedulingContext): string | undefined {
    const h = ctx.request.headers[this.params.header];
    const v = Array.isArray(h) ? h[0] : h;
    if (v) return v;
    if (this.params.userField) {
      const u = ctx.request.json?.user;
      if (typeof u === 'string' && u.length > 0) return u;
    }
    return undefined;
  }
}

export function createSessionAffinityScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): SessionAffinityScorer {
  const p = new ParamReader(SESSION_AFFINITY_SCORER, params);
  const header = p.string('header', 'x-session-id').toLowerCase();
  const userField = p.bool('userField', false);
  const maxSessions = p.int('maxSessions', 10_000, { min: 1 });
  p.done();
  return new SessionAffinityScorer(name, { header, userField, maxSessions });
}
