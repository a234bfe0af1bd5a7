/**
 * The plan: what `infergate validate` prints and `infergate serve` runs. It is the resolved form of
 * every resource loaded (Gateway API, Inference Extension, Istio/ASM, Envoy Gateway policies, Pods,
 * EndpointSlices, workloads), with defaults applied and references resolved.
 *
 * CONTRACT between the config room (which builds it) and the gateway / pool / scheduling rooms
 * (which read it). Fields may be added; changing or removing one means changing every reader.
 * Plans are immutable once built: a reload builds a new plan and swaps it in.
 */
import type { LabelSelector, Labels } from '../util/labels.js';

/** Where an object came from; every diagnostic and plan line can point back at it. */
export interface SourceRef {
  /** Path as given on the command line (or inside a folder given), `<stdin>` for `-f -`. */
  file: string;
  /** 1-based index of the YAML document within the file. */
  doc: number;
  apiVersion: string;
  kind: string;
  name: string;
  /** `default` when the manifest has none, as kubectl would apply it. */
  namespace: string;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. UNKNOWN_FIELD, REF_NOT_FOUND, DUPLICATE_MODEL_NAME. */
  code: string;
  file: string;
  /** 1-based document index; absent for problems of the file as a whole. */
  doc?: number;
  /** `Kind/name` of the object, when known. */
  object?: string;
  /** Field path in the object, e.g. `spec.rules[0].backendRefs[1].port`; '' for the whole object. */
  path: string;
  /** What is wrong. */
  message: string;
  /** What would fix it. */
  fix?: string;
  /** 1-based line and column in the file, when known (YAML syntax errors). */
  line?: number;
  column?: number;
}

export interface Plan {
  /** One entry per listener of every Gateway (Gateway API or Istio), in load order. */
  listeners: readonly ListenerPlan[];
  /** Every route (HTTPRoute, VirtualService, LLMRoute, pool attach-to annotation), in precedence-tie order. */
  routes: readonly RoutePlan[];
  /** Keyed by `namespace/name`. */
  services: ReadonlyMap<string, ServicePlan>;
  /** Keyed by `namespace/name`. */
  pools: ReadonlyMap<string, PoolPlan>;
  /** Kinds accepted but not used for routing, each said once. */
  ignored: readonly { kind: string; apiVersion: string; names: readonly string[]; reason?: string }[];
  /** Warnings and infos (a plan is only built when there are no errors). */
  diagnostics: readonly Diagnostic[];
}

export interface ListenerPlan {
  /** `namespace/gatewayName/listenerName` (Istio: the server port's name, or `port-<number>`). */
  key: string;
  gateway: { kind: 'Gateway' | 'IstioGateway'; namespace: string; name: string };
  /** Listener name (the HTTPRoute parentRef `sectionName` that selects it). */
  name: string;
  /** Port as declared; `serve` may remap it (privileged or busy ports). */
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  /** Listener hostname (may be a `*.` wildcard); undefined accepts any Host. */
  hostname?: string;
  /** Keys of the routes attached to this listener, in precedence-tie order. */
  routeKeys: readonly string[];
  /** Request timeout from an Envoy Gateway BackendTrafficPolicy targeting this Gateway (ms). */
  requestTimeoutMs?: number;
  /** Service load-balancing policy from a BackendTrafficPolicy (`spec.loadBalancer.type`), if any. */
  loadBalancer?: ServiceLbPolicy;
  source: SourceRef;
}

export type ServiceLbPolicy = 'round-robin' | 'least-request' | 'random';

export interface RoutePlan {
  /** `Kind namespace/name`, e.g. `HTTPRoute default/mirror-route`. */
  key: string;
  kind: 'HTTPRoute' | 'VirtualService' | 'LLMRoute' | 'PoolAttachment';
  namespace: string;
  name: string;
  /** Gateway API precedence ties go to the oldest route: creationTimestamp if given, else load order. */
  creationTimestamp?: string;
  loadOrder: number;
  /** Hostnames the route matches (may contain a leading `*.` wildcard); empty = any. */
  hostnames: readonly string[];
  /** Listener keys the route attached to (parentRefs resolved). */
  listenerKeys: readonly string[];
  rules: readonly RulePlan[];
  /**
   * Istio VirtualService / ASM LLMRoute semantics: the route's rules are tried in order and the first
   * match wins, instead of Gateway API precedence between rules. Undefined/false for Gateway API.
   */
  firstMatch?: boolean;
  /** Service load-balancing policy from a BackendTrafficPolicy targeting this route (wins over the Gateway's). */
  loadBalancer?: ServiceLbPolicy;
  source: SourceRef;
}

export interface RulePlan {
  /** Index in the route's `rules` (or VirtualService `http`). */
  index: number;
  name?: string;
  /** Never empty: a rule without matches gets the default `PathPrefix /`. */
  matches: readonly MatchPlan[];
  /** May be empty (Gateway API answers 500). Weights are ≥ 0; all zero also answers 500. */
  backends: readonly BackendPlan[];
  requestHeaderModifier?: HeaderModifierPlan;
  urlRewrite?: UrlRewritePlan;
  mirrors: readonly MirrorPlan[];
  /** Undefined: no timeout from the route; 0: explicitly disabled. */
  timeouts: { requestMs?: number; backendRequestMs?: number };
}

export interface MatchPlan {
  path: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string };
  headers: readonly { type: 'Exact' | 'RegularExpression'; name: string; value: string }[];
  queryParams: readonly { type: 'Exact' | 'RegularExpression'; name: string; value: string }[];
  method?: string;
}

export interface BackendPlan {
  kind: 'Service' | 'InferencePool';
  /** `namespace/name` of the Service or InferencePool. */
  key: string;
  /** Service port (required for Services by the Gateway API); unused for pools. */
  port?: number;
  weight: number;
  /** False when the reference does not resolve (ResolvedRefs=False): requests to it are answered 500. */
  resolved: boolean;
}

export interface MirrorPlan {
  backend: BackendPlan;
  /** Share of requests mirrored, 0..1 (percent/100 or numerator/denominator; default 1). */
  fraction: number;
}

export interface HeaderModifierPlan {
  set: readonly { name: string; value: string }[];
  add: readonly { name: string; value: string }[];
  remove: readonly string[];
}

export interface UrlRewritePlan {
  hostname?: string;
  path?: { type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; value: string };
}

/** A concrete address a backend resolves to. */
export interface EndpointAddress {
  address: string;
  port: number;
  /** Pod not ready, or EndpointSlice condition ready=false: kept out of balancing. */
  ready: boolean;
  podName?: string;
  labels: Labels;
  from: 'Pod' | 'EndpointSlice';
}

/** A Deployment / StatefulSet / ReplicaSet whose pod template a selector matches (for the plan). */
export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
  replicas: number;
}

export interface ServicePlan {
  key: string;
  namespace: string;
  name: string;
  /** Undefined for a Service without selector (endpoints come only from EndpointSlices). */
  selector?: Labels;
  ports: readonly { name?: string; port: number; targetPort: number | string; protocol: string }[];
  /** Resolved endpoints per Service port number. */
  endpointsByPort: ReadonlyMap<number, readonly EndpointAddress[]>;
  workloads: readonly WorkloadRef[];
  source: SourceRef;
}

export type Criticality = 'Critical' | 'Standard' | 'Sheddable';

export interface PoolPlan {
  key: string;
  namespace: string;
  name: string;
  apiVersion: string;
  selector: LabelSelector;
  /** v1 `targetPorts[].number`, or `[targetPortNumber]` for v1alpha1/2. */
  targetPorts: readonly number[];
  appProtocol: 'http' | 'kubernetes.io/h2c';
  /** extensionRef (v1alpha2) / endpointPickerRef (v1): shown in the plan; standalone picks in-process. */
  endpointPicker?: { kind: string; name: string; port?: number; failureMode: 'FailOpen' | 'FailClose' };
  /** Annotation `inference.networking.x-k8s.io/routing-strategy` (e.g. PREFIX_CACHE), if set. */
  routingStrategy?: string;
  /**
   * The InferencePool's `metadata.annotations` as written (the scheduler reads
   * `inference.networking.k8s.io/engine-type` and `infergate.io/unknown-models` from them).
   */
  annotations?: Readonly<Record<string, string>>;
  /** One endpoint per (pod, target port): each podIP:port is its own endpoint. */
  endpoints: readonly EndpointAddress[];
  workloads: readonly WorkloadRef[];
  /** InferenceModels of this pool, winners only (oldest wins a duplicated modelName). */
  models: readonly ModelPlan[];
  /** InferenceObjectives of this pool (selected by header `x-gateway-inference-objective`). */
  objectives: readonly ObjectivePlan[];
  rewrites: readonly ModelRewritePlan[];
  /** The EndpointPickerConfig this pool uses, if any (see docs/configuration.md for how it is chosen). */
  pickerConfig?: PickerConfigPlan;
  /** Which rule chose `pickerConfig` (see docs/configuration.md). */
  pickerConfigChosenBy?: 'annotation' | 'endpoint-picker-ref' | 'only-config-in-namespace';
  source: SourceRef;
}

export interface ModelPlan {
  /** InferenceModel object name. */
  name: string;
  /** The request `model` it serves. */
  modelName: string;
  criticality: Criticality;
  /** Targets with weights; empty means "send modelName unchanged". Weights all set or all unset (then equal). */
  targetModels: readonly { name: string; weight: number }[];
  source: SourceRef;
}

export interface ObjectivePlan {
  name: string;
  /** Higher first; negative = sheddable. Unset in the manifest = 0. */
  priority: number;
  source: SourceRef;
}

export interface ModelRewritePlan {
  name: string;
  rules: readonly {
    matches: readonly { type: 'Exact'; value: string }[];
    targets: readonly { modelRewrite: string; weight: number }[];
  }[];
  source: SourceRef;
}

/** An EndpointPickerConfig, envelope-validated; the scheduling room validates plugin types/params. */
export interface PickerConfigPlan {
  name: string;
  plugins: readonly { type: string; name: string; parameters: Readonly<Record<string, unknown>> }[];
  schedulingProfiles: readonly {
    name: string;
    plugins: readonly { pluginRef: string; weight?: number }[];
  }[];
  /** Upstream `featureGates` (experimental EPP features), as written. */
  featureGates?: readonly string[];
  /** Upstream `saturationDetector`; unset fields take the scheduler's defaults. */
  saturationDetector?: {
    queueDepthThreshold?: number;
    kvCacheUtilThreshold?: number;
    metricsStalenessThresholdMs?: number;
  };
  source: SourceRef;
}
