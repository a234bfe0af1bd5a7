/**
 * The file plan source: loads manifests from files, folders and stdin (`-f` sources) and, when
 * watching, loads them again on every change and on `reload()` (SIGHUP). Reloads are coalesced: while
 * one load + hand-over is running, any number of further triggers cause exactly one more.
 *
 * Each update is handed to `onPlan`; when it returns a promise (the composition root applying the
 * plan), the source waits for it before the next load, and a returned `false` means "not applied".
 * A load whose plan equals the last applied one is not delivered (it counts as applied: the plan is
 * already served); failed loads are always delivered so the listener can log and count them.
 */
import type { Logger } from '../util/log.js';
import { FileWatcher } from './file-watcher.js';
import type { LoadResult } from './index.js';
import type { Plan } from './plan.js';
import { planToJSON } from './plan-json.js';
import type { PlanSource, PlanUpdate } from './plan-source.js';

/** Receives each update; returns (or resolves) `false` when the update's plan was not applied. */
export type PlanListener = (update: PlanUpdate) => unknown;

export interface FilePlanSourceOptions {
  /** Loads (or re-loads) the plan from the sources given on the command line. */
  load: () => Promise<LoadResult>;
  /** Extra paths to watch besides the files read (folders given, so new files are noticed). */
  watchPaths: readonly string[];
  /** Watch files and reload on change (false for `--no-watch` and stdin). */
  watch: boolean;
  logger: Logger;
  /** Quiet time after the last change event before reloading (ms). */
  debounceMs?: number;
}

export class FilePlanSource implements PlanSource {
  private watcher: FileWatcher | undefined;
  private onPlan: PlanListener | undefined;
  private reloading: Promise<boolean> | undefined;
  private again = false;
  private closed = false;
  /** The canonical JSON of the last plan the listener applied. */
  private appliedKey: string | undefined;

  constructor(private readonly o: FilePlanSourceOptions) {}

  async start(onPlan: PlanListener): Promise<void> {
    this.onPlan = onPlan;
    const first = await this.o.load();
    if (this.o.watch && !this.closed) {
      this.watcher = new FileWatcher(() => void this.reload(), this.o.logger, this.o.debounceMs);
      this.watcher.watch([...first.files, ...this.o.watchPaths]);
    }
    const applied = await onPlan(first);
    if (first.plan !== undefined && applied !== false) this.appliedKey = planKey(first.plan);
  }

  /**
   * Loads again now (as a file change or SIGHUP does). Resolves true when the new plan was handed
   * over and applied; a reload requested while one runs makes that one run once more.
   */
  async reload(): Promise<boolean> {
    if (this.closed || this.onPlan === undefined) return false;
    if (this.reloading !== undefined) {
      this.again = true;
      return this.reloading;
    }
    let ok = false;
    this.reloading = (async () => {
      do {
        this.again = false;
        ok = await this.reloadOnce();
      } while (this.again && !this.closed);
      return ok;
    })();
    try {
      return await this.reloading;
    } finally {
      this.reloading = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    await this.reloading?.catch(() => undefined);
  }

  private async reloadOnce(): Promise<boolean> {
    const r: PlanUpdate = await this.o.load().catch((err: unknown) => ({
      plan: undefined,
      diagnostics: [],
      files: [],
      error: (err as Error).message,
    }));
    if (this.watcher !== undefined && r.files.length > 0)
      this.watcher.watch([...r.files, ...this.o.watchPaths]);
    if (this.closed) return false;
    const key = r.plan === undefined ? undefined : planKey(r.plan);
    if (key !== undefined && key === this.appliedKey) {
      this.o.logger.debug('configuration unchanged; not re-applied');
      return true;
    }
    const applied = await this.onPlan!(r);
    const ok = r.plan !== undefined && applied !== false;
    if (ok) this.appliedKey = key;
    return ok;
  }
}

/** Two plans are equal when their machine-readable forms are (Maps keyed and ordered as loaded). */
function planKey(plan: Plan): string {
  return JSON.stringify(planToJSON(plan));
}
