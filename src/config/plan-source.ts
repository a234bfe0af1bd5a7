/**
 * CONTRACT: where plans come from. A plan source watches one kind of origin (files and folders, or a
 * Kubernetes API server) and hands every new plan — with the diagnostics that name where each object
 * came from — to one listener. The composition root owns the source and routes each update to the
 * datastore first, then to the front doors.
 */
import type { LoadResult } from './index.js';

/**
 * One load of the source: a plan when it had no errors, and every diagnostic found; `error` when the
 * load itself failed (e.g. an unreadable file) rather than the manifests in it.
 */
export type PlanUpdate = LoadResult & { readonly error?: string };

export interface PlanSource {
  /**
   * Loads the first plan and calls `onPlan` with it before resolving; then calls `onPlan` again for
   * each change (bursts coalesced; an update whose plan equals the last one is not delivered).
   * Rejects only when the first load cannot be attempted at all (e.g. unreadable origin).
   */
  start(onPlan: (update: PlanUpdate) => void): Promise<void>;
  /** Stops watching; no `onPlan` call happens after the returned promise resolves. */
  close(): Promise<void>;
  /**
   * Why the source is not yet in step with its origin (e.g. the kinds of an API server whose first
   * list has not finished), or undefined once it is. A source that has it lets the process answer
   * /readyz (503 with this reason) before the first plan; one without it is ready with its first plan.
   */
  notReadyReason?(): string | undefined;
}
