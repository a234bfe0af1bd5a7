/**
 * A reflector keeps a local copy of one kind (in one namespace or all) in step with the API server,
 * as client-go's does: list (paged), then watch from the list's resourceVersion with bookmarks;
 * when the watch ends it resumes from the last resourceVersion seen; a 410 Gone (the version is too
 * old) relists; any other failure backs off (exponential, jittered) and retries. A kind the server
 * does not serve (404: its CRD is not installed) is reported once and retried slowly, so installing
 * the CRD later is noticed; so is an optional kind the gateway may not list (403).
 *
 * The store holds trimmed objects (resources.ts); `onChange` is called after every change that
 * altered the store, and once after each (re)list.
 */
import type { Logger } from '../util/log.js';
import { type KubeApi, KubeApiError, type KubeList, type KubeObject, type WatchEvent } from './api.js';
import { collectionPath, type WatchedResource } from './resources.js';

export interface ReflectorOptions {
  api: KubeApi;
  resource: WatchedResource;
  /** Watch this namespace only (namespaced kinds); all namespaces when undefined. */
  namespace?: string;
  /** `labelSelector` / `fieldSelector` query values, as the API takes them. */
  labelSelector?: string;
  fieldSelector?: string;
  onChange: () => void;
  /**
   * Called when the API server answers again after this reflector failed (a list, or a watch event):
   * the owner may `retryNow()` the others, so that all kinds resync as soon as the server is back
   * rather than each when its own backoff ends.
   */
  onRecovered?: () => void;
  logger: Logger;
  /** First and longest backoff after a failure (ms). Defaults 500 and 30,000. */
  backoffMs?: { initial: number; max: number };
  /** Retry interval for a kind whose CRD is missing (ms). Default 30,000. */
  missingRetryMs?: number;
  /** Page size of a list. Default 500. */
  pageSize?: number;
}

export type ReflectorState = 'starting' | 'synced' | 'missing' | 'failing' | 'stopped';

export class Reflector {
  /** Trimmed objects by `namespace/name` (`name` for cluster-scoped kinds). */
  readonly store = new Map<string, KubeObject>();
  private resourceVersion = '';
  private abort = new AbortController();
  private stopped = false;
  private failures = 0;
  /** Ends the backoff sleep in progress (not the missing-CRD wait), if any. */
  private endBackoff: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stateValue: ReflectorState = 'starting';
  private firstOutcome!: () => void;
  /** Resolves once the first list succeeded, or the kind turned out not to be served, or stop(). */
  readonly ready: Promise<void> = new Promise((r) => {
    this.firstOutcome = r;
  });
  /** Lists done (1 after the first; more after 410s and restarts of the API server). */
  lists = 0;
  /**
   * The last failure in short (`403 Forbidden`, `ECONNREFUSED`; no addresses), cleared by a list or
   * watch that succeeds.
   */
  lastError: string | undefined;

  constructor(private readonly o: ReflectorOptions) {}

  get state(): ReflectorState {
    return this.stateValue;
  }

  get label(): string {
    const r = this.o.resource;
    return `${r.kind} (${r.apiVersion})${this.o.namespace !== undefined ? ` in ${this.o.namespace}` : ''}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stateValue = 'stopped';
    this.abort.abort();
    this.firstOutcome();
    await this.loop;
  }

  private async run(): Promise<void> {
    const log = this.o.logger;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '') await this.list();
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof KubeApiError && err.status === 410) {
          log.info({ kind: this.label }, 'watch expired (410 Gone): listing again');
          this.resourceVersion = '';
          continue;
        }
        const notServed = err instanceof KubeApiError && err.status === 404 && this.o.resource.crd;
        const notAllowed = err instanceof KubeApiError && err.status === 403 && this.o.resource.optional;
        if (notServed || notAllowed) {
          if (this.stateValue !== 'missing') {
            const every = `checking again every ${Math.round((this.o.missingRetryMs ?? 30_000) / 1000)} s`;
            log.warn(
              { kind: this.label },
              notServed
                ? `the API server does not serve ${this.label}: is its CRD installed? Continuing without it and ${every}`
                : `not allowed to list ${this.label} (403: RBAC does not grant it); continuing without it and ${every}`,
            );
          }
          if (notAllowed) this.lastError = shortError(err);
          this.stateValue = 'missing';
          this.resourceVersion = '';
          if (this.store.size > 0) {
            this.store.clear();
            this.o.onChange();
          }
          this.firstOutcome();
          await this.sleep(this.o.missingRetryMs ?? 30_000);
          continue;
        }
        this.failures++;
        this.lastError = shortError(err);
        const b = this.o.backoffMs ?? { initial: 500, max: 30_000 };
        const delay =
          Math.min(b.max, b.initial * 2 ** Math.min(this.failures - 1, 16)) * (0.5 + Math.random() / 2);
        if (this.stateValue !== 'failing' || this.failures % 10 === 1) {
          log.warn(
            { kind: this.label, err: (err as Error).message, retryInMs: Math.round(delay) },
            'watch failed; keeping the last state and retrying',
          );
        }
        if (this.stateValue === 'synced') this.stateValue = 'failing';
        await this.sleep(delay, (end) => {
          this.endBackoff = end;
        });
        this.endBackoff = undefined;
      }
    }
  }

  /** Ends a backoff wait now (the API server answered another reflector): retries at once. */
  retryNow(): void {
    this.endBackoff?.();
  }

  /** The server answered: the next failure starts the backoff afresh; tells the owner if it had failed. */
  private answered(): void {
    if (this.failures === 0) return;
    this.failures = 0;
    this.lastError = undefined;
    if (this.stateValue === 'failing') this.stateValue = 'synced';
    this.o.onRecovered?.();
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.o.labelSelector) q.set('labelSelector', this.o.labelSelector);
    if (this.o.fieldSelector) q.set('fieldSelector', this.o.fieldSelector);
    return `${collectionPath(this.o.resource, this.o.namespace)}?${q.toString()}`;
  }

  /** Lists every page, replaces the store, and notes the list's resourceVersion. */
  private async list(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let cont = '';
    let rv = '';
    do {
      const page = await this.o.api.json<KubeList>(
        'GET',
        this.query({ limit: String(this.o.pageSize ?? 500), ...(cont ? { continue: cont } : {}) }),
        undefined,
        undefined,
        this.abort.signal,
      );
      for (const item of page.items ?? []) {
        const o = this.o.resource.trim({
          ...item,
          apiVersion: this.o.resource.apiVersion,
          kind: this.o.resource.kind,
        });
        fresh.set(keyOf(o), o);
      }
      cont = page.metadata?.continue ?? '';
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    this.store.clear();
    for (const [k, v] of fresh) this.store.set(k, v);
    this.resourceVersion = rv;
    this.answered();
    this.lists++;
    this.stateValue = 'synced';
    this.firstOutcome();
    this.o.onChange();
  }

  /** One watch request, from `resourceVersion` until the server ends it (≈ 5–10 min) or it fails. */
  private async watchOnce(): Promise<void> {
    const timeoutSeconds = String(300 + Math.floor(Math.random() * 300));
    const path = this.query({
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: this.resourceVersion,
      timeoutSeconds,
    });
    let gone: KubeApiError | undefined;
    let events = 0;
    const started = performance.now();
    await this.o.api.watch(
      path,
      (e: WatchEvent) => {
        if (gone) return;
        events++;
        if (e.type === 'ERROR') {
          const s = e.object as unknown as { code?: number; reason?: string; message?: string };
          gone = new KubeApiError(s.code ?? 500, s.reason ?? '', s.message ?? 'watch error');
          if (gone.status === 410) this.answered(); // a server that is back, with a newer history
          return;
        }
        this.answered();
        const rv = e.object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (e.type === 'BOOKMARK') return;
        const o = this.o.resource.trim({
          ...e.object,
          apiVersion: this.o.resource.apiVersion,
          kind: this.o.resource.kind,
        });
        const key = keyOf(o);
        if (e.type === 'DELETED') {
          if (this.store.delete(key)) this.o.onChange();
          return;
        }
        const before = this.store.get(key);
        this.store.set(key, o);
        if (!before || JSON.stringify(before) !== JSON.stringify(o)) this.o.onChange();
      },
      this.abort.signal,
    );
    if (gone) throw gone;
    // As client-go: a watch closed within a second with nothing in it is a server going away (e.g.
    // a graceful API-server shutdown), not a normal end: back off instead of re-watching in a loop.
    if (events === 0 && performance.now() - started < 1000)
      throw Object.assign(new Error('very short watch: closed within a second with no event'), {
        code: 'SHORT_WATCH',
      });
    if (this.stateValue === 'failing') this.stateValue = 'synced';
  }

  /** Waits `ms`, or less when stopped or when `onEnd`'s function is called. */
  private sleep(ms: number, onEnd?: (end: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
      onEnd?.(done);
    });
  }
}

/** A failure as /readyz may show it: HTTP status and reason, or the transport error's code. */
function shortError(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.status}${err.reason ? ` ${err.reason}` : ''}`;
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = e.code ?? e.cause?.code;
  return typeof code === 'string' ? code : 'unreachable';
}

export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');
}
