/**
 * Stage 2: documents → validated objects (the strict envelope). Each document is classified by
 * apiVersion and kind; routing kinds are checked field by field (unknown fields, types, ranges,
 * formats) and stored; ignored kinds are recorded (workloads and namespaces are read leniently);
 * unknown kinds are a warning. Nothing here looks across objects — that is the plan builder's job.
 */
import type { z } from 'zod';
import type { Labels } from '../util/labels.js';
import {
  CLUSTER_ORIGIN,
  Codes,
  closest,
  type DiagnosticSink,
  listOr,
  objectLabel,
  originOf,
  type Where,
  whereOf,
} from './diagnostics.js';
import type { RawDocument } from './documents.js';
import {
  apiVersionsOf,
  IGNORED_KINDS,
  type KindId,
  type KindSpec,
  kindSpec,
  knownKindNames,
  splitApiVersion,
  WORKLOAD_KINDS,
} from './kinds.js';
import type { SourceRef } from './plan.js';
import {
  describeIssue,
  describeUnknownField,
  findUnknownFields,
  namespaceName,
  objectName,
  serviceName,
} from './schema/common.js';
import type { EndpointSlice, Pod, Service } from './schema/core.js';
import type { BackendTrafficPolicy } from './schema/envoy-gateway.js';
import type { Gateway, gatewayClass, HTTPRoute, ReferenceGrant } from './schema/gateway-api.js';
import type {
  EndpointPickerConfig,
  InferenceModelRewrite,
  InferenceModelV1alpha1,
  InferenceModelV1alpha2,
  InferenceObjective,
  InferencePoolV1,
  InferencePoolV1alpha1,
  InferencePoolV1alpha2,
} from './schema/inference.js';
import type { IstioGateway, LLMRoute, VirtualService } from './schema/istio.js';

export const DEFAULT_NAMESPACE = 'default';

/** The validated body of each kind (zod output, defaults not yet applied). */
export interface KindBodies {
  GatewayClass: z.output<typeof gatewayClass>;
  Gateway: Gateway;
  HTTPRoute: HTTPRoute;
  ReferenceGrant: ReferenceGrant;
  InferencePool: InferencePoolV1alpha1 | InferencePoolV1alpha2 | InferencePoolV1;
  InferenceModel: InferenceModelV1alpha1 | InferenceModelV1alpha2;
  InferenceObjective: InferenceObjective;
  InferenceModelRewrite: InferenceModelRewrite;
  EndpointPickerConfig: EndpointPickerConfig;
  IstioGateway: IstioGateway;
  VirtualService: VirtualService;
  LLMRoute: LLMRoute;
  BackendTrafficPolicy: BackendTrafficPolicy;
  Service: Service;
  Pod: Pod;
  EndpointSlice: EndpointSlice;
}

export interface Meta {
  name: string;
  namespace: string;
  labels: Labels;
  annotations: Readonly<Record<string, string>>;
  creationTimestamp?: string;
}

export interface LoadedObject<K extends KindId = KindId> {
  id: K;
  src: SourceRef;
  meta: Meta;
  body: KindBodies[K];
  /** Position among all documents loaded (0-based), the tie-breaker when timestamps are absent. */
  loadOrder: number;
}

/** A Deployment / StatefulSet / ReplicaSet, read for its pod template labels and replica count. */
export interface WorkloadObject {
  src: SourceRef;
  kind: string;
  namespace: string;
  name: string;
  replicas: number;
  podLabels: Labels;
}

export interface IgnoredEntry {
  kind: string;
  apiVersion: string;
  names: string[];
  reason: string;
}

/** Every object loaded, by kind and `namespace/name`. Later definitions replace earlier ones. */
export class ObjectStore {
  private readonly byKind = new Map<KindId, Map<string, LoadedObject>>();
  private readonly invalid = new Set<string>();
  readonly workloads: WorkloadObject[] = [];
  /** Labels of Namespace objects given; a namespace not given has only `kubernetes.io/metadata.name`. */
  readonly namespaceLabels = new Map<string, Labels>();
  readonly ignored = new Map<string, IgnoredEntry>();
  private loaded = 0;

  /** The load order of the next object (0-based): the age tie-breaker when timestamps are absent. */
  nextLoadOrder(): number {
    return this.loaded++;
  }

  add(obj: LoadedObject, sink: DiagnosticSink): void {
    let map = this.byKind.get(obj.id);
    if (!map) {
      map = new Map();
      this.byKind.set(obj.id, map);
    }
    const key = keyOf(obj.meta.namespace, obj.meta.name);
    const previous = map.get(key);
    if (previous) {
      sink.warn(
        whereOf(obj.src),
        Codes.DUPLICATE_OBJECT,
        'metadata.name',
        `${obj.src.kind} ${key} is also defined in ${originOf(previous.src)}; this later definition replaces it, as kubectl apply would`,
        'keep only one definition of the object',
      );
      map.delete(key);
    }
    map.set(key, obj);
  }

  /** Remembers an object that failed validation, so references to it are not reported as missing too. */
  markInvalid(id: KindId, namespace: string, name: string): void {
    this.invalid.add(`${id} ${keyOf(namespace, name)}`);
  }

  isInvalid(id: KindId, key: string): boolean {
    return this.invalid.has(`${id} ${key}`);
  }

  get<K extends KindId>(id: K, key: string): LoadedObject<K> | undefined {
    return this.byKind.get(id)?.get(key) as LoadedObject<K> | undefined;
  }

  /** Objects of a kind, in load order. */
  list<K extends KindId>(id: K): LoadedObject<K>[] {
    const map = this.byKind.get(id);
    if (!map) return [];
    return ([...map.values()] as LoadedObject<K>[]).sort((a, b) => a.loadOrder - b.loadOrder);
  }

  labelsOfNamespace(ns: string): Labels {
    return this.namespaceLabels.get(ns) ?? { 'kubernetes.io/metadata.name': ns };
  }
}

export function keyOf(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** One object being loaded: its document and what its envelope says about it. */
interface Candidate {
  raw: RawDocument;
  value: Record<string, unknown>;
  where: Where;
  group: string;
  kind: string;
  apiVersion: string;
  name: string | undefined;
  /** From metadata.namespace, else `default`. */
  namespace: string;
  loadOrder: number;
}

/** Validates one document and records it in the store; every problem becomes a diagnostic. */
export function loadDocument(raw: RawDocument, store: ObjectStore, sink: DiagnosticSink): void {
  const loadOrder = store.nextLoadOrder();
  const fromCluster = raw.file === CLUSTER_ORIGIN;
  const base: Where = fromCluster ? { file: raw.file } : { file: raw.file, doc: raw.doc };
  const v = raw.value;
  if (!isRecord(v)) {
    sink.error(
      base,
      Codes.NOT_AN_OBJECT,
      '',
      `the document is ${Array.isArray(v) ? 'a list' : 'a plain value'}, not a Kubernetes object`,
      'each document must be a mapping with apiVersion, kind and metadata',
    );
    return;
  }
  const kind = v.kind;
  const apiVersion = v.apiVersion;
  if (kind === 'List' && apiVersion === 'v1' && Array.isArray(v.items)) {
    // `kubectl get … -o yaml` output: each item is an object of this document.
    for (const item of v.items) loadDocument({ ...raw, value: item }, store, sink);
    return;
  }
  const metadata = isRecord(v.metadata) ? v.metadata : undefined;
  const rawName = typeof metadata?.name === 'string' ? metadata.name : undefined;
  const rawNamespace = typeof metadata?.namespace === 'string' ? metadata.namespace : '';
  const where: Where = {
    ...base,
    object:
      typeof kind === 'string'
        ? objectLabel({ file: raw.file, kind, name: rawName ?? '?', namespace: rawNamespace })
        : undefined,
  };
  if (kind === undefined || kind === null || kind === '') {
    sink.error(
      base,
      Codes.MISSING_KIND,
      'kind',
      'the document has no "kind"',
      'add kind and apiVersion, e.g. `kind: HTTPRoute` with `apiVersion: gateway.networking.k8s.io/v1`',
    );
    return;
  }
  if (typeof kind !== 'string') {
    sink.error(
      base,
      Codes.WRONG_TYPE,
      'kind',
      `"kind" must be a string, got ${JSON.stringify(kind)}`,
      'write e.g. `kind: Service`',
    );
    return;
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    const known = apiVersionsOf(kind);
    sink.error(
      where,
      Codes.MISSING_API_VERSION,
      'apiVersion',
      apiVersion === undefined ? 'the document has no "apiVersion"' : '"apiVersion" must be a string',
      known.length ? `add apiVersion: ${known[0]}` : 'add the apiVersion of the kind, e.g. `apiVersion: v1`',
    );
    return;
  }
  const { group, version } = splitApiVersion(apiVersion);
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : DEFAULT_NAMESPACE;
  const c: Candidate = { raw, value: v, where, group, kind, apiVersion, name: rawName, namespace, loadOrder };
  const spec = kindSpec(group, kind);
  if (!spec) {
    const reason = IGNORED_KINDS.get(`${group}/${kind}`);
    if (reason !== undefined) {
      recordIgnored(c, reason, store);
      return;
    }
    const versions = apiVersionsOf(kind);
    if (versions.length) {
      sink.warn(
        where,
        Codes.UNKNOWN_API_VERSION,
        'apiVersion',
        `"${apiVersion}" is not an apiVersion of ${kind} that infergate reads; the object is ignored`,
        `use ${listOr(versions)}`,
      );
    } else {
      const guess = closest(kind, knownKindNames());
      sink.warn(
        where,
        Codes.UNKNOWN_KIND,
        'kind',
        `kind "${kind}" (${apiVersion}) is not known to infergate; the object is ignored`,
        guess ? `did you mean "${guess}"?` : 'remove it if it does not affect routing',
      );
    }
    return;
  }
  const schema = spec.versions[version];
  if (!schema) {
    sink.warn(
      where,
      Codes.UNKNOWN_API_VERSION,
      'apiVersion',
      `"${apiVersion}" is not an apiVersion of ${kind} that infergate reads; the object is ignored`,
      `use ${listOr(apiVersionsOf(kind))}`,
    );
    return;
  }
  validateAndStore(c, spec, schema, store, sink);
}

/** The strict envelope of a kind infergate acts on: name, unknown fields, then the schema. */
function validateAndStore(
  c: Candidate,
  spec: KindSpec,
  schema: z.ZodType,
  store: ObjectStore,
  sink: DiagnosticSink,
): void {
  const { raw, value: v, where, apiVersion, name: rawName, namespace, loadOrder } = c;
  let ok = true;
  const name = rawName ?? '';
  // A missing `metadata` altogether is reported once, by the schema.
  if (rawName === undefined && !spec.nameOptional && isRecord(v.metadata)) {
    ok = false;
    sink.error(where, Codes.MISSING_FIELD, 'metadata.name', 'required field is missing', 'add metadata.name');
  } else if (rawName !== undefined) {
    const nameSchema = spec.dns1035Name ? serviceName : objectName;
    const r = nameSchema.safeParse(rawName, { reportInput: true });
    if (!r.success) {
      ok = false;
      for (const issue of r.error.issues) {
        const d = describeIssue(issue, 'metadata.name');
        sink.error(where, Codes.INVALID_NAME, d.path, d.message, d.fix);
      }
    }
  }
  // The API server has already checked objects against their CRD schemas: a field infergate does not
  // know there comes from a newer CRD version, and is noted rather than refused.
  const fromCluster = raw.file === CLUSTER_ORIGIN;
  for (const u of findUnknownFields(schema, v)) {
    const d = describeUnknownField(u);
    if (fromCluster) {
      sink.info(where, Codes.UNKNOWN_FIELD, u.path, `${d.message}; infergate ignores it`);
      continue;
    }
    ok = false;
    sink.error(where, Codes.UNKNOWN_FIELD, u.path, d.message, d.fix);
  }
  const parsed = schema.safeParse(v, { reportInput: true });
  if (!parsed.success) {
    ok = false;
    for (const issue of parsed.error.issues) {
      const d = describeIssue(issue);
      sink.error(where, d.code, d.path, d.message, d.fix);
    }
  }
  const ns = spec.clusterScoped ? '' : namespace;
  if (!ok || !parsed.success) {
    if (name) store.markInvalid(spec.id, ns, name);
    return;
  }
  const meta = (parsed.data as { metadata?: Record<string, unknown> }).metadata ?? {};
  const src: SourceRef = { file: raw.file, doc: raw.doc, apiVersion, kind: spec.kind, name, namespace: ns };
  const obj: LoadedObject = {
    id: spec.id,
    src,
    meta: {
      name,
      namespace: ns,
      labels: stringRecord(meta.labels),
      annotations: stringRecord(meta.annotations),
      ...(typeof meta.creationTimestamp === 'string' ? { creationTimestamp: meta.creationTimestamp } : {}),
    },
    body: parsed.data as KindBodies[KindId],
    loadOrder,
  };
  store.add(obj, sink);
}

/** Ignored kinds: listed once in the plan; workloads and namespaces are read for what routing needs. */
function recordIgnored(c: Candidate, reason: string, store: ObjectStore): void {
  const { raw, value: v, group, kind, apiVersion, name, namespace } = c;
  const groupKind = `${group}/${kind}`;
  let entry = store.ignored.get(groupKind);
  if (!entry) {
    entry = { kind, apiVersion, names: [], reason };
    store.ignored.set(groupKind, entry);
  }
  const display = kind === 'Namespace' ? (name ?? '?') : keyOf(namespace, name ?? '?');
  if (!entry.names.includes(display)) entry.names.push(display);
  if (kind === 'Namespace' && name && namespaceName.safeParse(name).success) {
    const md = isRecord(v.metadata) ? v.metadata : {};
    store.namespaceLabels.set(name, { ...stringRecord(md.labels), 'kubernetes.io/metadata.name': name });
    return;
  }
  if (!WORKLOAD_KINDS.has(groupKind) || !name) return;
  const specV = isRecord(v.spec) ? v.spec : {};
  const template = isRecord(specV.template) ? specV.template : {};
  const tmeta = isRecord(template.metadata) ? template.metadata : {};
  const replicas =
    typeof specV.replicas === 'number' && Number.isInteger(specV.replicas) && specV.replicas >= 0
      ? specV.replicas
      : 1;
  const workload: WorkloadObject = {
    src: { file: raw.file, doc: raw.doc, apiVersion, kind, name, namespace },
    kind,
    namespace,
    name,
    replicas,
    podLabels: stringRecord(tmeta.labels),
  };
  const i = store.workloads.findIndex((w) => w.kind === kind && w.namespace === namespace && w.name === name);
  if (i >= 0) store.workloads[i] = workload;
  else store.workloads.push(workload);
}
