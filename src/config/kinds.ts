/**
 * The kinds infergate reads, by API group and kind, with the versions accepted and the schema of each.
 * Kinds that do not affect routing are listed in IGNORED_KINDS (with why); anything else is unknown.
 */
import type { z } from 'zod';
import { endpointSlice, pod, service } from './schema/core.js';
import { backendTrafficPolicy } from './schema/envoy-gateway.js';
import { gateway, gatewayClass, httpRoute, referenceGrant } from './schema/gateway-api.js';
import {
  endpointPickerConfig,
  INFERENCE_GROUP,
  INFERENCE_GROUP_X,
  inferenceModelRewrite,
  inferenceModelV1alpha1,
  inferenceModelV1alpha2,
  inferenceObjective,
  inferencePoolV1,
  inferencePoolV1alpha1,
  inferencePoolV1alpha2,
} from './schema/inference.js';
import { istioGateway, llmRoute, virtualService } from './schema/istio.js';

/** Internal identity of a kind (Istio's Gateway is not Gateway API's). */
export type KindId =
  | 'GatewayClass'
  | 'Gateway'
  | 'HTTPRoute'
  | 'ReferenceGrant'
  | 'InferencePool'
  | 'InferenceModel'
  | 'InferenceObjective'
  | 'InferenceModelRewrite'
  | 'EndpointPickerConfig'
  | 'IstioGateway'
  | 'VirtualService'
  | 'LLMRoute'
  | 'BackendTrafficPolicy'
  | 'Service'
  | 'Pod'
  | 'EndpointSlice';

export interface KindSpec {
  id: KindId;
  group: string;
  kind: string;
  /** Accepted versions, each with its schema. */
  versions: Readonly<Record<string, z.ZodType>>;
  /** Cluster-scoped kinds have no namespace. */
  clusterScoped?: boolean;
  /** EndpointPickerConfig is a file format upstream: metadata is optional. */
  nameOptional?: boolean;
  /** Services need DNS-1035 names (they become DNS labels). */
  dns1035Name?: boolean;
}

const GW = 'gateway.networking.k8s.io';
const ISTIO = 'networking.istio.io';
const ASM = 'istio.alibabacloud.com';
const EG = 'gateway.envoyproxy.io';

const specs: KindSpec[] = [
  {
    id: 'GatewayClass',
    group: GW,
    kind: 'GatewayClass',
    versions: { v1: gatewayClass, v1beta1: gatewayClass },
    clusterScoped: true,
  },
  { id: 'Gateway', group: GW, kind: 'Gateway', versions: { v1: gateway, v1beta1: gateway } },
  { id: 'HTTPRoute', group: GW, kind: 'HTTPRoute', versions: { v1: httpRoute, v1beta1: httpRoute } },
  {
    id: 'ReferenceGrant',
    group: GW,
    kind: 'ReferenceGrant',
    versions: { v1beta1: referenceGrant, v1alpha2: referenceGrant, v1: referenceGrant },
  },
  {
    id: 'InferencePool',
    group: INFERENCE_GROUP_X,
    kind: 'InferencePool',
    versions: { v1alpha1: inferencePoolV1alpha1, v1alpha2: inferencePoolV1alpha2 },
  },
  { id: 'InferencePool', group: INFERENCE_GROUP, kind: 'InferencePool', versions: { v1: inferencePoolV1 } },
  {
    id: 'InferenceModel',
    group: INFERENCE_GROUP_X,
    kind: 'InferenceModel',
    versions: { v1alpha1: inferenceModelV1alpha1, v1alpha2: inferenceModelV1alpha2 },
  },
  {
    id: 'InferenceObjective',
    group: INFERENCE_GROUP_X,
    kind: 'InferenceObjective',
    versions: { v1alpha2: inferenceObjective },
  },
  {
    id: 'InferenceModelRewrite',
    group: INFERENCE_GROUP_X,
    kind: 'InferenceModelRewrite',
    versions: { v1alpha2: inferenceModelRewrite },
  },
  {
    id: 'EndpointPickerConfig',
    group: INFERENCE_GROUP_X,
    kind: 'EndpointPickerConfig',
    versions: { v1alpha1: endpointPickerConfig },
    nameOptional: true,
  },
  {
    id: 'IstioGateway',
    group: ISTIO,
    kind: 'Gateway',
    versions: { v1: istioGateway, v1beta1: istioGateway, v1alpha3: istioGateway },
  },
  {
    id: 'VirtualService',
    group: ISTIO,
    kind: 'VirtualService',
    versions: { v1: virtualService, v1beta1: virtualService, v1alpha3: virtualService },
  },
  { id: 'LLMRoute', group: ASM, kind: 'LLMRoute', versions: { v1: llmRoute, v1beta1: llmRoute } },
  {
    id: 'BackendTrafficPolicy',
    group: EG,
    kind: 'BackendTrafficPolicy',
    versions: { v1alpha1: backendTrafficPolicy },
  },
  { id: 'Service', group: '', kind: 'Service', versions: { v1: service }, dns1035Name: true },
  { id: 'Pod', group: '', kind: 'Pod', versions: { v1: pod } },
  { id: 'EndpointSlice', group: 'discovery.k8s.io', kind: 'EndpointSlice', versions: { v1: endpointSlice } },
];

const byGroupKind = new Map<string, KindSpec>();
const groupsByKind = new Map<string, string[]>();
for (const s of specs) {
  byGroupKind.set(`${s.group}/${s.kind}`, s);
  const list = groupsByKind.get(s.kind) ?? [];
  for (const v of Object.keys(s.versions)) list.push(s.group ? `${s.group}/${v}` : v);
  groupsByKind.set(s.kind, list);
}

export function kindSpec(group: string, kind: string): KindSpec | undefined {
  return byGroupKind.get(`${group}/${kind}`);
}

/** Every apiVersion accepted for a kind name (across groups), for "use one of …" fixes. */
export function apiVersionsOf(kind: string): readonly string[] {
  return groupsByKind.get(kind) ?? [];
}

export function knownKindNames(): Iterable<string> {
  return groupsByKind.keys();
}

/** Splits `group/version` (`v1` is the core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Workloads: read only for the plan (which pods a selector will match, and how many). */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/ReplicaSet',
]);

const WORKLOAD_REASON = 'read only for pod labels and replica counts';
const NOT_ROUTING = 'not used for routing';
const NOT_SERVED = 'route kind infergate does not serve';
const NOT_APPLIED = 'not applied by infergate';

/**
 * Kinds accepted and ignored, by `group/kind`, with the reason shown in the plan. Workloads and
 * Namespaces are also read (pod templates, namespace labels for `allowedRoutes` selectors).
 */
export const IGNORED_KINDS: ReadonlyMap<string, string> = new Map([
  ['apps/Deployment', WORKLOAD_REASON],
  ['apps/StatefulSet', WORKLOAD_REASON],
  ['apps/ReplicaSet', WORKLOAD_REASON],
  ['apps/DaemonSet', NOT_ROUTING],
  ['/Namespace', 'read only for its labels (allowedRoutes namespace selectors)'],
  ['/ConfigMap', NOT_ROUTING],
  ['/Secret', NOT_ROUTING],
  ['/ServiceAccount', NOT_ROUTING],
  ['/PersistentVolumeClaim', NOT_ROUTING],
  ['/PersistentVolume', NOT_ROUTING],
  ['/LimitRange', NOT_ROUTING],
  ['/ResourceQuota', NOT_ROUTING],
  ['/Endpoints', 'legacy Endpoints are not read; give EndpointSlice or Pod objects'],
  ['batch/Job', NOT_ROUTING],
  ['batch/CronJob', NOT_ROUTING],
  ['rbac.authorization.k8s.io/Role', NOT_ROUTING],
  ['rbac.authorization.k8s.io/RoleBinding', NOT_ROUTING],
  ['rbac.authorization.k8s.io/ClusterRole', NOT_ROUTING],
  ['rbac.authorization.k8s.io/ClusterRoleBinding', NOT_ROUTING],
  ['autoscaling/HorizontalPodAutoscaler', NOT_ROUTING],
  ['policy/PodDisruptionBudget', NOT_ROUTING],
  ['networking.k8s.io/NetworkPolicy', NOT_ROUTING],
  ['networking.k8s.io/Ingress', NOT_SERVED],
  ['networking.k8s.io/IngressClass', NOT_ROUTING],
  ['storage.k8s.io/StorageClass', NOT_ROUTING],
  ['scheduling.k8s.io/PriorityClass', NOT_ROUTING],
  ['apiextensions.k8s.io/CustomResourceDefinition', NOT_ROUTING],
  ['monitoring.coreos.com/ServiceMonitor', NOT_ROUTING],
  ['monitoring.coreos.com/PodMonitor', NOT_ROUTING],
  ['monitoring.coreos.com/PrometheusRule', NOT_ROUTING],
  [`${GW}/GRPCRoute`, NOT_SERVED],
  [`${GW}/TCPRoute`, NOT_SERVED],
  [`${GW}/TLSRoute`, NOT_SERVED],
  [`${GW}/UDPRoute`, NOT_SERVED],
  [`${GW}/BackendTLSPolicy`, NOT_APPLIED],
  [`${GW}/BackendTrafficPolicy`, NOT_APPLIED],
  [`${EG}/EnvoyProxy`, 'infrastructure, not applied in standalone'],
  [`${EG}/ClientTrafficPolicy`, NOT_APPLIED],
  [`${EG}/SecurityPolicy`, NOT_APPLIED],
  [`${EG}/EnvoyExtensionPolicy`, NOT_APPLIED],
  [`${EG}/EnvoyPatchPolicy`, NOT_APPLIED],
  [`${EG}/Backend`, NOT_APPLIED],
  [`${ISTIO}/DestinationRule`, NOT_APPLIED],
  [`${ISTIO}/ServiceEntry`, NOT_APPLIED],
  [`${ISTIO}/Sidecar`, NOT_APPLIED],
  [`${ISTIO}/EnvoyFilter`, NOT_APPLIED],
  [`${ASM}/LLMProvider`, NOT_APPLIED],
]);
