/**
 * Status written back as a Gateway API implementation would, from what the last build saw (the
 * objects, the plan and its diagnostics):
 * - GatewayClass (ours): Accepted.
 * - Gateway (of our classes): Accepted, Programmed; per listener Accepted / Programmed /
 *   ResolvedRefs / Conflicted with supportedKinds and attachedRoutes; `addresses`.
 * - HTTPRoute: one `status.parents[]` entry per parentRef to one of our Gateways, with our
 *   controllerName: Accepted (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname)
 *   and ResolvedRefs (BackendNotFound, InvalidKind, RefNotPermitted). Entries of other controllers
 *   are kept as they are.
 * - InferencePool: one `status.parents[]` (v1alpha2: `status.parent[]`) entry per our Gateway that
 *   routes to it: Accepted and ResolvedRefs (InvalidExtensionRef when the picker Service is missing).
 *
 * Each condition carries the object's `observedGeneration`; a condition whose status, reason and
 * message did not change keeps its lastTransitionTime, and an object whose status did not change is
 * not written. Writes read the object fresh and PUT its status subresource with its resourceVersion
 * (a conflict is retried).
 */
import type { Diagnostic, Plan } from '../config/index.js';
import type { Logger } from '../util/log.js';
import { type KubeApi, KubeApiError, type KubeObject } from './api.js';
import {
  GATEWAY_CLASS,
  GATEWAYS,
  HTTP_ROUTES,
  objectPath,
  POOLS_V1,
  POOLS_V1ALPHA2,
  SERVICES,
  type WatchedResource,
} from './resources.js';
import type { ClusterSnapshot } from './source.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface StatusWriterOptions {
  api: KubeApi;
  logger: Logger;
  controllerName: string;
  /** Gateway `status.addresses` values (IP addresses or hostnames). */
  addresses: readonly string[];
}

/** A status change to write: the object and how to turn its current status into the new one. */
export interface StatusChange {
  resource: WatchedResource;
  namespace: string | undefined;
  name: string;
  /** The new status, computed from the current one (other controllers' entries kept). */
  next: (current: Record<string, unknown> | undefined) => Record<string, unknown>;
}

interface ParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

type Status = Record<string, unknown>;

function cond(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** Keeps lastTransitionTime of conditions whose status did not change. */
function carry(next: Condition[], previous: unknown): Condition[] {
  const prev = Array.isArray(previous) ? (previous as Condition[]) : [];
  return next.map((c) => {
    const p = prev.find((x) => x.type === c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  });
}

function diagnosticsOf(diags: readonly Diagnostic[], label: string): Diagnostic[] {
  return diags.filter((d) => d.file === 'cluster' && d.object === label);
}

/** Every status change the snapshot calls for (some may equal what is already written). */
export function computeStatusChanges(
  snap: ClusterSnapshot,
  o: Pick<StatusWriterOptions, 'controllerName' | 'addresses'>,
): StatusChange[] {
  const out: StatusChange[] = [];
  const plan: Plan | undefined = snap.result.plan;
  const diags = snap.result.diagnostics;
  const kindMap = (r: WatchedResource) =>
    snap.objects.get(`${r.kind} ${r.apiVersion}`) ?? new Map<string, KubeObject>();

  // GatewayClasses
  for (const gc of kindMap(GATEWAY_CLASS).values()) {
    if (!snap.classes.has(gc.metadata.name ?? '')) continue;
    const gen = gc.metadata.generation;
    out.push({
      resource: GATEWAY_CLASS,
      namespace: undefined,
      name: gc.metadata.name ?? '',
      next: (cur) => ({
        ...cur,
        conditions: carry(
          [cond('Accepted', true, 'Accepted', 'infergate manages Gateways of this class', gen)],
          cur?.conditions,
        ),
      }),
    });
  }

  // Gateways of our classes
  const ours = new Set<string>();
  for (const gw of kindMap(GATEWAYS).values()) {
    const spec = gw.spec as {
      gatewayClassName: string;
      listeners?: { name: string; port: number; protocol: string }[];
    };
    if (!snap.classes.has(spec.gatewayClassName)) continue;
    const ns = gw.metadata.namespace ?? 'default';
    const name = gw.metadata.name ?? '';
    ours.add(`${ns}/${name}`);
    const gen = gw.metadata.generation;
    const errors = diagnosticsOf(diags, `${ns}/Gateway/${name}`).filter((d) =>
      d.message.endsWith('(the object is left out of the plan)'),
    );
    const served =
      plan?.listeners.filter(
        (l) => l.gateway.kind === 'Gateway' && l.gateway.namespace === ns && l.gateway.name === name,
      ) ?? [];
    const listeners = (spec.listeners ?? []).map((l) => {
      const key = `${ns}/${name}/${l.name}`;
      const pl = served.find((x) => x.key === key);
      const http = l.protocol === 'HTTP' || l.protocol === 'HTTPS';
      const attached = pl ? plan!.routes.filter((r) => r.listenerKeys.includes(key)).length : 0;
      return {
        name: l.name,
        supportedKinds: http ? [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }] : [],
        attachedRoutes: attached,
        conditions: [
          pl
            ? cond('Accepted', true, 'Accepted', 'listener accepted', gen)
            : cond(
                'Accepted',
                false,
                http ? 'Invalid' : 'UnsupportedProtocol',
                http
                  ? 'listener conflicts with another listener'
                  : `protocol ${l.protocol} is not served by infergate`,
                gen,
              ),
          pl
            ? cond('Programmed', true, 'Programmed', 'listener serves traffic', gen)
            : cond('Programmed', false, 'Invalid', 'listener is not served', gen),
          cond('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', gen),
          cond(
            'Conflicted',
            !pl && http,
            !pl && http ? 'ProtocolConflict' : 'NoConflicts',
            !pl && http ? 'listener conflicts with another listener' : 'no conflicts',
            gen,
          ),
        ],
      };
    });
    const accepted = errors.length === 0;
    const programmed = accepted && served.length > 0;
    out.push({
      resource: GATEWAYS,
      namespace: ns,
      name,
      next: (cur) => ({
        ...cur,
        addresses: o.addresses.map((value) => ({
          type: /^[\d.:a-fA-F]+$/.test(value) ? 'IPAddress' : 'Hostname',
          value,
        })),
        conditions: carry(
          [
            accepted
              ? cond('Accepted', true, 'Accepted', 'Gateway accepted by infergate', gen)
              : cond('Accepted', false, 'Invalid', errors.map((d) => d.message).join('; '), gen),
            programmed
              ? cond('Programmed', true, 'Programmed', `serving ${served.length} listener(s)`, gen)
              : cond('Programmed', false, 'Invalid', 'no listener is served', gen),
          ],
          cur?.conditions,
        ),
        listeners: listeners.map((l) => {
          const prev = (
            Array.isArray(cur?.listeners) ? (cur.listeners as { name: string; conditions?: unknown }[]) : []
          ).find((x) => x.name === l.name);
          return { ...l, conditions: carry(l.conditions, prev?.conditions) };
        }),
      }),
    });
  }

  // HTTPRoutes: entries for parentRefs to our Gateways
  for (const route of kindMap(HTTP_ROUTES).values()) {
    const ns = route.metadata.namespace ?? 'default';
    const name = route.metadata.name ?? '';
    const gen = route.metadata.generation;
    const label = `${ns}/HTTPRoute/${name}`;
    const rd = diagnosticsOf(diags, label);
    const planned = plan?.routes.find((r) => r.kind === 'HTTPRoute' && r.namespace === ns && r.name === name);
    const refs = ((route.spec as { parentRefs?: ParentRef[] }).parentRefs ?? []).map((ref, index) => ({
      ref,
      index,
    }));
    const mine = refs.filter(
      ({ ref }) =>
        (ref.group ?? GATEWAY_GROUP) === GATEWAY_GROUP &&
        (ref.kind ?? 'Gateway') === 'Gateway' &&
        ours.has(`${ref.namespace ?? ns}/${ref.name}`),
    );
    const dropped = rd.find((d) => d.message.endsWith('(the object is left out of the plan)'));
    const backendProblem = rd.find(
      (d) =>
        /^spec\.rules\[\d+\]\.(backendRefs|filters)/.test(d.path) && BACKEND_REASONS[d.code] !== undefined,
    );
    const entries = mine.map(({ ref, index }) => {
      const gwKey = `${ref.namespace ?? ns}/${ref.name}`;
      const attached =
        planned?.listenerKeys.some(
          (k) =>
            k.startsWith(`${gwKey}/`) &&
            (ref.sectionName === undefined || k === `${gwKey}/${ref.sectionName}`),
        ) ?? false;
      let accepted: Condition;
      if (dropped) accepted = cond('Accepted', false, 'UnsupportedValue', dropped.message, gen);
      else if (attached) accepted = cond('Accepted', true, 'Accepted', 'route accepted', gen);
      else {
        const d =
          rd.find((x) => x.path.startsWith(`spec.parentRefs[${index}]`)) ??
          rd.find((x) => x.code === 'NO_MATCHING_HOSTNAME');
        const reason = d ? (PARENT_REASONS[d.code] ?? 'NoMatchingParent') : 'NoMatchingParent';
        accepted = cond(
          'Accepted',
          false,
          reason,
          d?.message ?? 'no listener of the Gateway matches this parentRef',
          gen,
        );
      }
      const resolved = backendProblem
        ? cond('ResolvedRefs', false, BACKEND_REASONS[backendProblem.code]!, backendProblem.message, gen)
        : cond('ResolvedRefs', true, 'ResolvedRefs', 'all backend references resolved', gen);
      const parentRef: ParentRef = {
        group: ref.group ?? GATEWAY_GROUP,
        kind: ref.kind ?? 'Gateway',
        namespace: ref.namespace ?? ns,
        name: ref.name,
      };
      if (ref.sectionName !== undefined) parentRef.sectionName = ref.sectionName;
      if (ref.port !== undefined) parentRef.port = ref.port;
      return { parentRef, controllerName: o.controllerName, conditions: [accepted, resolved] };
    });
    const prevParents = ((route.status as Status | undefined)?.parents ?? []) as {
      controllerName?: string;
    }[];
    if (entries.length === 0 && !prevParents.some((p) => p.controllerName === o.controllerName)) continue;
    out.push({
      resource: HTTP_ROUTES,
      namespace: ns,
      name,
      next: (cur) => ({
        ...cur,
        parents: mergeParents(
          cur?.parents,
          entries,
          (p) => p.controllerName === o.controllerName,
          (a, b) => sameRef(a.parentRef, b.parentRef),
        ),
      }),
    });
  }

  // InferencePools: one entry per our Gateway whose accepted routes send traffic to the pool
  const services = kindMap(SERVICES);
  for (const r of [POOLS_V1, POOLS_V1ALPHA2]) {
    const field = r === POOLS_V1 ? 'parents' : 'parent';
    for (const pool of kindMap(r).values()) {
      const ns = pool.metadata.namespace ?? 'default';
      const name = pool.metadata.name ?? '';
      const gen = pool.metadata.generation;
      const key = `${ns}/${name}`;
      const gateways = new Set<string>();
      for (const route of plan?.routes ?? []) {
        const toPool = route.rules.some((rule) =>
          rule.backends.some((b) => b.kind === 'InferencePool' && b.key === key && b.resolved),
        );
        if (!toPool) continue;
        for (const lk of route.listenerKeys) {
          const gw = lk.split('/').slice(0, 2).join('/');
          if (ours.has(gw)) gateways.add(gw);
        }
      }
      const spec = pool.spec as {
        endpointPickerRef?: { kind?: string; name?: string };
        extensionRef?: { kind?: string; name?: string };
      };
      const pickerRef = spec.endpointPickerRef ?? spec.extensionRef;
      const pickerOk =
        !pickerRef?.name ||
        (pickerRef.kind ?? 'Service') !== 'Service' ||
        services.has(`${ns}/${pickerRef.name}`);
      const entries = [...gateways].sort().map((gw) => {
        const [gwNs, gwName] = gw.split('/') as [string, string];
        return {
          parentRef: { group: GATEWAY_GROUP, kind: 'Gateway', namespace: gwNs, name: gwName },
          conditions: [
            cond('Accepted', true, 'Accepted', `routed to by Gateway ${gw}`, gen),
            pickerOk
              ? cond('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', gen)
              : cond(
                  'ResolvedRefs',
                  false,
                  'InvalidExtensionRef',
                  `the endpoint picker Service ${ns}/${pickerRef?.name} does not exist`,
                  gen,
                ),
          ],
        };
      });
      const isOurs = (p: { parentRef?: ParentRef }) =>
        (p.parentRef?.kind ?? 'Gateway') === 'Gateway' &&
        ours.has(`${p.parentRef?.namespace ?? ns}/${p.parentRef?.name}`);
      const isPlaceholder = (p: { parentRef?: ParentRef }) =>
        p.parentRef?.kind === 'Status' && p.parentRef?.name === 'default';
      const prev = ((pool.status as Status | undefined)?.[field] ?? []) as { parentRef?: ParentRef }[];
      if (entries.length === 0 && !prev.some(isOurs)) continue;
      out.push({
        resource: r,
        namespace: ns,
        name,
        next: (cur) => ({
          ...cur,
          [field]: mergeParents(
            cur?.[field],
            entries,
            (p) => isOurs(p) || (entries.length > 0 && isPlaceholder(p)),
            (a, b) => sameRef(a.parentRef, b.parentRef),
          ),
        }),
      });
    }
  }
  return out;
}

const PARENT_REASONS: Record<string, string> = {
  SECTION_NOT_FOUND: 'NoMatchingParent',
  NOT_ALLOWED_BY_LISTENER: 'NotAllowedByListeners',
  NO_MATCHING_HOSTNAME: 'NoMatchingListenerHostname',
  REF_NOT_FOUND: 'NoMatchingParent',
  INVALID_REF_KIND: 'NoMatchingParent',
};

const BACKEND_REASONS: Record<string, string> = {
  REF_NOT_FOUND: 'BackendNotFound',
  INVALID_REF_KIND: 'InvalidKind',
  REF_NOT_PERMITTED: 'RefNotPermitted',
};

function sameRef(a: ParentRef | undefined, b: ParentRef | undefined): boolean {
  return (
    !!a &&
    !!b &&
    a.name === b.name &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    (a.sectionName ?? '') === (b.sectionName ?? '') &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}

/** Replaces the entries `isOurs` selects with `entries` (carrying transition times), keeping the rest. */
function mergeParents<E extends { parentRef: ParentRef; conditions: Condition[] }>(
  current: unknown,
  entries: E[],
  isOurs: (p: E) => boolean,
  same: (a: E, b: E) => boolean,
): E[] {
  const prev = Array.isArray(current) ? (current as E[]) : [];
  const kept = prev.filter((p) => !isOurs(p));
  const mine = entries.map((e) => {
    const before = prev.find((p) => same(p, e));
    return { ...e, conditions: carry(e.conditions, before?.conditions) };
  });
  return [...kept, ...mine];
}

/** Equal ignoring key order. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * Writes the changes a snapshot calls for, one at a time; a newer snapshot replaces a queued one.
 * Writes only while `enabled` (the leader).
 */
export class StatusWriter {
  private queued: ClusterSnapshot | undefined;
  private running: Promise<void> | undefined;
  private enabled = false;
  /** Status writes done (PUTs that succeeded). */
  writes = 0;

  constructor(private readonly o: StatusWriterOptions) {}

  /** Turns writing on (leader) or off; turning it on writes the last snapshot again. */
  setEnabled(on: boolean, last?: ClusterSnapshot): void {
    this.enabled = on;
    if (on && last) this.update(last);
  }

  update(snap: ClusterSnapshot): void {
    if (!this.enabled) return;
    this.queued = snap;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when nothing is queued or being written. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queued && this.enabled) {
      const snap = this.queued;
      this.queued = undefined;
      for (const change of computeStatusChanges(snap, this.o)) {
        if (!this.enabled) return;
        const stored = snap.objects
          .get(`${change.resource.kind} ${change.resource.apiVersion}`)
          ?.get(change.namespace ? `${change.namespace}/${change.name}` : change.name);
        const current = stored?.status as Status | undefined;
        if (stored && sameJson(withoutTimes(change.next(current)), withoutTimes(current ?? {}))) continue;
        await this.write(change);
      }
    }
  }

  private async write(change: StatusChange): Promise<void> {
    const path = objectPath(change.resource, change.namespace, change.name);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const fresh = await this.o.api.json<KubeObject>('GET', path);
        const current = fresh.status as Status | undefined;
        const next = change.next(current);
        if (sameJson(withoutTimes(next), withoutTimes(current ?? {}))) return;
        await this.o.api.json('PUT', `${path}/status`, { ...fresh, status: next });
        this.writes++;
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409) continue;
        if (err instanceof KubeApiError && err.status === 404) return; // deleted meanwhile
        this.o.logger.warn({ object: path, err: (err as Error).message }, 'status write failed');
        return;
      }
    }
  }
}

/** A status without lastTransitionTime values (they are carried, never a reason to write). */
function withoutTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimes);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as object))
      if (k !== 'lastTransitionTime') out[k] = withoutTimes(x);
    return out;
  }
  return v;
}
