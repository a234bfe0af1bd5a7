/**
 * A double-ended queue on a growable ring buffer: O(1) push/pop at both ends, O(1) indexed reads.
 * The scheduler's waiting queue (FCFS at the back, preempted and skipped requests back at the front).
 */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    this.buf = new Array<T | undefined>(Math.max(2, capacity));
  }

  get length(): number {
    return this.size;
  }

  at(i: number): T | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return this.buf[(this.head + i) % this.buf.length];
  }

  peekFront(): T | undefined {
    return this.size === 0 ? undefined : this.buf[this.head];
  }

  pushBack(v: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) % this.buf.length] = v;
    this.size++;
  }

  pushFront(v: T): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = v;
    this.size++;
  }

  popFront(): T | undefined {
    if (this.size === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return v;
  }

  /** Removes the first element equal to `v` (O(n)); returns whether it was found. */
  remove(v: T): boolean {
    const n = this.size;
    const cap = this.buf.length;
    for (let i = 0; i < n; i++) {
      if (this.buf[(this.head + i) % cap] !== v) continue;
      for (let j = i; j < n - 1; j++) this.buf[(this.head + j) % cap] = this.buf[(this.head + j + 1) % cap];
      this.buf[(this.head + n - 1) % cap] = undefined;
      this.size--;
      return true;
    }
    return false;
  }

  toArray(): T[] {
    const out = new Array<T>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.buf[(this.head + i) % this.buf.length] as T;
    return out;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
