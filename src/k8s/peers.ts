/**
 * Peer gateway replicas found in the cluster: the Pods of the gateway's own namespace that match a
 * label selector (the gateway's own Deployment), as `tcp://<podIP>:<port>` endpoints for load
 * sharing (src/datastore/peer-load.ts). The list includes this replica's own Pod; the load share
 * ignores its own messages. A Pod counts while it has an IP and is neither terminated nor being
 * deleted (Ready or not: a replica that is not Ready yet may still hold requests).
 */
import type { Logger } from '../util/log.js';
import type { KubeApi, KubeObject } from './api.js';
import { Reflector } from './reflector.js';
import { PODS } from './resources.js';

export interface PeerPodsOptions {
  api: KubeApi;
  namespace: string;
  /** Label selector of the gateway's Pods, e.g. `app.kubernetes.io/name=infergate`. */
  selector: string;
  /** The port every replica publishes its load on (`--peer-listen`'s). */
  port: number;
  /** Called with the full list after every change (and after each list). */
  onPeers: (endpoints: readonly string[]) => void;
  logger: Logger;
  backoffMs?: { initial: number; max: number };
}

interface PodStatus {
  phase?: string;
  podIP?: string;
}

/** The peer endpoints of the Pods in `store` (sorted, deduplicated). */
export function peerEndpoints(pods: Iterable<KubeObject>, port: number): string[] {
  const out = new Set<string>();
  for (const p of pods) {
    if (p.metadata.deletionTimestamp !== undefined) continue;
    const status = (p as KubeObject & { status?: PodStatus }).status;
    const ip = status?.podIP;
    if (!ip || status.phase === 'Succeeded' || status.phase === 'Failed') continue;
    out.add(`tcp://${ip.includes(':') ? `[${ip}]` : ip}:${port}`);
  }
  return [...out].sort();
}

export class PeerPods {
  private readonly reflector: Reflector;
  private last = '';

  constructor(private readonly o: PeerPodsOptions) {
    this.reflector = new Reflector({
      api: o.api,
      resource: PODS,
      namespace: o.namespace,
      labelSelector: o.selector,
      onChange: () => this.changed(),
      logger: o.logger,
      ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
    });
  }

  start(): void {
    this.reflector.start();
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }

  private changed(): void {
    const eps = peerEndpoints(this.reflector.store.values(), this.o.port);
    const key = eps.join(' ');
    if (key === this.last) return;
    this.last = key;
    this.o.logger.info({ peers: eps, selector: this.o.selector }, 'peer gateway Pods');
    this.o.onPeers(eps);
  }
}
