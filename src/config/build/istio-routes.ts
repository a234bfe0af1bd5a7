/**
 * Istio VirtualService and ASM LLMRoute → RoutePlans. Their rules keep Istio's order semantics
 * (`firstMatch`: the first matching rule wins). Conversions:
 * - uri `exact` → Exact; uri `prefix: /` → PathPrefix `/`; any other `prefix` → RegularExpression
 *   `^<escaped prefix>.*` (Istio prefixes are string prefixes, not path-segment prefixes); `regex` →
 *   RegularExpression. RegularExpression values match the whole path, as Envoy matches them.
 * - headers / queryParams: exact → Exact, regex → RegularExpression, prefix → RegularExpression.
 * - destination host: `svc`, `svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local` → Service `ns/svc`.
 */
import { parseDuration } from '../../util/duration.js';
import { Codes, type Where, whereOf } from '../diagnostics.js';
import { keyOf, type LoadedObject } from '../objects.js';
import type { BackendPlan, HeaderModifierPlan, MatchPlan, MirrorPlan, RulePlan } from '../plan.js';
import type { IstioDestination, IstioHttpMatch, IstioHttpRoute, StringMatch } from '../schema/istio.js';
import { type Referrer, reportMissing, resolveBackendRef } from './backends.js';
import { type BuildContext, gatewayKey, type ListenerDraft, type RouteDraft } from './context.js';
import { DEFAULT_MATCH } from './http-routes.js';
import { badRegexMessage, escapeRegex, hostnamesIntersect, REGEX_FIX, regexProblem } from './matching.js';

const CLUSTER_SUFFIX = '.svc.cluster.local';
const METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

export function buildVirtualServices(ctx: BuildContext): void {
  const { sink } = ctx;
  for (const vs of ctx.store.list('VirtualService')) {
    const where = whereOf(vs.src);
    const spec = vs.body.spec;
    const ns = vs.meta.namespace;
    if (spec.tcp?.length)
      sink.info(where, Codes.NOT_SERVED, 'spec.tcp', 'TCP routes are not served by infergate');
    if (spec.tls?.length)
      sink.info(where, Codes.NOT_SERVED, 'spec.tls', 'TLS routes are not served by infergate');
    const gateways = (spec.gateways ?? []).filter((g) => g !== 'mesh');
    if (gateways.length === 0) {
      sink.warn(
        where,
        Codes.NOT_SERVED,
        'spec.gateways',
        'the VirtualService applies to the mesh only (no gateways), so no listener serves it',
        'add the Istio Gateway to spec.gateways',
      );
      continue;
    }
    const hosts = (spec.hosts ?? []).filter((h) => h !== '*');
    const rules: RulePlan[] = [];
    const http = spec.http ?? [];
    let ok = true;
    for (let i = 0; i < http.length; i++) {
      const rule = buildIstioRule(ctx, vs, where, http[i]!, i);
      if (rule) rules.push(rule);
      else ok = false;
    }
    if (!ok) continue;
    const draft = newDraft('VirtualService', vs, hosts, rules);
    attachToIstioGateways(ctx, where, draft, gateways, ns, 'spec.gateways');
    ctx.routes.push(draft);
  }
}

export function buildLLMRoutes(ctx: BuildContext): void {
  const { sink } = ctx;
  for (const route of ctx.store.list('LLMRoute')) {
    const where = whereOf(route.src);
    const spec = route.body.spec;
    const ns = route.meta.namespace;
    const gateways = (spec.gateways ?? []).filter((g) => g !== 'mesh');
    if (gateways.length === 0) {
      sink.warn(
        where,
        Codes.NOT_SERVED,
        'spec.gateways',
        'the LLMRoute names no gateway, so no listener serves it',
        'add the Istio Gateway to spec.gateways',
      );
      continue;
    }
    const rules: RulePlan[] = [];
    let ok = true;
    for (let i = 0; i < spec.rules.length; i++) {
      const rule = spec.rules[i]!;
      const path = `spec.rules[${i}]`;
      const matches: MatchPlan[] = [];
      const rawMatches = rule.matches ?? [];
      for (let m = 0; m < rawMatches.length; m++) {
        const rm = rawMatches[m]!;
        const mPath = `${path}.matches[${m}]`;
        if (rm.sourceLabels)
          sink.info(
            where,
            Codes.NOT_APPLIED,
            `${mPath}.sourceLabels`,
            'sourceLabels matches are not applied (no mesh in standalone)',
          );
        if (rm.gateways)
          sink.info(where, Codes.NOT_APPLIED, `${mPath}.gateways`, 'per-match gateways are not applied');
        const headers = convertHeaders(ctx, where, rm.headers, `${mPath}.headers`);
        if (!headers) {
          ok = false;
          continue;
        }
        matches.push({ path: { type: 'PathPrefix', value: '/' }, headers, queryParams: [] });
      }
      if (matches.length === 0) matches.push(DEFAULT_MATCH);
      const backends: BackendPlan[] = [];
      for (let b = 0; b < rule.backendRefs.length; b++) {
        const br = rule.backendRefs[b]!;
        const bPath = `${path}.backendRefs[${b}]`;
        if (br.providerHost !== undefined) {
          sink.warn(
            where,
            Codes.NOT_SERVED,
            `${bPath}.providerHost`,
            `external LLM providers (providerHost ${br.providerHost}) are not supported; this backend is left out`,
            'route to an InferencePool or Service in the manifests',
          );
          continue;
        }
        if (!br.backendRef) {
          ok = false;
          sink.error(
            where,
            Codes.MISSING_FIELD,
            `${bPath}.backendRef`,
            'a backendRefs entry needs backendRef (or providerHost)',
            'add backendRef: {group, kind, name}',
          );
          continue;
        }
        const from: Referrer = {
          where,
          path: `${bPath}.backendRef`,
          group: 'istio.alibabacloud.com',
          kind: 'LLMRoute',
          namespace: ns,
          skipReferenceGrant: true,
        };
        const backend = resolveBackendRef(ctx, from, br.backendRef, br.weight ?? 1);
        if (backend) backends.push(backend);
        else ok = false;
      }
      const plan: RulePlan = { index: i, matches, backends, mirrors: [], timeouts: {} };
      if (rule.name !== undefined) plan.name = rule.name;
      rules.push(plan);
    }
    if (!ok) continue;
    const hosts = spec.host !== undefined && spec.host !== '*' ? [spec.host] : [];
    const draft = newDraft('LLMRoute', route, hosts, rules);
    attachToIstioGateways(ctx, where, draft, gateways, ns, 'spec.gateways');
    ctx.routes.push(draft);
  }
}

function newDraft(
  kind: 'VirtualService' | 'LLMRoute',
  obj: LoadedObject<'VirtualService'> | LoadedObject<'LLMRoute'>,
  hostnames: string[],
  rules: RulePlan[],
): RouteDraft {
  const draft: RouteDraft = {
    key: `${kind} ${obj.meta.namespace}/${obj.meta.name}`,
    kind,
    namespace: obj.meta.namespace,
    name: obj.meta.name,
    loadOrder: obj.loadOrder,
    hostnames,
    listenerKeys: [],
    rules,
    firstMatch: true,
    source: obj.src,
  };
  if (obj.meta.creationTimestamp) draft.creationTimestamp = obj.meta.creationTimestamp;
  return draft;
}

/** `gateways` entries are `name` (the route's namespace) or `namespace/name`. */
function attachToIstioGateways(
  ctx: BuildContext,
  where: Where,
  draft: RouteDraft,
  gateways: readonly string[],
  ns: string,
  path: string,
): void {
  const from: Referrer = {
    where,
    path,
    group: '',
    kind: draft.kind,
    namespace: ns,
    skipReferenceGrant: true,
  };
  for (let g = 0; g < gateways.length; g++) {
    const ref = gateways[g]!;
    const slash = ref.indexOf('/');
    const gwNs = slash >= 0 ? ref.slice(0, slash) : ns;
    const gwName = slash >= 0 ? ref.slice(slash + 1) : ref;
    const key = keyOf(gwNs, gwName);
    if (!ctx.store.get('IstioGateway', key)) {
      if (!ctx.store.isInvalid('IstioGateway', key))
        reportMissing(ctx, from, `${path}[${g}]`, 'IstioGateway', gwNs, gwName);
      continue;
    }
    const listeners: ListenerDraft[] =
      ctx.listenersByGateway.get(gatewayKey('IstioGateway', gwNs, gwName)) ?? [];
    for (const l of listeners) {
      if (
        l.hostname !== undefined &&
        draft.hostnames.length > 0 &&
        !draft.hostnames.some((h) => hostnamesIntersect(h, l.hostname!))
      )
        continue;
      if (!draft.listenerKeys.includes(l.key)) draft.listenerKeys.push(l.key);
      if (!l.routeKeys.includes(draft.key)) l.routeKeys.push(draft.key);
    }
  }
}

function buildIstioRule(
  ctx: BuildContext,
  vs: LoadedObject<'VirtualService'>,
  where: Where,
  r: IstioHttpRoute,
  index: number,
): RulePlan | undefined {
  const { sink } = ctx;
  const path = `spec.http[${index}]`;
  const ns = vs.meta.namespace;
  let ok = true;
  const matches: MatchPlan[] = [];
  const rawMatches = r.match ?? [];
  for (let m = 0; m < rawMatches.length; m++) {
    const match = convertMatch(ctx, where, rawMatches[m]!, `${path}.match[${m}]`);
    if (match) matches.push(match);
    else ok = false;
  }
  if (rawMatches.length === 0) matches.push(DEFAULT_MATCH);

  const backends: BackendPlan[] = [];
  const routes = r.route ?? [];
  const anyWeight = routes.some((d) => d.weight !== undefined);
  for (let d = 0; d < routes.length; d++) {
    const dest = routes[d]!;
    const weight = dest.weight ?? (routes.length === 1 ? 100 : anyWeight ? 0 : 1);
    const backend = resolveDestination(
      ctx,
      where,
      ns,
      dest.destination,
      `${path}.route[${d}].destination`,
      weight,
    );
    if (backend) backends.push(backend);
  }

  const mirrors: MirrorPlan[] = [];
  if (r.mirror) {
    const percent = r.mirrorPercentage?.value ?? r.mirrorPercent ?? 100;
    const backend = resolveDestination(ctx, where, ns, r.mirror, `${path}.mirror`, 1);
    if (backend) mirrors.push({ backend, fraction: percent / 100 });
  }
  const more = r.mirrors ?? [];
  for (let i = 0; i < more.length; i++) {
    const backend = resolveDestination(
      ctx,
      where,
      ns,
      more[i]!.destination,
      `${path}.mirrors[${i}].destination`,
      1,
    );
    if (backend) mirrors.push({ backend, fraction: (more[i]!.percentage?.value ?? 100) / 100 });
  }

  const plan: RulePlan = { index, matches, backends, mirrors, timeouts: {} };
  if (r.name !== undefined) plan.name = r.name;
  if (r.timeout !== undefined) plan.timeouts.requestMs = parseDuration(r.timeout)!;
  if (r.rewrite?.uri !== undefined || r.rewrite?.authority !== undefined) {
    plan.urlRewrite = {};
    if (r.rewrite.authority !== undefined) plan.urlRewrite.hostname = r.rewrite.authority;
    if (r.rewrite.uri !== undefined) {
      const prefixOnly = rawMatches.length > 0 && rawMatches.every((m) => m.uri?.prefix !== undefined);
      plan.urlRewrite.path = {
        type: prefixOnly ? 'ReplacePrefixMatch' : 'ReplaceFullPath',
        value: r.rewrite.uri,
      };
    }
  }
  const req = r.headers?.request;
  if (req) {
    const mod: HeaderModifierPlan = {
      set: Object.entries(req.set ?? {}).map(([name, value]) => ({ name, value })),
      add: Object.entries(req.add ?? {}).map(([name, value]) => ({ name, value })),
      remove: req.remove ?? [],
    };
    plan.requestHeaderModifier = mod;
  }
  const notApplied: string[] = [];
  for (const f of ['redirect', 'directResponse', 'delegate', 'retries', 'fault', 'corsPolicy'] as const) {
    if (r[f] !== undefined) notApplied.push(f);
  }
  if (r.headers?.response) notApplied.push('headers.response');
  if (r.rewrite?.uriRegexRewrite) notApplied.push('rewrite.uriRegexRewrite');
  if (notApplied.length) {
    sink.info(
      where,
      Codes.NOT_APPLIED,
      path,
      `${notApplied.join(', ')} ${notApplied.length === 1 ? 'is' : 'are'} accepted but not applied by infergate`,
    );
  }
  return ok ? plan : undefined;
}

function convertMatch(
  ctx: BuildContext,
  where: Where,
  m: IstioHttpMatch,
  path: string,
): MatchPlan | undefined {
  const { sink } = ctx;
  let matchPath: MatchPlan['path'] = { type: 'PathPrefix', value: '/' };
  if (m.uri) {
    const converted = convertString(ctx, where, m.uri, `${path}.uri`);
    if (!converted) return undefined;
    if (m.uri.exact !== undefined) matchPath = { type: 'Exact', value: m.uri.exact };
    else if (m.uri.prefix === '/') matchPath = { type: 'PathPrefix', value: '/' };
    else matchPath = { type: 'RegularExpression', value: converted.value };
  }
  const headers = convertHeaders(ctx, where, m.headers, `${path}.headers`);
  if (!headers) return undefined;
  const queryParams: MatchPlan['queryParams'][number][] = [];
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    const c = convertString(ctx, where, sm, `${path}.queryParams["${name}"]`);
    if (!c) return undefined;
    queryParams.push({ type: c.type, name, value: c.value });
  }
  const plan: MatchPlan = { path: matchPath, headers, queryParams };
  if (m.method) {
    if (m.method.exact !== undefined && METHODS.has(m.method.exact)) plan.method = m.method.exact;
    else
      sink.info(
        where,
        Codes.NOT_APPLIED,
        `${path}.method`,
        'only an exact match on a standard HTTP method is applied; this method match is ignored',
      );
  }
  const notApplied: string[] = [];
  for (const f of [
    'scheme',
    'authority',
    'port',
    'sourceLabels',
    'gateways',
    'ignoreUriCase',
    'withoutHeaders',
    'sourceNamespace',
  ] as const) {
    if (m[f] !== undefined) notApplied.push(f);
  }
  if (notApplied.length) {
    sink.info(
      where,
      Codes.NOT_APPLIED,
      path,
      `${notApplied.join(', ')} ${notApplied.length === 1 ? 'is' : 'are'} accepted but not applied by infergate`,
    );
  }
  return plan;
}

function convertHeaders(
  ctx: BuildContext,
  where: Where,
  headers: Readonly<Record<string, StringMatch>> | undefined,
  path: string,
): MatchPlan['headers'][number][] | undefined {
  const out: MatchPlan['headers'][number][] = [];
  for (const [name, sm] of Object.entries(headers ?? {})) {
    const c = convertString(ctx, where, sm, `${path}["${name}"]`);
    if (!c) return undefined;
    out.push({ type: c.type, name, value: c.value });
  }
  return out;
}

/** An Istio StringMatch as a Gateway API (type, value); prefixes become anchored regular expressions. */
function convertString(
  ctx: BuildContext,
  where: Where,
  sm: StringMatch,
  path: string,
): { type: 'Exact' | 'RegularExpression'; value: string } | undefined {
  if (sm.exact !== undefined) return { type: 'Exact', value: sm.exact };
  if (sm.prefix !== undefined) return { type: 'RegularExpression', value: `${escapeRegex(sm.prefix)}.*` };
  const regex = sm.regex!;
  const problem = regexProblem(regex);
  if (problem) {
    ctx.sink.error(where, Codes.BAD_REGEX, `${path}.regex`, badRegexMessage(regex, problem), REGEX_FIX);
    return undefined;
  }
  return { type: 'RegularExpression', value: regex };
}

/** An Istio destination → Service backend (`host` is a Service name in one of its DNS forms). */
function resolveDestination(
  ctx: BuildContext,
  where: Where,
  ns: string,
  dest: IstioDestination,
  path: string,
  weight: number,
): BackendPlan | undefined {
  const { sink } = ctx;
  const parsed = parseServiceHost(dest.host, ns);
  const from: Referrer = {
    where,
    path,
    group: 'networking.istio.io',
    kind: 'VirtualService',
    namespace: ns,
    skipReferenceGrant: true,
  };
  if (dest.subset !== undefined) {
    sink.info(
      where,
      Codes.NOT_APPLIED,
      `${path}.subset`,
      'subsets (DestinationRule) are not applied; the whole Service is used',
    );
  }
  if (!parsed) {
    sink.unresolved(
      where,
      Codes.REF_NOT_FOUND,
      `${path}.host`,
      `host "${dest.host}" is not the name of a Service (name, name.namespace or name.namespace${CLUSTER_SUFFIX})`,
      'route to a Service of the manifests given',
    );
    return { kind: 'Service', key: dest.host, weight, resolved: false };
  }
  const key = keyOf(parsed.namespace, parsed.name);
  const svc = ctx.services.get(key);
  let port = dest.port?.number;
  if (port === undefined && svc?.ports.length === 1) port = svc.ports[0]!.port;
  if (!svc) {
    if (!ctx.store.isInvalid('Service', key)) {
      reportMissing(ctx, { ...from, path }, `${path}.host`, 'Service', parsed.namespace, parsed.name);
    }
    const b: BackendPlan = { kind: 'Service', key, weight, resolved: false };
    if (port !== undefined) b.port = port;
    return b;
  }
  if (port === undefined) {
    sink.unresolved(
      where,
      Codes.REF_NOT_FOUND,
      `${path}.port.number`,
      `Service ${key} has ${svc.ports.length} ports, so the destination must name one`,
      `add port: {number: ${svc.ports[0]?.port ?? 8000}}`,
    );
    return { kind: 'Service', key, weight, resolved: false };
  }
  return resolveBackendRef(ctx, from, { name: parsed.name, namespace: parsed.namespace, port }, weight);
}

/** `svc` / `svc.ns` / `svc.ns.svc` / `svc.ns.svc.cluster.local` → namespace and name. */
export function parseServiceHost(
  host: string,
  defaultNs: string,
): { namespace: string; name: string } | undefined {
  let h = host;
  if (h.endsWith(CLUSTER_SUFFIX)) h = h.slice(0, -CLUSTER_SUFFIX.length);
  else if (h.endsWith('.svc')) h = h.slice(0, -4);
  const parts = h.split('.');
  if (parts.length === 1 && parts[0]) return { namespace: defaultNs, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[1], name: parts[0] };
  return undefined;
}
