/**
 * The kinds the Kubernetes plan source watches, where the API serves them, and what of each object
 * is kept (the rest is dropped on arrival so a thousand Pods cost little memory and an irrelevant
 * change — a condition's heartbeat, managedFields — never rebuilds the plan).
 */
import type { KubeObject } from './api.js';

export interface WatchedResource {
  /** `group/version` (`v1` for the core group). */
  apiVersion: string;
  kind: string;
  /** REST resource name (lowercase plural). */
  plural: string;
  namespaced: boolean;
  /** Served only when a CRD is installed: a 404 is a warning and the kind is retried later. */
  crd: boolean;
  /**
   * An extension kind the gateway can do without: a 403 (RBAC does not grant it) is a warning too,
   * retried later, and never holds readiness back.
   */
  optional?: boolean;
  /** Reduces an object to what the plan builder and status writer read. */
  trim: (o: KubeObject) => KubeObject;
}

const GATEWAY = 'gateway.networking.k8s.io';
const INFERENCE = 'inference.networking.k8s.io';
const INFERENCE_X = 'inference.networking.x-k8s.io';
const ENVOY_GATEWAY = 'gateway.envoyproxy.io';
const ISTIO = 'networking.istio.io';
const ASM = 'istio.alibabacloud.com';

/** Metadata the builder reads (managedFields, ownerReferences and the like are dropped). */
function trimMeta(m: KubeObject['metadata']): KubeObject['metadata'] {
  const out: KubeObject['metadata'] = { name: m.name };
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.labels !== undefined) out.labels = m.labels;
  if (m.annotations !== undefined) {
    const a = { ...m.annotations };
    delete a['kubectl.kubernetes.io/last-applied-configuration'];
    out.annotations = a;
  }
  if (m.creationTimestamp !== undefined) out.creationTimestamp = m.creationTimestamp;
  if (m.deletionTimestamp !== undefined) out.deletionTimestamp = m.deletionTimestamp;
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.uid !== undefined) out.uid = m.uid;
  return out;
}

/** apiVersion, kind, trimmed metadata and spec; status is the writer's business, read separately. */
function specOnly(o: KubeObject): KubeObject {
  const out: KubeObject = { apiVersion: o.apiVersion, kind: o.kind, metadata: trimMeta(o.metadata) };
  if (o.spec !== undefined) out.spec = o.spec;
  if (o.status !== undefined) out.status = o.status;
  return out;
}

interface PodLike {
  spec?: { containers?: { name?: string; ports?: unknown[] }[] };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    conditions?: { type: string; status: string }[];
  };
}

/** A Pod as an endpoint: labels, container ports, phase, addresses and the Ready condition only. */
function trimPod(o: KubeObject): KubeObject {
  const p = o as KubeObject & PodLike;
  const meta = trimMeta(o.metadata);
  delete meta.resourceVersion; // a Pod's status heartbeat must not look like a change
  delete meta.generation;
  const status = p.status ?? {};
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: {
      containers: (p.spec?.containers ?? []).map((c) =>
        c.ports ? { name: c.name, ports: c.ports } : { name: c.name },
      ),
    },
    status: {
      ...(status.phase !== undefined ? { phase: status.phase } : {}),
      ...(status.podIP !== undefined ? { podIP: status.podIP } : {}),
      ...(status.podIPs !== undefined ? { podIPs: status.podIPs.map((x) => ({ ip: x.ip })) } : {}),
      ...(status.hostIP !== undefined ? { hostIP: status.hostIP } : {}),
      ...(ready !== undefined ? { conditions: [{ type: 'Ready', status: ready.status }] } : {}),
    },
  };
}

function trimSlice(o: KubeObject): KubeObject {
  const meta = trimMeta(o.metadata);
  delete meta.resourceVersion;
  delete meta.generation;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: meta,
    addressType: o.addressType,
    endpoints: o.endpoints,
    ports: o.ports,
  };
}

function trimService(o: KubeObject): KubeObject {
  const meta = trimMeta(o.metadata);
  delete meta.resourceVersion; // Service status (load balancer) changes are not ours
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: meta, spec: o.spec };
}

function trimNamespace(o: KubeObject): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: o.metadata.name, labels: o.metadata.labels ?? {} },
  };
}

function res(
  apiVersion: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  crd: boolean,
  trim = specOnly,
  optional = false,
): WatchedResource {
  return optional
    ? { apiVersion, kind, plural, namespaced, crd, trim, optional }
    : { apiVersion, kind, plural, namespaced, crd, trim };
}

export const GATEWAY_CLASS = res(`${GATEWAY}/v1`, 'GatewayClass', 'gatewayclasses', false, true);
export const GATEWAYS = res(`${GATEWAY}/v1`, 'Gateway', 'gateways', true, true);
export const HTTP_ROUTES = res(`${GATEWAY}/v1`, 'HTTPRoute', 'httproutes', true, true);
export const REFERENCE_GRANTS = res(`${GATEWAY}/v1beta1`, 'ReferenceGrant', 'referencegrants', true, true);
export const POOLS_V1 = res(`${INFERENCE}/v1`, 'InferencePool', 'inferencepools', true, true);
export const POOLS_V1ALPHA2 = res(`${INFERENCE_X}/v1alpha2`, 'InferencePool', 'inferencepools', true, true);
export const MODELS = res(`${INFERENCE_X}/v1alpha2`, 'InferenceModel', 'inferencemodels', true, true);
/** The first release's versions (seed 004 writes them); a CRD serves one or the other. */
export const POOLS_V1ALPHA1 = res(
  `${INFERENCE_X}/v1alpha1`,
  'InferencePool',
  'inferencepools',
  true,
  true,
  specOnly,
  true,
);
export const MODELS_V1ALPHA1 = res(
  `${INFERENCE_X}/v1alpha1`,
  'InferenceModel',
  'inferencemodels',
  true,
  true,
  specOnly,
  true,
);
export const OBJECTIVES = res(
  `${INFERENCE_X}/v1alpha2`,
  'InferenceObjective',
  'inferenceobjectives',
  true,
  true,
);
export const REWRITES = res(
  `${INFERENCE_X}/v1alpha2`,
  'InferenceModelRewrite',
  'inferencemodelrewrites',
  true,
  true,
);
export const BACKEND_TRAFFIC_POLICIES = res(
  `${ENVOY_GATEWAY}/v1alpha1`,
  'BackendTrafficPolicy',
  'backendtrafficpolicies',
  true,
  true,
  specOnly,
  true,
);
/** Istio's routing kinds: watched only when the gateway is told which Istio Gateways are its own. */
export const ISTIO_GATEWAYS = res(`${ISTIO}/v1`, 'Gateway', 'gateways', true, true);
export const VIRTUAL_SERVICES = res(`${ISTIO}/v1`, 'VirtualService', 'virtualservices', true, true);
export const LLM_ROUTES = res(`${ASM}/v1`, 'LLMRoute', 'llmroutes', true, true);
export const SERVICES = res('v1', 'Service', 'services', true, false, trimService);
export const ENDPOINT_SLICES = res(
  'discovery.k8s.io/v1',
  'EndpointSlice',
  'endpointslices',
  true,
  false,
  trimSlice,
);
export const PODS = res('v1', 'Pod', 'pods', true, false, trimPod);
export const NAMESPACES = res('v1', 'Namespace', 'namespaces', false, false, trimNamespace);

/**
 * Everything the gateway (`serve --kubernetes`) watches; with `istio`, Istio's Gateway,
 * VirtualService and LLMRoute too. Where one CRD may serve a kind in two versions, the newer comes
 * first: the source keeps the first copy of an object (by uid).
 */
export function gatewayResources(o: { istio?: boolean } = {}): readonly WatchedResource[] {
  return [
    GATEWAY_CLASS,
    GATEWAYS,
    HTTP_ROUTES,
    REFERENCE_GRANTS,
    POOLS_V1,
    POOLS_V1ALPHA2,
    POOLS_V1ALPHA1,
    MODELS,
    MODELS_V1ALPHA1,
    OBJECTIVES,
    REWRITES,
    BACKEND_TRAFFIC_POLICIES,
    ...(o.istio ? [ISTIO_GATEWAYS, VIRTUAL_SERVICES, LLM_ROUTES] : []),
    SERVICES,
    ENDPOINT_SLICES,
    PODS,
    NAMESPACES,
  ];
}

/** The InferencePool kinds, newest first. */
export const POOL_KINDS: readonly WatchedResource[] = [POOLS_V1, POOLS_V1ALPHA2, POOLS_V1ALPHA1];

/** The kinds one pool needs (the endpoint picker's narrowed watch); Pods are added with its selector. */
export const POOL_RESOURCES: readonly WatchedResource[] = [
  ...POOL_KINDS,
  MODELS,
  MODELS_V1ALPHA1,
  OBJECTIVES,
  REWRITES,
];

/** The collection path of a resource, in one namespace or all. */
export function collectionPath(r: WatchedResource, namespace?: string): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return r.namespaced && namespace !== undefined
    ? `${base}/namespaces/${namespace}/${r.plural}`
    : `${base}/${r.plural}`;
}

/** The path of one object. */
export function objectPath(r: WatchedResource, namespace: string | undefined, name: string): string {
  return `${collectionPath(r, r.namespaced ? namespace : undefined)}/${name}`;
}
