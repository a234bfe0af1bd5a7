/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: the holder
 * renews `spec.renewTime` every `renewMs`; another candidate takes the Lease over once it has not
 * been renewed for `leaseDurationMs`. Writes use the Lease's resourceVersion, so two candidates
 * racing cannot both win. Only the leader writes status; every replica serves traffic.
 */
import type { Logger } from '../util/log.js';
import { type KubeApi, KubeApiError } from './api.js';

export interface LeaseOptions {
  api: KubeApi;
  logger: Logger;
  namespace: string;
  name: string;
  /** This replica's name in `holderIdentity` (pod name, else hostname + pid). */
  identity: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Time between renewals / attempts (default 2 s; must be well under leaseDurationMs). */
  renewMs?: number;
  onChange?: (leader: boolean) => void;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** RFC 3339 with microseconds, as the Lease's MicroTime fields want. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaseElector {
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private renewedAt = 0;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: LeaseOptions) {}

  get isLeader(): boolean {
    return this.leader && Date.now() - this.renewedAt < this.duration;
  }

  private get duration(): number {
    return this.o.leaseDurationMs ?? 15_000;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.attempt();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.o.renewMs ?? 2000);
    };
    void tick();
  }

  /** Stops renewing; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    if (this.leader) {
      try {
        const lease = await this.o.api.json<Lease>('GET', `${this.path}/${this.o.name}`);
        if (lease.spec.holderIdentity === this.o.identity) {
          lease.spec.holderIdentity = null;
          lease.spec.leaseDurationSeconds = 1;
          await this.o.api.json('PUT', `${this.path}/${this.o.name}`, lease);
        }
      } catch {
        // the Lease expires by itself
      }
      this.set(false);
    }
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.o.logger.info(
      { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity, leader },
      leader ? 'became the status writer (leader)' : 'no longer the leader',
    );
    this.o.onChange?.(leader);
  }

  private async attempt(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(1, Math.round(this.duration / 1000));
    try {
      let lease: Lease | undefined;
      try {
        lease = await this.o.api.json<Lease>('GET', `${this.path}/${this.o.name}`);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      }
      if (!lease) {
        await this.o.api.json('POST', this.path, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: {
            holderIdentity: this.o.identity,
            leaseDurationSeconds: seconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        } satisfies Lease);
        this.renewedAt = now;
        this.set(true);
        return;
      }
      const holder = lease.spec.holderIdentity ?? '';
      const renewed = lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : 0;
      const heldFor = (lease.spec.leaseDurationSeconds ?? seconds) * 1000;
      const mine = holder === this.o.identity;
      if (!mine && holder !== '' && renewed + heldFor > now) {
        this.set(false);
        return;
      }
      lease.spec = {
        ...lease.spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: seconds,
        renewTime: microTime(now),
        ...(mine
          ? {}
          : { acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }),
      };
      await this.o.api.json('PUT', `${this.path}/${this.o.name}`, lease);
      this.renewedAt = now;
      this.set(true);
    } catch (err) {
      // A conflict means another replica wrote first; anything else: keep trying. Leadership lapses
      // by itself when renewals fail for a whole lease duration.
      if (!(err instanceof KubeApiError && err.status === 409)) {
        this.o.logger.warn({ err: (err as Error).message }, 'lease renewal failed');
      }
      if (!this.isLeader) this.set(false);
    }
  }
}
