/**
 * Route + backend draw of one request: the HTTPRoute rule that matches it on its listener, and the
 * backendRef drawn by weight among the rule's. Gateway API answers 404 when no rule matches and 500
 * when the rule cannot route (no backendRefs, every weight 0, an unresolved ref).
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../openai/errors.js';
import { type Rng, weightedIndex } from '../util/rng.js';
import { normalizeHost } from './hostnames.js';
import type { RouteEntry } from './route-table.js';
import type { BackendRuntime, GatewayState, RuleRuntime } from './state.js';

export interface MatchedRoute {
  entry: RouteEntry<RuleRuntime>;
  /** The request target as received (path + query). */
  url: string;
  /** Index of `?` in `url`, −1 when there is no query. */
  q: number;
  path: string;
  method: string;
}

/** The rule matching `req` on the declared listener `port`; throws NO_ROUTE. */
export function matchRoute(state: GatewayState, port: number, req: IncomingMessage): MatchedRoute {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const host = normalizeHost(req.headers.host);
  const entry = state.table.match(port, {
    host,
    method,
    path,
    query: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
  });
  if (entry === undefined) {
    throw new GatewayError('NO_ROUTE', `No HTTPRoute rule matches ${method} ${host || '(no host)'}${path}.`);
  }
  return { entry, url, q, path, method };
}

/** Weighted draw among the rule's backendRefs (the drawn ref may be unresolved: see requireResolved). */
export function drawBackend(rule: RuleRuntime, rng: Rng): BackendRuntime {
  const n = rule.backends.length;
  if (n === 0 || rule.totalWeight <= 0) {
    throw new GatewayError(
      'BACKEND_UNRESOLVED',
      n === 0 ? 'The matched rule has no backendRefs.' : 'Every backendRef of the matched rule has weight 0.',
    );
  }
  const i = n === 1 ? 0 : weightedIndex(rng, rule.weights);
  return rule.backends[i]!;
}

/** The drawn backend when its ref resolves; throws BACKEND_UNRESOLVED otherwise. */
export function requireResolved(b: BackendRuntime): BackendRuntime {
  if (!b.resolved) {
    throw new GatewayError(
      'BACKEND_UNRESOLVED',
      `backendRef ${b.label} does not resolve (ResolvedRefs=False).`,
    );
  }
  return b;
}
