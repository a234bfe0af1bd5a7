/**
 * The Kubernetes plan source: the second implementation of the PlanSource contract
 * (src/config/plan-source.ts). It watches the API server (one reflector per kind and namespace),
 * keeps only the Gateways of GatewayClasses whose controllerName is infergate's (and, when asked,
 * the Istio Gateways whose selector matches the workload labels it is given), and rebuilds the
 * plan from the objects in memory with the config room's own builder (loadPlanFromObjects): the
 * same checks and defaults as files, diagnostics naming `cluster ns/Kind/name`. An object served
 * under two versions of one CRD (same uid) is built once, from the newer version. Changes are
 * coalesced (`coalesceMs`, default 100 ms) and a plan is delivered only when the objects it is built
 * from changed. An object with errors is left out (a warning), never the whole cluster.
 *
 * Narrowed mode (`pool`), for an endpoint picker serving one pool: only that InferencePool, the Pods
 * its selector matches (the Pod watch is re-opened when the selector changes), and the
 * InferenceModels / Objectives / Rewrites whose poolRef names it.
 */
import { type LoadResult, loadPlanFromObjects, type ObjectLoadOptions } from '../config/index.js';
import type { PlanSource, PlanUpdate } from '../config/plan-source.js';
import { type Labels, selectorMatches } from '../util/labels.js';
import type { Logger } from '../util/log.js';
import type { KubeApi, KubeObject } from './api.js';
import { Reflector, type ReflectorState } from './reflector.js';
import {
  GATEWAY_CLASS,
  GATEWAYS,
  gatewayResources,
  ISTIO_GATEWAYS,
  PODS,
  POOL_KINDS,
  POOL_RESOURCES,
  type WatchedResource,
} from './resources.js';

/** Receives each plan; a returned promise is awaited before the next one is delivered. */
export type PlanListener = (update: PlanUpdate) => unknown;

/** infergate's GatewayClass controllerName unless `--controller-name` says otherwise. */
export const DEFAULT_CONTROLLER_NAME = 'infergate.io/gateway-controller';

export interface KubernetesSourceOptions {
  api: KubeApi;
  logger: Logger;
  /** Watch only these namespaces (namespaced kinds); all when undefined or empty. */
  namespaces?: readonly string[];
  /** GatewayClasses with this spec.controllerName are ours (default DEFAULT_CONTROLLER_NAME). */
  controllerName?: string;
  /**
   * Serve Istio Gateways (networking.istio.io) whose `spec.selector` matches these labels, as if
   * infergate's own Pods carried them (e.g. `istio: ingressgateway`), with the VirtualServices and
   * LLMRoutes bound to them. Istio's kinds are not watched without it.
   */
  istioGatewayLabels?: Labels;
  /** Narrowed mode: only what this pool needs. */
  pool?: { namespace: string; name: string };
  /** Quiet time gathering a burst of changes into one rebuild (ms, default 100). */
  coalesceMs?: number;
  /** Builder options (strict references, the scheduler's picker-config check). */
  load?: Omit<ObjectLoadOptions, 'dropInvalid'>;
  /** Reflector tuning (tests shorten these). */
  backoffMs?: { initial: number; max: number };
  missingRetryMs?: number;
}

/** What the last build saw: the status writer reads it. */
export interface ClusterSnapshot {
  /** Every object watched (status included), by kind then `namespace/name`. */
  objects: ReadonlyMap<string, ReadonlyMap<string, KubeObject>>;
  /** The GatewayClasses that are ours (names). */
  classes: ReadonlySet<string>;
  result: LoadResult;
}

interface ResourceWatch {
  resource: WatchedResource;
  reflectors: Reflector[];
}

export class KubernetesPlanSource implements PlanSource {
  private readonly watches: ResourceWatch[] = [];
  private podWatch: ResourceWatch | undefined;
  private podSelector: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private onPlan: PlanListener | undefined;
  /** The rebuild (and delivery) in progress; `again` asks for one more after it. */
  private delivering: Promise<void> | undefined;
  private again = false;
  private lastFingerprint: string | undefined;
  private closed = false;
  private readonly builtListeners: ((s: ClusterSnapshot) => void)[] = [];
  private snapshotValue: ClusterSnapshot | undefined;
  /** Plans delivered so far. */
  generation = 0;

  constructor(private readonly o: KubernetesSourceOptions) {}

  get controllerName(): string {
    return this.o.controllerName ?? DEFAULT_CONTROLLER_NAME;
  }

  /** True once every watched kind has been listed (or found missing) at least once. */
  get synced(): boolean {
    return this.allReflectors().every((r) => r.state !== 'starting');
  }

  /**
   * Why this source is not ready: the kinds whose first list has not finished, or the first plan not
   * yet delivered; undefined from the first delivered plan on (a later API-server outage keeps the
   * gateway serving its last state, so it does not make it unready).
   */
  notReadyReason(): string | undefined {
    if (this.generation > 0) return undefined;
    const waiting = this.allReflectors().filter((r) => r.state === 'starting' || r.state === 'failing');
    if (waiting.length > 0) {
      const kinds = waiting.map((r) => (r.lastError ? `${r.label} (last error: ${r.lastError})` : r.label));
      return `waiting for the first list from the API server of: ${kinds.join(', ')}`;
    }
    return 'building the first plan from the cluster';
  }

  /** Per watched kind: its state (synced, missing CRD, failing) and lists done. */
  states(): { kind: string; state: ReflectorState; lists: number }[] {
    return this.allReflectors().map((r) => ({ kind: r.label, state: r.state, lists: r.lists }));
  }

  /** Called after every rebuild (delivered or not) with what it saw. */
  onBuilt(listener: (s: ClusterSnapshot) => void): void {
    this.builtListeners.push(listener);
  }

  get snapshot(): ClusterSnapshot | undefined {
    return this.snapshotValue;
  }

  /** A listener returning a promise (the composition root applying the plan) is awaited before the next update. */
  async start(onPlan: PlanListener): Promise<void> {
    const resources = this.o.pool
      ? POOL_RESOURCES
      : gatewayResources({ istio: this.o.istioGatewayLabels !== undefined });
    for (const r of resources) this.watches.push(this.openWatch(r));
    await Promise.all(this.allReflectors().map((r) => r.ready));
    if (this.o.pool) {
      this.updatePodWatch();
      if (this.podWatch) await Promise.all(this.podWatch.reflectors.map((r) => r.ready));
    }
    this.onPlan = onPlan;
    await this.rebuildSoon();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.all(this.allReflectors().map((r) => r.stop()));
    await this.delivering?.catch(() => undefined);
  }

  private allReflectors(): Reflector[] {
    const all = this.watches.flatMap((w) => w.reflectors);
    if (this.podWatch) all.push(...this.podWatch.reflectors);
    return all;
  }

  private openWatch(resource: WatchedResource, selectors: { labelSelector?: string } = {}): ResourceWatch {
    const pool = this.o.pool;
    let namespaces: (string | undefined)[] = [undefined];
    if (pool) namespaces = [pool.namespace];
    else if (resource.namespaced && this.o.namespaces?.length) namespaces = [...this.o.namespaces];
    const fieldSelector = pool && POOL_KINDS.includes(resource) ? `metadata.name=${pool.name}` : undefined;
    const reflectors = namespaces.map(
      (namespace) =>
        new Reflector({
          api: this.o.api,
          resource,
          ...(namespace !== undefined ? { namespace } : {}),
          ...(fieldSelector !== undefined ? { fieldSelector } : {}),
          ...(selectors.labelSelector !== undefined ? { labelSelector: selectors.labelSelector } : {}),
          onChange: () => this.changed(),
          // The API server is back: every kind retries now instead of when its own backoff ends.
          onRecovered: () => {
            for (const r of this.allReflectors()) r.retryNow();
          },
          logger: this.o.logger,
          ...(this.o.backoffMs ? { backoffMs: this.o.backoffMs } : {}),
          ...(this.o.missingRetryMs !== undefined ? { missingRetryMs: this.o.missingRetryMs } : {}),
        }),
    );
    for (const r of reflectors) r.start();
    return { resource, reflectors };
  }

  private changed(): void {
    if (this.closed || this.onPlan === undefined || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rebuildSoon();
    }, this.o.coalesceMs ?? 100);
  }

  /** Rebuilds now, or once more after the rebuild in progress; resolves when delivered. */
  private rebuildSoon(): Promise<void> {
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      do {
        this.again = false;
        await this.rebuild();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.delivering = undefined;
    });
    return this.delivering;
  }

  /** In narrowed mode: (re)opens the Pod watch with the pool's current selector. */
  private updatePodWatch(): void {
    const pool = this.poolObject();
    const selector = pool ? selectorQuery(pool) : undefined;
    if (selector === this.podSelector) return;
    this.podSelector = selector;
    const old = this.podWatch;
    this.podWatch = selector !== undefined ? this.openWatch(PODS, { labelSelector: selector }) : undefined;
    if (old) for (const r of old.reflectors) void r.stop();
  }

  private poolObject(): KubeObject | undefined {
    for (const w of this.watches) {
      if (!POOL_KINDS.includes(w.resource)) continue;
      for (const r of w.reflectors) for (const o of r.store.values()) return o;
    }
    return undefined;
  }

  private async rebuild(): Promise<void> {
    if (this.closed || this.onPlan === undefined) return;
    if (this.o.pool) this.updatePodWatch();
    const objects = new Map<string, Map<string, KubeObject>>();
    const watches = this.podWatch ? [...this.watches, this.podWatch] : this.watches;
    for (const w of watches) {
      const id = `${w.resource.kind} ${w.resource.apiVersion}`;
      const m = new Map<string, KubeObject>();
      for (const r of w.reflectors) for (const [k, v] of r.store) m.set(k, v);
      objects.set(id, m);
    }
    const classes = new Set<string>();
    for (const gc of objects.get(`${GATEWAY_CLASS.kind} ${GATEWAY_CLASS.apiVersion}`)?.values() ?? []) {
      if ((gc.spec as { controllerName?: string } | undefined)?.controllerName === this.controllerName)
        classes.add(gc.metadata.name ?? '');
    }
    const input: object[] = [];
    const seen = new Set<string>();
    const istioLabels = this.o.istioGatewayLabels ?? {};
    for (const [id, m] of objects) {
      const isGatewayKind = id === `${GATEWAYS.kind} ${GATEWAYS.apiVersion}`;
      const isClassKind = id === `${GATEWAY_CLASS.kind} ${GATEWAY_CLASS.apiVersion}`;
      const isIstioGateway = id === `${ISTIO_GATEWAYS.kind} ${ISTIO_GATEWAYS.apiVersion}`;
      const keys = [...m.keys()].sort();
      for (const k of keys) {
        const o = m.get(k)!;
        if (o.metadata.uid !== undefined) {
          if (seen.has(o.metadata.uid)) continue;
          seen.add(o.metadata.uid);
        }
        if (isClassKind && !classes.has(o.metadata.name ?? '')) continue;
        if (isGatewayKind && !classes.has((o.spec as { gatewayClassName?: string }).gatewayClassName ?? ''))
          continue;
        if (isIstioGateway) {
          const selector = (o.spec as { selector?: Labels } | undefined)?.selector ?? {};
          if (!selectorMatches({ matchLabels: selector }, istioLabels)) continue;
        }
        if (this.o.pool && !this.belongsToPool(o)) continue;
        input.push(builderInput(o));
      }
    }
    const fingerprint = JSON.stringify(input);
    const result = loadPlanFromObjects(input, { ...this.o.load, dropInvalid: true });
    this.snapshotValue = { objects, classes, result };
    if (fingerprint !== this.lastFingerprint) {
      this.lastFingerprint = fingerprint;
      this.generation++;
      try {
        await this.onPlan(result);
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'applying the cluster plan failed');
      }
    }
    for (const l of this.builtListeners) l(this.snapshotValue);
  }

  /** Narrowed mode: the pool itself, its Pods, and what names it in poolRef. */
  private belongsToPool(o: KubeObject): boolean {
    const pool = this.o.pool!;
    if (o.kind === 'Pod' || o.kind === 'InferencePool') return true;
    const ref = (o.spec as { poolRef?: { name?: string } } | undefined)?.poolRef;
    return ref?.name === pool.name && (o.metadata.namespace ?? '') === pool.namespace;
  }
}

/** What the builder reads: no resourceVersion, and no status except a Pod's (its address and readiness). */
function builderInput(o: KubeObject): object {
  const { resourceVersion: _rv, uid: _uid, generation: _gen, ...metadata } = o.metadata;
  const { status, ...rest } = o;
  return o.kind === 'Pod' ? { ...rest, metadata, status } : { ...rest, metadata };
}

/** The label selector of a pool (v1 `selector.matchLabels`, v1alpha2 `selector`) as a query value. */
function selectorQuery(pool: KubeObject): string | undefined {
  const sel = (pool.spec as { selector?: Record<string, unknown> } | undefined)?.selector;
  if (!sel) return undefined;
  const labels = (pool.apiVersion?.startsWith('inference.networking.k8s.io/') ? sel.matchLabels : sel) as
    | Record<string, string>
    | undefined;
  if (!labels || typeof labels !== 'object') return undefined;
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
