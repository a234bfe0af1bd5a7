/**
 * Endpoint resolution from Kubernetes' own objects — the same rules a cluster applies, so the later
 * Kubernetes mode can feed Pods and EndpointSlices from the API server into these functions unchanged.
 *
 * - A Pod is an endpoint of a selector when its labels match (src/util/labels.ts) in the same namespace.
 *   Its address is `status.podIP` (or `status.podIPs[0].ip`); without one it is not an endpoint yet.
 * - Port remapping uses the real meaning of `hostPort`: when a container declares
 *   `{containerPort: <target port>, hostPort: H}`, the endpoint is `(status.hostIP ?? podIP):H`.
 *   This is how many simulated replicas share 127.0.0.1 while manifests keep `targetPortNumber: 8000`.
 * - A Pod is ready unless its phase is given and is not Running, it is being deleted, or it has a
 *   Ready condition whose status is not "True".
 * - EndpointSlices (label `kubernetes.io/service-name`) give a Service's endpoints directly; when any
 *   exist for a Service they are used instead of its selector. Ports are matched by name, as
 *   Kubernetes does (an unnamed Service port matches an unnamed slice port).
 * - Deployments / StatefulSets / ReplicaSets whose pod template matches a selector are reported as
 *   workloads (for the plan), with their replica counts.
 */
import { type LabelSelector, type Labels, selectorMatches } from '../../util/labels.js';
import type { LoadedObject, ObjectStore } from '../objects.js';
import type { EndpointAddress, WorkloadRef } from '../plan.js';
import type { Service } from '../schema/core.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

type PodObject = LoadedObject<'Pod'>;
type SliceObject = LoadedObject<'EndpointSlice'>;

/** Pods and EndpointSlices indexed for lookups; built once per load. */
export class EndpointIndex {
  private readonly podsByNamespace = new Map<string, PodObject[]>();
  private readonly slicesByService = new Map<string, SliceObject[]>();

  constructor(store: ObjectStore) {
    for (const pod of store.list('Pod')) {
      const list = this.podsByNamespace.get(pod.meta.namespace) ?? [];
      list.push(pod);
      this.podsByNamespace.set(pod.meta.namespace, list);
    }
    for (const slice of store.list('EndpointSlice')) {
      const svc = slice.meta.labels[SERVICE_NAME_LABEL];
      if (!svc) continue;
      const key = `${slice.meta.namespace}/${svc}`;
      const list = this.slicesByService.get(key) ?? [];
      list.push(slice);
      this.slicesByService.set(key, list);
    }
  }

  /** Pods of `namespace` whose labels the selector matches, in load order. */
  podsMatching(namespace: string, selector: LabelSelector): PodObject[] {
    const pods = this.podsByNamespace.get(namespace) ?? [];
    return pods.filter((p) => selectorMatches(selector, p.meta.labels));
  }

  /** One endpoint per (matching pod, target port); pods without an address are left out. */
  poolEndpoints(
    namespace: string,
    selector: LabelSelector,
    targetPorts: readonly number[],
  ): EndpointAddress[] {
    const out: EndpointAddress[] = [];
    for (const pod of this.podsMatching(namespace, selector)) {
      for (const port of targetPorts) {
        const ep = podEndpoint(pod, port);
        if (ep) out.push(ep);
      }
    }
    return out;
  }

  /** Endpoints of each Service port: from EndpointSlices when there are any, else from its selector. */
  serviceEndpoints(namespace: string, name: string, spec: Service['spec']): Map<number, EndpointAddress[]> {
    const byPort = new Map<number, EndpointAddress[]>();
    const ports = spec.ports ?? [];
    const slices = this.slicesByService.get(`${namespace}/${name}`);
    if (slices?.length) {
      for (const sp of ports) byPort.set(sp.port, sliceEndpoints(slices, sp.name ?? ''));
      return byPort;
    }
    const selector = spec.selector;
    if (!selector) {
      for (const sp of ports) byPort.set(sp.port, []);
      return byPort;
    }
    const pods = this.podsMatching(namespace, { matchLabels: selector });
    for (const sp of ports) {
      const target = sp.targetPort ?? sp.port;
      const list: EndpointAddress[] = [];
      for (const pod of pods) {
        const ep = podEndpoint(pod, target);
        if (ep) list.push(ep);
      }
      byPort.set(sp.port, list);
    }
    return byPort;
  }

  /** Whether any EndpointSlice names this Service. */
  hasSlices(namespace: string, name: string): boolean {
    return (this.slicesByService.get(`${namespace}/${name}`)?.length ?? 0) > 0;
  }
}

/** The address of `pod` for a target port (number or container port name), or undefined. */
export function podEndpoint(pod: PodObject, target: number | string): EndpointAddress | undefined {
  const status = pod.body.status;
  const podIP = status?.podIP ?? status?.podIPs?.[0]?.ip;
  if (!podIP) return undefined;
  // The container port the target names (a number, or a container port name), and its hostPort if any.
  let declared: { containerPort: number; hostPort?: number | undefined } | undefined;
  const containers = pod.body.spec?.containers ?? [];
  search: for (let i = 0; i < containers.length; i++) {
    const ports = containers[i]!.ports ?? [];
    for (let j = 0; j < ports.length; j++) {
      const p = ports[j]!;
      if (typeof target === 'number' ? p.containerPort === target : p.name === target) {
        declared = p;
        break search;
      }
    }
  }
  if (!declared && typeof target === 'string') return undefined; // a port name the pod does not declare
  const containerPort = declared?.containerPort ?? (target as number);
  const ready = podReady(pod);
  const ep: EndpointAddress =
    declared?.hostPort !== undefined
      ? {
          address: status?.hostIP ?? podIP,
          port: declared.hostPort,
          ready,
          labels: pod.meta.labels,
          from: 'Pod',
        }
      : { address: podIP, port: containerPort, ready, labels: pod.meta.labels, from: 'Pod' };
  ep.podName = pod.meta.name;
  return ep;
}

export function podReady(pod: PodObject): boolean {
  const md = pod.body.metadata;
  if (md.deletionTimestamp) return false;
  const status = pod.body.status;
  if (status?.phase !== undefined && status.phase !== 'Running') return false;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
}

function sliceEndpoints(slices: readonly SliceObject[], portName: string): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  for (const slice of slices) {
    const port = (slice.body.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
    if (port === undefined) continue;
    for (const ep of slice.body.endpoints ?? []) {
      const ready = ep.conditions?.ready !== false;
      const podName =
        ep.targetRef && ep.targetRef.kind === 'Pod' && typeof ep.targetRef.name === 'string'
          ? ep.targetRef.name
          : undefined;
      for (const address of ep.addresses) {
        const e: EndpointAddress = { address, port, ready, labels: {}, from: 'EndpointSlice' };
        if (podName) e.podName = podName;
        out.push(e);
      }
    }
  }
  return out;
}

/** Workloads in `namespace` whose pod template labels the selector matches. */
export function workloadsMatching(
  store: ObjectStore,
  namespace: string,
  selector: LabelSelector,
): WorkloadRef[] {
  const out: WorkloadRef[] = [];
  for (const w of store.workloads) {
    if (w.namespace !== namespace || !hasLabels(w.podLabels)) continue;
    if (selectorMatches(selector, w.podLabels)) {
      out.push({ kind: w.kind, namespace: w.namespace, name: w.name, replicas: w.replicas });
    }
  }
  return out;
}

function hasLabels(l: Labels): boolean {
  for (const _ in l) return true;
  return false;
}
