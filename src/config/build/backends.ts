/**
 * Services (with their endpoints) and the resolution of backend references to a Service or an
 * InferencePool. A reference that does not resolve still yields a BackendPlan with `resolved: false`
 * (a cluster answers 500 for it); only a malformed reference (a Service without a port) yields none.
 */
import { Codes, closest, type Where } from '../diagnostics.js';
import { keyOf, type ObjectStore } from '../objects.js';
import type { BackendPlan, ServicePlan } from '../plan.js';
import { INFERENCE_GROUP, INFERENCE_GROUP_X } from '../schema/inference.js';
import type { BuildContext } from './context.js';
import { workloadsMatching } from './endpoints.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Builds every Service's plan: ports, and endpoints per port (EndpointSlices, else Pods). */
export function buildServices(ctx: BuildContext): void {
  for (const svc of ctx.store.list('Service')) {
    const spec = svc.body.spec;
    const key = keyOf(svc.meta.namespace, svc.meta.name);
    const plan: ServicePlan = {
      key,
      namespace: svc.meta.namespace,
      name: svc.meta.name,
      ports: (spec.ports ?? []).map((p) => {
        const port: ServicePlan['ports'][number] = {
          port: p.port,
          targetPort: p.targetPort ?? p.port,
          protocol: p.protocol ?? 'TCP',
        };
        if (p.name !== undefined) port.name = p.name;
        return port;
      }),
      endpointsByPort: ctx.endpoints.serviceEndpoints(svc.meta.namespace, svc.meta.name, spec),
      workloads: spec.selector
        ? workloadsMatching(ctx.store, svc.meta.namespace, { matchLabels: spec.selector })
        : [],
      source: svc.src,
    };
    if (spec.selector) plan.selector = spec.selector;
    ctx.services.set(key, plan);
  }
}

/** Who refers, for diagnostics and the ReferenceGrant rule. */
export interface Referrer {
  where: Where;
  /** Field path of the reference, e.g. `spec.rules[0].backendRefs[1]`. */
  path: string;
  group: string;
  kind: string;
  namespace: string;
  /** Istio objects are not subject to ReferenceGrant (Istio uses exportTo). */
  skipReferenceGrant?: boolean;
}

export interface BackendRefInput {
  group?: string | undefined;
  kind?: string | undefined;
  name: string;
  namespace?: string | undefined;
  port?: number | undefined;
}

const POOL_GROUPS: ReadonlySet<string> = new Set([INFERENCE_GROUP_X, INFERENCE_GROUP]);

/**
 * Resolves a Gateway API style backend reference (group/kind/name/namespace/port) to a BackendPlan.
 * Returns undefined only when the reference is malformed (an error was reported).
 */
export function resolveBackendRef(
  ctx: BuildContext,
  from: Referrer,
  ref: BackendRefInput,
  weight: number,
): BackendPlan | undefined {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  const namespace = ref.namespace ?? from.namespace;
  const key = keyOf(namespace, ref.name);
  const { sink, store } = ctx;
  if (group === '' && kind === 'Service') {
    if (ref.port === undefined) {
      sink.error(
        from.where,
        Codes.MISSING_FIELD,
        `${from.path}.port`,
        `a backendRef to a Service needs a port`,
        'add the Service port, e.g. `port: 8000`',
      );
      return undefined;
    }
    const backend: BackendPlan = { kind: 'Service', key, port: ref.port, weight, resolved: false };
    if (!grantOk(ctx, from, { group, kind, namespace, name: ref.name })) return backend;
    const svc = ctx.services.get(key);
    if (!svc) {
      if (!store.isInvalid('Service', key))
        reportMissing(ctx, from, `${from.path}.name`, 'Service', namespace, ref.name);
      return backend;
    }
    if (!svc.ports.some((p) => p.port === ref.port)) {
      const ports = svc.ports.map((p) => String(p.port));
      sink.unresolved(
        from.where,
        Codes.REF_NOT_FOUND,
        `${from.path}.port`,
        `Service ${key} has no port ${ref.port}`,
        ports.length ? `use one of its ports: ${ports.join(', ')}` : 'add the port to the Service',
      );
      return backend;
    }
    backend.resolved = true;
    return backend;
  }
  if (kind === 'InferencePool' && POOL_GROUPS.has(group)) {
    const backend: BackendPlan = { kind: 'InferencePool', key, weight, resolved: false };
    if (!grantOk(ctx, from, { group, kind, namespace, name: ref.name })) return backend;
    const pool = store.get('InferencePool', key);
    if (!pool) {
      if (!store.isInvalid('InferencePool', key)) {
        reportMissing(ctx, from, `${from.path}.name`, 'InferencePool', namespace, ref.name);
      }
      return backend;
    }
    const poolGroup = pool.src.apiVersion.slice(0, pool.src.apiVersion.lastIndexOf('/'));
    if (poolGroup !== group) {
      sink.unresolved(
        from.where,
        Codes.REF_NOT_FOUND,
        `${from.path}.group`,
        `InferencePool ${key} is a ${pool.src.apiVersion} object, not ${group}`,
        `set group: ${poolGroup}`,
      );
      return backend;
    }
    backend.resolved = true;
    return backend;
  }
  sink.unresolved(
    from.where,
    Codes.INVALID_REF_KIND,
    `${from.path}.kind`,
    `a backendRef to ${kind}${group ? ` (group "${group}")` : ''} is not supported`,
    `refer to a Service (group "") or an InferencePool (group ${INFERENCE_GROUP_X} or ${INFERENCE_GROUP})`,
  );
  return { kind: 'Service', key, weight, resolved: false };
}

/** Reports a reference to an object that is not among the loaded manifests. */
export function reportMissing(
  ctx: BuildContext,
  from: Referrer,
  path: string,
  kind: 'Service' | 'InferencePool' | 'Gateway' | 'IstioGateway',
  namespace: string,
  name: string,
): void {
  const names: string[] = [];
  const id = kind === 'IstioGateway' ? 'IstioGateway' : kind;
  for (const o of ctx.store.list(id)) if (o.meta.namespace === namespace) names.push(o.meta.name);
  const guess = closest(name, names);
  const shown = kind === 'IstioGateway' ? 'Istio Gateway' : kind;
  ctx.sink.unresolved(
    from.where,
    Codes.REF_NOT_FOUND,
    path,
    `${shown} ${keyOf(namespace, name)} is not defined in the manifests given`,
    guess ? `did you mean "${guess}"?` : `add the ${shown} to the files given with -f, or fix the name`,
  );
}

/** Gateway API: a reference into another namespace needs a ReferenceGrant there. */
function grantOk(
  ctx: BuildContext,
  from: Referrer,
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.skipReferenceGrant || to.namespace === from.namespace) return true;
  if (referenceGranted(ctx.store, from, to)) return true;
  ctx.sink.unresolved(
    from.where,
    Codes.REF_NOT_PERMITTED,
    `${from.path}.namespace`,
    `${to.kind} ${to.namespace}/${to.name} is in another namespace and no ReferenceGrant in "${to.namespace}" allows ${from.kind}s from "${from.namespace}" to refer to it`,
    `add a ReferenceGrant in namespace ${to.namespace} (from: ${from.kind} in ${from.namespace}, to: ${to.kind})`,
  );
  return false;
}

export function referenceGranted(
  store: ObjectStore,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  for (const g of store.list('ReferenceGrant')) {
    if (g.meta.namespace !== to.namespace) continue;
    const spec = g.body.spec;
    const fromOk = spec.from.some(
      (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
    );
    const toOk = spec.to.some(
      (t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name),
    );
    if (fromOk && toOk) return true;
  }
  return false;
}

/** Splits the group out of an apiVersion (`v1` → `""`). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}
