/**
 * The route table: every (listener, route, rule, match) of a plan, compiled once per plan and
 * ordered by the Gateway API's HTTPRoute precedence, so that a request is matched by walking a short
 * list of precompiled entries (no per-request regex compilation, sorting or allocation).
 *
 * Precedence, continuing on ties (Gateway API HTTPRouteRule / HTTPRoute hostnames):
 *   1. characters in a matching non-wildcard hostname, then characters in a matching wildcard hostname
 *      (a route without hostnames, on a listener without hostname, matches any host and comes last);
 *   2. an Exact path match;
 *   3. the PathPrefix match with the most characters;
 *   4. RegularExpression paths (implementation-specific in the spec: here after every prefix);
 *   5. a method match;
 *   6. the most header matches, then the most query-parameter matches;
 *   7. the oldest route (creationTimestamp, else load order), then `namespace/name` alphabetically;
 *   8. the first rule in the route, then the first match in the rule.
 * Istio VirtualService / ASM LLMRoute routes (`firstMatch`) keep their own rule order instead.
 * Hostname buckets are tried from the most specific to the least: when no rule of the most specific
 * hostname matches the path, a less specific hostname's rule may still match.
 *
 * Tables are keyed by the listener's declared port (a socket serves exactly one declared port).
 */
import type { ListenerPlan, MatchPlan, Plan, RoutePlan, RulePlan } from '../config/plan.js';
import { effectiveHostnames, isWildcard } from './hostnames.js';

const PATH_EXACT = 0;
const PATH_PREFIX = 1;
const PATH_REGEX = 2;

export interface RouteEntry<T> {
  readonly listener: ListenerPlan;
  readonly route: RoutePlan;
  readonly rule: RulePlan;
  readonly match: MatchPlan;
  readonly matchIndex: number;
  /** The effective hostname this entry was filed under (`'*'` = any host). */
  readonly hostname: string;
  /** What the gateway attached to this (route, rule) when building the table. */
  readonly data: T;
  /** PathPrefix matches: the prefix without trailing slash (`''` for `/`). */
  readonly prefix: string;
  /** What URLRewrite ReplacePrefixMatch replaces: the prefix, or the whole path of an Exact match. */
  readonly rewritePrefix: string;
  readonly pathKind: number;
  readonly pathValue: string;
  readonly pathRegex: RegExp | undefined;
  readonly method: string | undefined;
  readonly headers: readonly CompiledValueMatch[];
  readonly query: readonly CompiledValueMatch[];
}

interface CompiledValueMatch {
  /** Lower-cased for headers; as written for query parameters. */
  name: string;
  exact: string | undefined;
  regex: RegExp | undefined;
}

/** What a request offers for matching. Header names lower-cased (Node's IncomingMessage.headers). */
export interface MatchInput {
  /** Normalised host (see normalizeHost). */
  host: string;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

interface WildcardBucket<T> {
  /** `.example.com` for `*.example.com`. */
  suffix: string;
  entries: RouteEntry<T>[];
}

class PortTable<T> {
  readonly exact = new Map<string, RouteEntry<T>[]>();
  /** Longest suffix first. */
  readonly wildcards: WildcardBucket<T>[] = [];
  readonly any: RouteEntry<T>[] = [];
  usesQuery = false;
}

/** A problem found while compiling (a regular expression JavaScript cannot compile). */
export interface RouteTableWarning {
  route: string;
  rule: number;
  message: string;
}

export class RouteTable<T> {
  readonly warnings: RouteTableWarning[] = [];
  private readonly byPort = new Map<number, PortTable<T>>();

  /**
   * Compiles the plan. `attach(route, rule)` is called once per (route, rule) and its result is
   * carried by every entry of that rule (the gateway attaches the rule's runtime: backends, filters).
   */
  constructor(plan: Plan, attach: (route: RoutePlan, rule: RulePlan) => T) {
    const routesByKey = new Map<string, RoutePlan>();
    for (const r of plan.routes) routesByKey.set(r.key, r);
    const attached = new Map<RulePlan, T>();
    const regexCache = new Map<string, RegExp | null>();
    const compileRegex = (src: string, route: RoutePlan, rule: RulePlan): RegExp | undefined => {
      let re = regexCache.get(src);
      if (re === undefined) {
        try {
          re = new RegExp(`^(?:${src})$`);
        } catch (err) {
          re = null;
          this.warnings.push({
            route: route.key,
            rule: rule.index,
            message: `regular expression ${JSON.stringify(src)} does not compile: ${(err as Error).message}`,
          });
        }
        regexCache.set(src, re);
      }
      return re ?? undefined;
    };

    for (const listener of plan.listeners) {
      let table = this.byPort.get(listener.port);
      if (table === undefined) {
        table = new PortTable<T>();
        this.byPort.set(listener.port, table);
      }
      for (const routeKey of listener.routeKeys) {
        const route = routesByKey.get(routeKey);
        if (route === undefined) continue;
        const hostnames = effectiveHostnames(listener.hostname, route.hostnames);
        for (const hostname of hostnames) {
          for (const rule of route.rules) {
            let data = attached.get(rule);
            if (data === undefined) {
              data = attach(route, rule);
              attached.set(rule, data);
            }
            for (let mi = 0; mi < rule.matches.length; mi++) {
              const match = rule.matches[mi]!;
              const entry = compileEntry(listener, route, rule, match, mi, hostname, data, compileRegex);
              if (entry === undefined) continue;
              if (entry.query.length > 0) table.usesQuery = true;
              bucketFor(table, hostname).push(entry);
            }
          }
        }
      }
    }
    for (const table of this.byPort.values()) {
      for (const list of table.exact.values()) list.sort(comparePrecedence);
      for (const w of table.wildcards) w.entries.sort(comparePrecedence);
      table.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
      table.any.sort(comparePrecedence);
    }
  }

  /** Declared ports that have at least one listener. */
  ports(): number[] {
    return [...this.byPort.keys()];
  }

  /** The winning entry for a request on a listener port, or undefined (404). */
  match(port: number, input: MatchInput): RouteEntry<T> | undefined {
    const table = this.byPort.get(port);
    if (table === undefined) return undefined;
    const params = table.usesQuery && input.query.length > 0 ? new URLSearchParams(input.query) : undefined;
    const host = input.host;
    const exact = table.exact.get(host);
    if (exact !== undefined) {
      const hit = firstMatch(exact, input, params);
      if (hit !== undefined) return hit;
    }
    const wildcards = table.wildcards;
    for (let i = 0; i < wildcards.length; i++) {
      const w = wildcards[i]!;
      if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
        const hit = firstMatch(w.entries, input, params);
        if (hit !== undefined) return hit;
      }
    }
    return firstMatch(table.any, input, params);
  }

  /** Every entry, in precedence order per port and hostname bucket (for plan summaries and tests). */
  entries(port: number): RouteEntry<T>[] {
    const table = this.byPort.get(port);
    if (table === undefined) return [];
    const out: RouteEntry<T>[] = [];
    for (const list of table.exact.values()) out.push(...list);
    for (const w of table.wildcards) out.push(...w.entries);
    out.push(...table.any);
    return out;
  }
}

function bucketFor<T>(table: PortTable<T>, hostname: string): RouteEntry<T>[] {
  if (hostname === '*') return table.any;
  if (isWildcard(hostname)) {
    const suffix = hostname.slice(1);
    let w = table.wildcards.find((b) => b.suffix === suffix);
    if (w === undefined) {
      w = { suffix, entries: [] };
      table.wildcards.push(w);
    }
    return w.entries;
  }
  let list = table.exact.get(hostname);
  if (list === undefined) {
    list = [];
    table.exact.set(hostname, list);
  }
  return list;
}

function compileEntry<T>(
  listener: ListenerPlan,
  route: RoutePlan,
  rule: RulePlan,
  match: MatchPlan,
  matchIndex: number,
  hostname: string,
  data: T,
  compileRegex: (src: string, route: RoutePlan, rule: RulePlan) => RegExp | undefined,
): RouteEntry<T> | undefined {
  const p = match.path;
  let pathKind = PATH_PREFIX;
  let pathRegex: RegExp | undefined;
  let prefix = '';
  if (p.type === 'Exact') pathKind = PATH_EXACT;
  else if (p.type === 'RegularExpression') {
    pathKind = PATH_REGEX;
    pathRegex = compileRegex(p.value, route, rule);
    if (pathRegex === undefined) return undefined;
  } else {
    prefix =
      p.value.length > 1 && p.value.endsWith('/') ? p.value.slice(0, -1) : p.value === '/' ? '' : p.value;
  }
  const headers: CompiledValueMatch[] = [];
  for (const h of match.headers) {
    const regex = h.type === 'RegularExpression' ? compileRegex(h.value, route, rule) : undefined;
    if (h.type === 'RegularExpression' && regex === undefined) return undefined;
    headers.push({ name: h.name.toLowerCase(), exact: h.type === 'Exact' ? h.value : undefined, regex });
  }
  const query: CompiledValueMatch[] = [];
  for (const q of match.queryParams) {
    if (query.some((x) => x.name === q.name)) continue; // only the first entry of a name counts
    const regex = q.type === 'RegularExpression' ? compileRegex(q.value, route, rule) : undefined;
    if (q.type === 'RegularExpression' && regex === undefined) return undefined;
    query.push({ name: q.name, exact: q.type === 'Exact' ? q.value : undefined, regex });
  }
  return {
    listener,
    route,
    rule,
    match,
    matchIndex,
    hostname,
    data,
    prefix,
    rewritePrefix: pathKind === PATH_EXACT ? p.value : prefix,
    pathKind,
    pathValue: p.value,
    pathRegex,
    method: match.method?.toUpperCase(),
    headers,
    query,
  };
}

function firstMatch<T>(
  entries: readonly RouteEntry<T>[],
  input: MatchInput,
  params: URLSearchParams | undefined,
): RouteEntry<T> | undefined {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (matches(e, input, params)) return e;
  }
  return undefined;
}

function matches<T>(e: RouteEntry<T>, input: MatchInput, params: URLSearchParams | undefined): boolean {
  const path = input.path;
  switch (e.pathKind) {
    case PATH_EXACT:
      if (path !== e.pathValue) return false;
      break;
    case PATH_PREFIX: {
      const prefix = e.prefix;
      if (prefix.length > 0) {
        if (!path.startsWith(prefix)) return false;
        if (path.length > prefix.length && path.charCodeAt(prefix.length) !== 47 /* / */) return false;
      }
      break;
    }
    default:
      if (!e.pathRegex!.test(path)) return false;
  }
  if (e.method !== undefined && e.method !== input.method) return false;
  const headers = e.headers;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const raw = input.headers[h.name];
    if (raw === undefined) return false;
    const value = typeof raw === 'string' ? raw : raw.join(',');
    if (h.exact !== undefined ? value !== h.exact : !h.regex!.test(value)) return false;
  }
  const query = e.query;
  if (query.length > 0) {
    if (params === undefined) return false;
    for (let i = 0; i < query.length; i++) {
      const q = query[i]!;
      const value = params.get(q.name);
      if (value === null) return false;
      if (q.exact !== undefined ? value !== q.exact : !q.regex!.test(value)) return false;
    }
  }
  return true;
}

/**
 * Negative when `a` takes precedence over `b` (within one hostname bucket). Routes with first-match
 * semantics (Istio VirtualService, ASM LLMRoute: `RoutePlan.firstMatch`) keep their rules in order,
 * as one block per route after the Gateway API entries, blocks ordered oldest route first.
 */
function comparePrecedence<T>(a: RouteEntry<T>, b: RouteEntry<T>): number {
  const af = a.route.firstMatch === true;
  const bf = b.route.firstMatch === true;
  if (af !== bf) return af ? 1 : -1;
  if (af) {
    if (a.route !== b.route) return compareRoutes(a.route, b.route);
    if (a.rule.index !== b.rule.index) return a.rule.index - b.rule.index;
    return a.matchIndex - b.matchIndex;
  }
  if (a.pathKind !== b.pathKind) return a.pathKind - b.pathKind;
  if (a.pathKind === PATH_PREFIX && a.prefix.length !== b.prefix.length)
    return b.prefix.length - a.prefix.length;
  const am = a.method !== undefined ? 1 : 0;
  const bm = b.method !== undefined ? 1 : 0;
  if (am !== bm) return bm - am;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  if (a.query.length !== b.query.length) return b.query.length - a.query.length;
  if (a.route !== b.route) return compareRoutes(a.route, b.route);
  if (a.rule.index !== b.rule.index) return a.rule.index - b.rule.index;
  return a.matchIndex - b.matchIndex;
}

/** Route ties: oldest first, then `namespace/name`, then load order. */
function compareRoutes(a: RoutePlan, b: RoutePlan): number {
  const age = compareAge(a, b);
  if (age !== 0) return age;
  const an = `${a.namespace}/${a.name}`;
  const bn = `${b.namespace}/${b.name}`;
  if (an !== bn) return an < bn ? -1 : 1;
  return a.loadOrder - b.loadOrder;
}

/**
 * Oldest first. A route with a creationTimestamp is older than one without (objects without one are
 * taken as created when loaded, i.e. now); two without are ordered by load order (the Plan's contract).
 * Equal timestamps fall through to `namespace/name`.
 */
function compareAge(a: RoutePlan, b: RoutePlan): number {
  const at = a.creationTimestamp !== undefined ? Date.parse(a.creationTimestamp) : Number.NaN;
  const bt = b.creationTimestamp !== undefined ? Date.parse(b.creationTimestamp) : Number.NaN;
  const aHas = !Number.isNaN(at);
  const bHas = !Number.isNaN(bt);
  if (aHas && bHas) return at - bt;
  if (aHas !== bHas) return aHas ? -1 : 1;
  if (!aHas) return a.loadOrder - b.loadOrder;
  return 0;
}
