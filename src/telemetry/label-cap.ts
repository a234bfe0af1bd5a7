/**
 * Bounds the cardinality of a Prometheus label whose values come from user input (model names,
 * target models). The first `max` distinct values are kept as they are; every later one is folded
 * into `other`. Values are also cut to `maxLength` characters.
 */
export const OTHER_LABEL = 'other';

export class LabelCap {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max = 100,
    private readonly maxLength = 128,
  ) {}

  /** The label value to use for `value`; `''` for undefined (an absent value). */
  value(value: string | undefined): string {
    if (value === undefined || value.length === 0) return '';
    const v = value.length > this.maxLength ? value.slice(0, this.maxLength) : value;
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }

  /** Number of distinct values kept so far (≤ max). */
  get size(): number {
    return this.seen.size;
  }
}
