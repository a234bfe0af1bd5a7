/**
 * The gateway queue a pool's requests wait in while every endpoint is saturated: bounded, ordered by
 * priority (higher first) then arrival, each waiter with a deadline and its client's abort signal.
 * A binary heap; waiters that time out or abort are dropped lazily (marked, skipped when popped)
 * and the heap is compacted when they pile up.
 */
import { GatewayError } from '../openai/errors.js';

interface Waiter {
  readonly priority: number;
  readonly seq: number;
  done: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class AdmissionQueue {
  readonly maxSize: number;
  private heap: Waiter[] = [];
  private live = 0;
  private seq = 0;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  /** Waiters still waiting. */
  get size(): number {
    return this.live;
  }

  get full(): boolean {
    return this.live >= this.maxSize;
  }

  /**
   * Resolves when released; rejects with GatewayError QUEUE_TIMEOUT after `timeoutMs`, with the
   * signal's reason on abort, or with POOL_SATURATED at once when the queue is full.
   */
  wait(priority: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.full) {
      return Promise.reject(
        new GatewayError('POOL_SATURATED', 'Every endpoint is saturated and the gateway queue is full.'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        priority,
        seq: this.seq++,
        done: false,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      w.timer = setTimeout(() => {
        this.finish(w);
        reject(
          new GatewayError(
            'QUEUE_TIMEOUT',
            `Waited ${timeoutMs} ms in the gateway queue for a free endpoint.`,
          ),
        );
      }, timeoutMs);
      w.timer.unref();
      if (signal) {
        w.onAbort = () => {
          this.finish(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.push(w);
      this.live++;
    });
  }

  /** Releases the best waiter; false when nobody waits. */
  releaseOne(): boolean {
    for (;;) {
      const w = this.pop();
      if (!w) return false;
      if (w.done) continue;
      this.finish(w);
      w.resolve();
      return true;
    }
  }

  /** Fails every waiter with `err` (pool removed, no endpoints left). */
  rejectAll(err: unknown): void {
    for (;;) {
      const w = this.pop();
      if (!w) return;
      if (w.done) continue;
      this.finish(w);
      w.reject(err);
    }
  }

  private finish(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    this.live--;
    if (w.timer) clearTimeout(w.timer);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    if (this.heap.length > 64 && this.heap.length > 2 * this.live) this.compact();
  }

  private compact(): void {
    const keep = this.heap.filter((w) => !w.done);
    this.heap = [];
    for (const w of keep) this.push(w);
  }

  // ---- binary heap: priority desc, then seq asc ------------------------------------------------

  private static before(a: Waiter, b: Waiter): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  private push(w: Waiter): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!AdmissionQueue.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Waiter | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && AdmissionQueue.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && AdmissionQueue.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}
