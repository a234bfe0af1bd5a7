/**
 * A Prometheus histogram for the request hot path, registered in a prom-client Registry like any of
 * its metrics. prom-client's own Histogram re-validates and re-hashes labels and allocates a closure
 * on every observation; here a label set is resolved once to a child, and an observation is a bucket
 * search and three additions. Exposition (`get()`) follows prom-client's metric contract, so the
 * Registry renders it with everything else.
 */
import type { Metric, Registry } from 'prom-client';

export class HistogramChild {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  private readonly boundLabels: string[];
  private readonly children = new Map<string, HistogramChild>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.boundLabels = [...this.bounds].map((b) => String(b));
    // prom-client's Registry needs only name, get() and reset() of a metric.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for a label set; callers cache it (the key is theirs to choose). */
  child(key: string, labels: Readonly<Record<string, string>>): HistogramChild {
    let c = this.children.get(key);
    if (c === undefined) {
      c = new HistogramChild(labels, this.bounds);
      this.children.set(key, c);
    }
    return c;
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: MetricValue[];
  }> {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += c.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...c.labels, le: this.boundLabels[i]! },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le: '+Inf' }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...c.labels }, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...c.labels }, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every child (children stay valid: callers hold them). */
  reset(): void {
    for (const c of this.children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}
