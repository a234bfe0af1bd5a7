/**
 * A count kept as a plain number on the hot path and handed to prom-client when Prometheus scrapes
 * (the counter's `collect`): prom-client re-hashes and re-validates labels on every call.
 */
import type { Counter } from 'prom-client';

export interface PendingCount {
  readonly labels: Record<string, string>;
  n: number;
}

/** Adds the pending counts to `counter` and zeroes them (call from the counter's `collect`). */
export function drainPending(counter: Counter<string>, entries: Iterable<PendingCount>): void {
  for (const e of entries) {
    if (e.n > 0) {
      counter.inc(e.labels, e.n);
      e.n = 0;
    }
  }
}
