/**
 * The Kubernetes mode as one PlanSource for the composition root: the cluster plan source, plus (when
 * status writing is on) a Lease elector and the status writer that only the leader runs. Every
 * replica serves; one writes status.
 */
import { hostname } from 'node:os';
import type { PlanSource, PlanUpdate } from '../config/plan-source.js';
import { KubeApi } from './api.js';
import { LeaseElector } from './leader.js';
import { PeerPods } from './peers.js';
import { DEFAULT_CONTROLLER_NAME, KubernetesPlanSource, type KubernetesSourceOptions } from './source.js';
import { StatusWriter } from './status.js';

export { KubeApi, KubeApiError, type KubeObject } from './api.js';
export { LeaseElector } from './leader.js';
export { PeerPods, peerEndpoints } from './peers.js';
export { DEFAULT_CONTROLLER_NAME, KubernetesPlanSource, type KubernetesSourceOptions } from './source.js';
export { computeStatusChanges, StatusWriter } from './status.js';

export interface KubernetesModeOptions extends Omit<KubernetesSourceOptions, 'api'> {
  kubeconfig?: string;
  /** Write status (as the Lease's leader). Default true; off in narrowed (pool) mode. */
  writeStatus?: boolean;
  /** Lease namespace (default: the kubeconfig context's or the pod's namespace, else `default`). */
  leaseNamespace?: string;
  leaseName?: string;
  /** holderIdentity (default POD_NAME, else hostname-pid). */
  identity?: string;
  /** Gateway status.addresses (default POD_IP, else none). */
  addresses?: readonly string[];
  leaseDurationMs?: number;
  renewMs?: number;
  /**
   * Find peer gateway replicas for load sharing: the Pods matching `selector` in `namespace`
   * (default: POD_NAMESPACE, else the kubeconfig's namespace, else `default`), each at
   * `tcp://<podIP>:<port>`; `onPeers` gets the whole list on every change.
   */
  peers?: {
    selector: string;
    port: number;
    namespace?: string;
    onPeers: (endpoints: readonly string[]) => void;
  };
}

/** The cluster source with the leader-only status writer attached. */
export class KubernetesMode implements PlanSource {
  private elector: LeaseElector | undefined;
  private peerPods: PeerPods | undefined;
  private writer: StatusWriter | undefined;

  private constructor(
    readonly api: KubeApi,
    readonly source: KubernetesPlanSource,
    private readonly o: KubernetesModeOptions,
  ) {}

  static async create(o: KubernetesModeOptions): Promise<KubernetesMode> {
    const api = await KubeApi.connect(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {});
    return new KubernetesMode(api, new KubernetesPlanSource({ ...o, api }), o);
  }

  get isLeader(): boolean {
    return this.elector?.isLeader ?? false;
  }

  get statusWrites(): number {
    return this.writer?.writes ?? 0;
  }

  async start(onPlan: (update: PlanUpdate) => void): Promise<void> {
    const o = this.o;
    if ((o.writeStatus ?? true) && o.pool === undefined) {
      const writer = new StatusWriter({
        api: this.api,
        logger: o.logger,
        controllerName: o.controllerName ?? DEFAULT_CONTROLLER_NAME,
        addresses: o.addresses ?? (process.env.POD_IP ? [process.env.POD_IP] : []),
      });
      this.writer = writer;
      this.source.onBuilt((snap) => writer.update(snap));
      this.elector = new LeaseElector({
        api: this.api,
        logger: o.logger,
        namespace: o.leaseNamespace ?? this.api.defaultNamespace() ?? 'default',
        name: o.leaseName ?? 'infergate-status-writer',
        identity: o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`,
        ...(o.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaseDurationMs } : {}),
        ...(o.renewMs !== undefined ? { renewMs: o.renewMs } : {}),
        onChange: (leader) => writer.setEnabled(leader, this.source.snapshot),
      });
    }
    if (o.peers) {
      this.peerPods = new PeerPods({
        api: this.api,
        namespace: o.peers.namespace ?? process.env.POD_NAMESPACE ?? this.api.defaultNamespace() ?? 'default',
        selector: o.peers.selector,
        port: o.peers.port,
        onPeers: o.peers.onPeers,
        logger: o.logger,
        ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
      });
      this.peerPods.start();
    }
    await this.source.start(onPlan);
    this.elector?.start();
  }

  notReadyReason(): string | undefined {
    return this.source.notReadyReason();
  }

  async close(): Promise<void> {
    await this.peerPods?.stop();
    await this.elector?.stop();
    this.writer?.setEnabled(false);
    await this.writer?.idle();
    await this.source.close();
    await this.api.close();
  }
}
