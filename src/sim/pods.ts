/**
 * Kubernetes Pod manifests that stand for simulated replicas, so `infergate serve -f manifests/
 * -f pods.yaml` reaches them while the user's manifests stay unchanged. Each Pod carries the given
 * labels, status Running + Ready, podIP = hostIP = the replica's host, and a container port
 * `{containerPort: <targetPort>, hostPort: <actual port>}`: the config loader resolves a pool or
 * Service endpoint to hostIP:hostPort when the Pod maps the target port that way (Kubernetes'
 * own meaning of hostPort).
 */
import { stringify } from 'yaml';

export interface PodManifestOptions {
  /** Pod labels (the pool / Service selector matches them). */
  labels: Readonly<Record<string, string>>;
  /** Pod name = prefix + '-' + replica index (default "sim"). */
  namePrefix?: string;
  namespace?: string;
  /** The port the manifests target (InferencePool targetPortNumber / Service targetPort), default 8000. */
  targetPort?: number;
  /** Container name (default "vllm"). */
  containerName?: string;
}

export interface PodReplica {
  index: number;
  host: string;
  port: number;
}

export interface PodManifest {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    containers: {
      name: string;
      image: string;
      ports: { name: string; containerPort: number; hostPort: number; protocol: 'TCP' }[];
    }[];
  };
  status: {
    phase: 'Running';
    podIP: string;
    hostIP: string;
    podIPs: { ip: string }[];
    conditions: { type: 'Ready'; status: 'True' }[];
  };
}

export function buildPodManifests(replicas: readonly PodReplica[], opts: PodManifestOptions): PodManifest[] {
  const prefix = opts.namePrefix ?? 'sim';
  const targetPort = opts.targetPort ?? 8000;
  return replicas.map((r) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${prefix}-${r.index}`,
      namespace: opts.namespace ?? 'default',
      labels: { ...opts.labels },
    },
    spec: {
      containers: [
        {
          name: opts.containerName ?? 'vllm',
          image: 'infergate/sim',
          ports: [{ name: 'http', containerPort: targetPort, hostPort: r.port, protocol: 'TCP' }],
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: r.host,
      hostIP: r.host,
      podIPs: [{ ip: r.host }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  }));
}

/** The manifests as one multi-document YAML text. */
export function podManifestsYaml(replicas: readonly PodReplica[], opts: PodManifestOptions): string {
  return buildPodManifests(replicas, opts)
    .map((p) => stringify(p))
    .join('---\n');
}

/** Parses `k=v[,k=v…]` (the --pod-labels flag). */
export function parseLabels(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const s = part.trim();
    if (s.length === 0) continue;
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`label "${s}" must be key=value`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}
