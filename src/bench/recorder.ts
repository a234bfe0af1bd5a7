/**
 * Collects what one run measured: a record per request, the pooled inter-token gaps (a growable
 * Float64Array: millions of gaps cost 8 bytes each) and live counters for the progress display.
 */
import type { ItlSink, RequestRecord } from './client.js';

export class RunRecorder implements ItlSink {
  readonly records: RequestRecord[] = [];
  private itlBuf = new Float64Array(4096);
  private itlLen = 0;
  /** Requests handed to the client and not yet settled. */
  inFlight = 0;
  sent = 0;
  succeeded = 0;
  failed = 0;
  outputTokens = 0;

  push(gaps: readonly number[]): void {
    const need = this.itlLen + gaps.length;
    if (need > this.itlBuf.length) {
      let size = this.itlBuf.length * 2;
      while (size < need) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.itlBuf.subarray(0, this.itlLen));
      this.itlBuf = grown;
    }
    for (let i = 0; i < gaps.length; i++) this.itlBuf[this.itlLen++] = gaps[i]!;
  }

  /** The pooled gaps (a view; valid until the next push). */
  get itls(): Float64Array {
    return this.itlBuf.subarray(0, this.itlLen);
  }

  onSent(): void {
    this.sent++;
    this.inFlight++;
  }

  onSettled(record: RequestRecord): void {
    this.inFlight--;
    this.records.push(record);
    if (record.success) {
      this.succeeded++;
      this.outputTokens += record.outputTokens;
    } else {
      this.failed++;
    }
  }
}
