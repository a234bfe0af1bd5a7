/**
 * HTTPRoute → RoutePlan: rules (matches with defaults, filters, backends, timeouts) and attachment to
 * listeners through parentRefs (sectionName, port, allowedRoutes, hostname intersection).
 */
import { parseDuration } from '../../util/duration.js';
import { selectorMatches } from '../../util/labels.js';
import { Codes, listOr, type Where, whereOf } from '../diagnostics.js';
import type { LoadedObject } from '../objects.js';
import type {
  BackendPlan,
  HeaderModifierPlan,
  MatchPlan,
  MirrorPlan,
  RulePlan,
  UrlRewritePlan,
} from '../plan.js';
import {
  FILTER_FIELD,
  FILTER_TYPES,
  type HTTPRouteFilter,
  type HTTPRouteMatch,
  type HTTPRouteRule,
} from '../schema/gateway-api.js';
import { GATEWAY_GROUP, type Referrer, reportMissing, resolveBackendRef } from './backends.js';
import { type BuildContext, gatewayKey, type ListenerDraft, type RouteDraft } from './context.js';
import { badRegexMessage, hostnamesIntersect, pathProblem, REGEX_FIX, regexProblem } from './matching.js';

type RouteObject = LoadedObject<'HTTPRoute'>;

export function buildHTTPRoutes(ctx: BuildContext): void {
  for (const route of ctx.store.list('HTTPRoute')) {
    const where = whereOf(route.src);
    const spec = route.body.spec;
    const rules: RulePlan[] = [];
    const list = spec.rules ?? [];
    if (list.length === 0) {
      // Gateway API defaults an absent rules list to one rule matching everything with no backends.
      rules.push({ index: 0, matches: [DEFAULT_MATCH], backends: [], mirrors: [], timeouts: {} });
    }
    for (let i = 0; i < list.length; i++) {
      const rule = buildRule(ctx, route, where, list[i]!, i);
      if (rule) rules.push(rule);
    }
    const draft: RouteDraft = {
      key: `HTTPRoute ${route.meta.namespace}/${route.meta.name}`,
      kind: 'HTTPRoute',
      namespace: route.meta.namespace,
      name: route.meta.name,
      loadOrder: route.loadOrder,
      hostnames: spec.hostnames ?? [],
      listenerKeys: [],
      rules,
      source: route.src,
    };
    if (route.meta.creationTimestamp) draft.creationTimestamp = route.meta.creationTimestamp;
    attach(ctx, route, where, draft);
    ctx.routes.push(draft);
  }
}

/** Gateway API's default match, shared (frozen) by every rule without matches. */
export const DEFAULT_MATCH: MatchPlan = Object.freeze({
  path: Object.freeze({ type: 'PathPrefix', value: '/' }),
  headers: Object.freeze([]),
  queryParams: Object.freeze([]),
}) as MatchPlan;

function buildRule(
  ctx: BuildContext,
  route: RouteObject,
  where: Where,
  rule: HTTPRouteRule,
  index: number,
): RulePlan | undefined {
  const { sink } = ctx;
  const path = `spec.rules[${index}]`;
  let ok = true;
  const matches: MatchPlan[] = [];
  const rawMatches = rule.matches ?? [];
  for (let m = 0; m < rawMatches.length; m++) {
    const match = buildMatch(ctx, where, rawMatches[m]!, `${path}.matches[${m}]`);
    if (match) matches.push(match);
    else ok = false;
  }
  if (rawMatches.length === 0) matches.push(DEFAULT_MATCH);

  const referrer = (p: string): Referrer => ({
    where,
    path: p,
    group: GATEWAY_GROUP,
    kind: 'HTTPRoute',
    namespace: route.meta.namespace,
  });

  const backends: BackendPlan[] = [];
  const refs = rule.backendRefs ?? [];
  for (let b = 0; b < refs.length; b++) {
    const ref = refs[b]!;
    const refPath = `${path}.backendRefs[${b}]`;
    const backend = resolveBackendRef(ctx, referrer(refPath), ref, ref.weight ?? 1);
    if (backend) backends.push(backend);
    else ok = false;
    if (ref.filters?.length) {
      sink.info(
        where,
        Codes.NOT_APPLIED,
        `${refPath}.filters`,
        'filters on a single backendRef are not applied by infergate',
      );
    }
  }

  const filters = buildFilters(ctx, where, rule.filters ?? [], `${path}.filters`, matches, referrer);
  if (!filters) ok = false;

  const timeouts: RulePlan['timeouts'] = {};
  if (rule.timeouts?.request !== undefined) timeouts.requestMs = parseDuration(rule.timeouts.request)!;
  if (rule.timeouts?.backendRequest !== undefined)
    timeouts.backendRequestMs = parseDuration(rule.timeouts.backendRequest)!;
  if (
    timeouts.requestMs !== undefined &&
    timeouts.backendRequestMs !== undefined &&
    timeouts.requestMs > 0 &&
    (timeouts.backendRequestMs === 0 || timeouts.backendRequestMs > timeouts.requestMs)
  ) {
    ok = false;
    sink.error(
      where,
      Codes.TIMEOUT_ORDER,
      `${path}.timeouts.backendRequest`,
      `backendRequest (${rule.timeouts!.backendRequest}) is longer than the whole request timeout (${rule.timeouts!.request})`,
      'make backendRequest at most as long as request',
    );
  }
  if (rule.retry)
    sink.info(where, Codes.NOT_APPLIED, `${path}.retry`, 'retry is accepted but not applied by infergate');
  if (rule.sessionPersistence)
    sink.info(
      where,
      Codes.NOT_APPLIED,
      `${path}.sessionPersistence`,
      'sessionPersistence is not applied by infergate',
    );
  if (!ok || !filters) return undefined;

  const plan: RulePlan = { index, matches, backends, mirrors: filters.mirrors, timeouts };
  if (rule.name !== undefined) plan.name = rule.name;
  if (filters.requestHeaderModifier) plan.requestHeaderModifier = filters.requestHeaderModifier;
  if (filters.urlRewrite) plan.urlRewrite = filters.urlRewrite;
  return plan;
}

function buildMatch(ctx: BuildContext, where: Where, m: HTTPRouteMatch, path: string): MatchPlan | undefined {
  const { sink } = ctx;
  let ok = true;
  const type = m.path?.type ?? 'PathPrefix';
  const value = m.path?.value ?? '/';
  if (type === 'RegularExpression') {
    const problem = regexProblem(value);
    if (problem) {
      ok = false;
      sink.error(where, Codes.BAD_REGEX, `${path}.path.value`, badRegexMessage(value, problem), REGEX_FIX);
    }
  } else {
    const problem = pathProblem(value);
    if (problem) {
      ok = false;
      sink.error(where, Codes.BAD_PATH, `${path}.path.value`, problem.message, problem.fix);
    }
  }
  const headers: MatchPlan['headers'][number][] = [];
  const seen = new Map<string, number>();
  const hs = m.headers ?? [];
  for (let h = 0; h < hs.length; h++) {
    const header = hs[h]!;
    const hType = header.type ?? 'Exact';
    const lower = header.name.toLowerCase();
    const first = seen.get(lower);
    if (first !== undefined) {
      ok = false;
      sink.error(
        where,
        Codes.DUPLICATE_NAME,
        `${path}.headers[${h}].name`,
        `header "${header.name}" is already matched by headers[${first}]`,
        'match each header once per match',
      );
      continue;
    }
    seen.set(lower, h);
    if (hType === 'RegularExpression') {
      const problem = regexProblem(header.value);
      if (problem) {
        ok = false;
        sink.error(
          where,
          Codes.BAD_REGEX,
          `${path}.headers[${h}].value`,
          badRegexMessage(header.value, problem),
          REGEX_FIX,
        );
        continue;
      }
    }
    headers.push({ type: hType, name: header.name, value: header.value });
  }
  const queryParams: MatchPlan['queryParams'][number][] = [];
  const qs = m.queryParams ?? [];
  for (let q = 0; q < qs.length; q++) {
    const param = qs[q]!;
    const qType = param.type ?? 'Exact';
    if (qType === 'RegularExpression') {
      const problem = regexProblem(param.value);
      if (problem) {
        ok = false;
        sink.error(
          where,
          Codes.BAD_REGEX,
          `${path}.queryParams[${q}].value`,
          badRegexMessage(param.value, problem),
          REGEX_FIX,
        );
        continue;
      }
    }
    queryParams.push({ type: qType, name: param.name, value: param.value });
  }
  if (!ok) return undefined;
  const plan: MatchPlan = { path: { type, value }, headers, queryParams };
  if (m.method !== undefined) plan.method = m.method;
  return plan;
}

interface FilterResult {
  mirrors: MirrorPlan[];
  requestHeaderModifier?: HeaderModifierPlan;
  urlRewrite?: UrlRewritePlan;
}

const NOT_APPLIED_FILTERS: ReadonlySet<string> = new Set([
  'ResponseHeaderModifier',
  'RequestRedirect',
  'ExtensionRef',
  'CORS',
  'ExternalAuth',
]);

function buildFilters(
  ctx: BuildContext,
  where: Where,
  filters: readonly HTTPRouteFilter[],
  path: string,
  matches: readonly MatchPlan[],
  referrer: (p: string) => Referrer,
): FilterResult | undefined {
  const { sink } = ctx;
  let ok = true;
  const out: FilterResult = { mirrors: [] };
  const firstOfType = new Map<string, number>();
  for (let f = 0; f < filters.length; f++) {
    const filter = filters[f]!;
    const fPath = `${path}[${f}]`;
    const field = FILTER_FIELD[filter.type];
    const record = filter as unknown as Record<string, unknown>;
    if (record[field] === undefined && filter.type !== 'CORS' && filter.type !== 'ExternalAuth') {
      ok = false;
      sink.error(
        where,
        Codes.FILTER_MISMATCH,
        `${fPath}.${field}`,
        `a ${filter.type} filter needs its "${field}" field`,
        `add ${field}: with the filter's settings`,
      );
      continue;
    }
    let stray = false;
    for (const t of FILTER_TYPES) {
      const other = FILTER_FIELD[t];
      if (t !== filter.type && record[other] !== undefined) {
        stray = true;
        sink.error(
          where,
          Codes.FILTER_MISMATCH,
          `${fPath}.${other}`,
          `"${other}" does not belong to a ${filter.type} filter`,
          `remove it, or set type: ${t}`,
        );
      }
    }
    if (stray) {
      ok = false;
      continue;
    }
    const earlier = firstOfType.get(filter.type);
    if (earlier !== undefined && filter.type !== 'RequestMirror' && filter.type !== 'ExtensionRef') {
      ok = false;
      sink.error(
        where,
        Codes.DUPLICATE_FILTER,
        `${fPath}.type`,
        `a rule may have one ${filter.type} filter; ${path}[${earlier}] is one already`,
        'merge the two filters',
      );
      continue;
    }
    firstOfType.set(filter.type, f);
    if (NOT_APPLIED_FILTERS.has(filter.type)) {
      sink.info(
        where,
        Codes.NOT_APPLIED,
        fPath,
        `${filter.type} filters are accepted but not applied by infergate`,
      );
      continue;
    }
    switch (filter.type) {
      case 'RequestHeaderModifier': {
        const m = filter.requestHeaderModifier!;
        out.requestHeaderModifier = { set: m.set ?? [], add: m.add ?? [], remove: m.remove ?? [] };
        break;
      }
      case 'URLRewrite': {
        const rw = filter.urlRewrite!;
        const plan: UrlRewritePlan = {};
        if (rw.hostname !== undefined) plan.hostname = rw.hostname;
        if (rw.path) {
          const value =
            rw.path.type === 'ReplaceFullPath' ? rw.path.replaceFullPath : rw.path.replacePrefixMatch;
          const wanted = rw.path.type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
          if (value === undefined) {
            ok = false;
            sink.error(
              where,
              Codes.MISSING_FIELD,
              `${fPath}.urlRewrite.path.${wanted}`,
              `a ${rw.path.type} rewrite needs "${wanted}"`,
              `add ${wanted}: /new/path`,
            );
            break;
          }
          if (
            rw.path.type === 'ReplacePrefixMatch' &&
            (matches.length !== 1 || matches[0]!.path.type !== 'PathPrefix')
          ) {
            ok = false;
            sink.error(
              where,
              Codes.FILTER_MISMATCH,
              `${fPath}.urlRewrite.path`,
              'ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix',
              'use ReplaceFullPath, or match with one PathPrefix',
            );
            break;
          }
          plan.path = { type: rw.path.type, value };
        }
        out.urlRewrite = plan;
        break;
      }
      case 'RequestMirror': {
        const mirror = buildMirror(ctx, where, filter, fPath, referrer);
        if (mirror) out.mirrors.push(mirror);
        else ok = false;
        break;
      }
    }
  }
  if (firstOfType.has('RequestRedirect') && firstOfType.has('URLRewrite')) {
    ok = false;
    sink.error(
      where,
      Codes.FILTER_MISMATCH,
      path,
      'a rule may not have both a RequestRedirect and a URLRewrite filter',
      'keep one of them',
    );
  }
  return ok ? out : undefined;
}

function buildMirror(
  ctx: BuildContext,
  where: Where,
  filter: HTTPRouteFilter,
  path: string,
  referrer: (p: string) => Referrer,
): MirrorPlan | undefined {
  const { sink } = ctx;
  const m = filter.requestMirror!;
  let fraction = 1;
  if (m.percent !== undefined && m.fraction !== undefined) {
    sink.error(
      where,
      Codes.BAD_FRACTION,
      `${path}.requestMirror`,
      'give either percent or fraction, not both',
      'remove one of them',
    );
    return undefined;
  }
  if (m.percent !== undefined) fraction = m.percent / 100;
  if (m.fraction !== undefined) {
    const numerator = m.fraction.numerator;
    const denominator = m.fraction.denominator ?? 100;
    if (denominator < 1) {
      sink.error(
        where,
        Codes.BAD_FRACTION,
        `${path}.requestMirror.fraction.denominator`,
        `denominator must be at least 1 (got ${denominator})`,
        'use a positive denominator, e.g. 100',
      );
      return undefined;
    }
    if (numerator < 0) {
      sink.error(
        where,
        Codes.BAD_FRACTION,
        `${path}.requestMirror.fraction.numerator`,
        `numerator must not be negative (got ${numerator})`,
        'use a numerator from 0 to the denominator',
      );
      return undefined;
    }
    if (numerator > denominator) {
      sink.error(
        where,
        Codes.BAD_FRACTION,
        `${path}.requestMirror.fraction.numerator`,
        `numerator ${numerator} is larger than the denominator ${denominator}`,
        'a fraction is at most 1: use a numerator up to the denominator',
      );
      return undefined;
    }
    fraction = numerator / denominator;
  }
  const backend = resolveBackendRef(ctx, referrer(`${path}.requestMirror.backendRef`), m.backendRef, 1);
  if (!backend) return undefined;
  return { backend, fraction };
}

/** Resolves parentRefs to listeners, applying sectionName, port, allowedRoutes and hostnames. */
function attach(ctx: BuildContext, route: RouteObject, where: Where, draft: RouteDraft): void {
  const { sink, store } = ctx;
  const parents = route.body.spec.parentRefs ?? [];
  if (parents.length === 0) {
    sink.warn(
      where,
      Codes.NOT_SERVED,
      'spec.parentRefs',
      'the route names no parent Gateway, so no listener serves it',
      'add spec.parentRefs with the name of a Gateway',
    );
    return;
  }
  for (let p = 0; p < parents.length; p++) {
    const ref = parents[p]!;
    const path = `spec.parentRefs[${p}]`;
    const group = ref.group ?? GATEWAY_GROUP;
    const kind = ref.kind ?? 'Gateway';
    if (group !== GATEWAY_GROUP || kind !== 'Gateway') {
      sink.unresolved(
        where,
        Codes.INVALID_REF_KIND,
        `${path}.kind`,
        `a parentRef to ${kind}${group !== GATEWAY_GROUP ? ` (group "${group}")` : ''} is not supported; infergate attaches routes to Gateways`,
        'refer to a Gateway',
      );
      continue;
    }
    const ns = ref.namespace ?? route.meta.namespace;
    const gwKey = `${ns}/${ref.name}`;
    const gw = store.get('Gateway', gwKey);
    const from: Referrer = {
      where,
      path,
      group: GATEWAY_GROUP,
      kind: 'HTTPRoute',
      namespace: route.meta.namespace,
    };
    if (!gw) {
      if (!store.isInvalid('Gateway', gwKey))
        reportMissing(ctx, from, `${path}.name`, 'Gateway', ns, ref.name);
      continue;
    }
    let candidates: ListenerDraft[] = ctx.listenersByGateway.get(gatewayKey('Gateway', ns, ref.name)) ?? [];
    if (ref.sectionName !== undefined) {
      const named = gw.body.spec.listeners.map((l) => l.name);
      if (!named.includes(ref.sectionName)) {
        sink.unresolved(
          where,
          Codes.SECTION_NOT_FOUND,
          `${path}.sectionName`,
          `Gateway ${gwKey} has no listener named "${ref.sectionName}"`,
          `use one of ${listOr(named)}`,
        );
        continue;
      }
      candidates = candidates.filter((l) => l.name === ref.sectionName);
    }
    if (ref.port !== undefined) {
      const port = ref.port;
      if (!gw.body.spec.listeners.some((l) => l.port === port)) {
        const ports = [...new Set(gw.body.spec.listeners.map((l) => String(l.port)))];
        sink.unresolved(
          where,
          Codes.SECTION_NOT_FOUND,
          `${path}.port`,
          `Gateway ${gwKey} has no listener on port ${port}`,
          `use one of ${ports.join(', ')}`,
        );
        continue;
      }
      candidates = candidates.filter((l) => l.port === port);
    }
    if (candidates.length === 0) {
      // The listeners this parentRef names exist but are not HTTP/HTTPS (reported on the Gateway).
      sink.unresolved(
        where,
        Codes.NOT_ALLOWED_BY_LISTENER,
        path,
        `no HTTP or HTTPS listener of Gateway ${gwKey} matches this parentRef, so it cannot serve an HTTPRoute`,
        'attach the route to an HTTP or HTTPS listener',
      );
      continue;
    }
    const allowed = candidates.filter((l) => listenerAllows(ctx, l, route.meta.namespace, gw.meta.namespace));
    if (allowed.length === 0) {
      const l = candidates[0]!;
      const why = !l.allowsHTTPRoute
        ? 'its allowedRoutes.kinds leave out HTTPRoute'
        : l.allowedFrom === 'Same'
          ? `it accepts routes from its own namespace "${gw.meta.namespace}" only (allowedRoutes.namespaces.from: Same)`
          : "its allowedRoutes.namespaces.selector does not match the route's namespace";
      sink.unresolved(
        where,
        Codes.NOT_ALLOWED_BY_LISTENER,
        path,
        `listener "${l.name}" of Gateway ${gwKey} does not accept this route: ${why}`,
        l.allowedFrom === 'Same'
          ? `put the route in namespace ${gw.meta.namespace}, or set allowedRoutes.namespaces.from: All on the listener`
          : "change the listener's allowedRoutes",
      );
      continue;
    }
    const hostnames = draft.hostnames;
    const matching = allowed.filter(
      (l) =>
        l.hostname === undefined ||
        hostnames.length === 0 ||
        hostnames.some((h) => hostnamesIntersect(h, l.hostname!)),
    );
    if (allowed.length > 0 && matching.length === 0) {
      sink.unresolved(
        where,
        Codes.NO_MATCHING_HOSTNAME,
        'spec.hostnames',
        `none of the route's hostnames (${hostnames.join(', ')}) matches the hostname of the listeners of Gateway ${gwKey} (${allowed.map((l) => l.hostname).join(', ')})`,
        'add a hostname the listener accepts, or remove spec.hostnames',
      );
      continue;
    }
    for (const l of matching) {
      if (!draft.listenerKeys.includes(l.key)) draft.listenerKeys.push(l.key);
      if (!l.routeKeys.includes(draft.key)) l.routeKeys.push(draft.key);
    }
  }
}

function listenerAllows(ctx: BuildContext, l: ListenerDraft, routeNs: string, gatewayNs: string): boolean {
  if (!l.allowsHTTPRoute) return false;
  switch (l.allowedFrom) {
    case 'All':
      return true;
    case 'Same':
      return routeNs === gatewayNs;
    case 'Selector':
      return (
        l.allowedSelector !== undefined &&
        selectorMatches(l.allowedSelector, ctx.store.labelsOfNamespace(routeNs))
      );
  }
}
