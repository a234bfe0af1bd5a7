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
  /** Actual KV event sockets (tcp://host:port), labelled on the Pod for the precise prefix scorer. */
  kvEvents?: { endpoint: string; replayEndpoint: string | null };
}

/** Pod labels carrying a replica's KV event ports (a simulator's replicas share one address). */
export const KV_EVENTS_PORT_LABEL = 'infergate.io/kv-events-port';
export const KV_REPLAY_PORT_LABEL = 'infergate.io/kv-events-replay-port';

function portOf(endpoint: string | null | undefined): string | undefined {
  const m = endpoint ? /:(\d+)$/.exec(endpoint) : null;
  return m ? m[1] : undefined;
}

function kvLabels(r: PodReplica): Record<string, string> {
  const out: Record<string, string> = {};
  const pub = portOf(r.kvEvents?.endpoint);
  const replay = portOf(r.kvEvents?.replayEndpoint);
  if (pub) out[KV_EVENTS_PORT_LABEL] = pub;
  if (replay) out[KV_REPLAY_PORT_LABEL] = replay;
  return out;
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
      labels: { ...opts.labels, ...kvLabels(r) },
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
