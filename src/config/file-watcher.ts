/**
 * Watches the files a plan was loaded from (and the folders given) and calls back, debounced, when
 * any changes. In a folder only manifest files (`*.yaml` / `*.yml`, the ones the loader reads) count,
 * so a log or editor swap file written next to them does not reload (`serve -f dir/ 2>dir/serve.err`
 * would otherwise reload itself forever). Editors often replace a file (rename + create), which ends
 * an fs.watch on it, so the watch set is rebuilt after every reload attempt with the files it read.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import type { Logger } from '../util/log.js';

/** The names the loader reads from a folder (src/config/sources.ts). */
const MANIFEST_NAME = /\.ya?ml$/i;

export class FileWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly onChange: () => void,
    private readonly logger: Logger,
    /** Quiet time after the last change event before reloading. */
    private readonly debounceMs = 250,
  ) {}

  /** Replaces the watched set. Paths that cannot be watched are logged and skipped. */
  watch(paths: readonly string[]): void {
    this.unwatch();
    if (this.closed) return;
    for (const p of new Set(paths)) {
      try {
        const folder = isFolder(p);
        const w = watch(p, { persistent: false }, (_event, name) => {
          // A folder event names the entry; no name (rare, platform-dependent) is taken as a change.
          if (!folder || name === null || MANIFEST_NAME.test(String(name))) this.changed();
        });
        w.on('error', () => this.changed());
        this.watchers.push(w);
      } catch (err) {
        this.logger.warn({ path: p, err: (err as Error).message }, 'cannot watch config path');
      }
    }
  }

  close(): void {
    this.closed = true;
    this.unwatch();
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private changed(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.onChange();
    }, this.debounceMs);
  }

  private unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
