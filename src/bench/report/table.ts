/**
 * Text tables. `servingTable` prints one target exactly in the layout of vLLM's benchmark_serving
 * (`{:<40} {:<10}` lines, centred section rules), so it can be diffed against the user's own runs;
 * `extrasTable` adds what vLLM does not print (failures, prefix cache, generator lag, warnings);
 * `comparisonTable` puts several targets side by side with ratios to the first, optionally beside
 * reference columns (a document's own numbers).
 */
import type { TargetResult } from '../bench.js';
import type { PercentileMetric } from '../options.js';
import { type Distribution, percentileKey, type ServingMetrics } from '../stats.js';
import { type FigureRow, type FigureValues, figureRows, figureValues, ratio } from './figures.js';

const WIDTH = 50;

/** Python's `'{s:{c}^{n}}'.format(...)`: centred, the odd fill character going right. */
export function centre(text: string, fill: string, width = WIDTH): string {
  const pad = Math.max(0, width - text.length);
  const left = Math.floor(pad / 2);
  return fill.repeat(left) + text + fill.repeat(pad - left);
}

/** `'{:<40} {:<10}'` with a string or a `.2f` number. */
function line(label: string, value: string | number, decimals?: number): string {
  const v = typeof value === 'number' && decimals !== undefined ? value.toFixed(decimals) : String(value);
  return `${label.padEnd(40)} ${v.padEnd(10)}`;
}

const SECTIONS: Record<
  PercentileMetric,
  { name: string; header: string; pick: (m: ServingMetrics) => Distribution }
> = {
  ttft: { name: 'TTFT', header: 'Time to First Token', pick: (m) => m.ttft },
  tpot: { name: 'TPOT', header: 'Time per Output Token (excl. 1st token)', pick: (m) => m.tpot },
  itl: { name: 'ITL', header: 'Inter-token Latency', pick: (m) => m.itl },
  e2el: { name: 'E2EL', header: 'End-to-end Latency', pick: (m) => m.e2el },
};

export interface TableOptions {
  percentileMetrics: readonly PercentileMetric[];
  /** Percentiles printed after mean and median (vLLM default: [99]). */
  percentiles: readonly number[];
  goodput: boolean;
}

/** vLLM's "Serving Benchmark Result" block, line for line. */
export function servingTable(m: ServingMetrics, opts: TableOptions): string {
  const out: string[] = [centre(' Serving Benchmark Result ', '=')];
  out.push(line('Successful requests:', m.completed));
  out.push(line('Benchmark duration (s):', m.durationS, 2));
  out.push(line('Total input tokens:', m.totalInputTokens));
  out.push(line('Total generated tokens:', m.totalOutputTokens));
  out.push(line('Request throughput (req/s):', m.requestThroughput, 2));
  if (opts.goodput) out.push(line('Request goodput (req/s):', m.requestGoodput ?? 0, 2));
  out.push(line('Output token throughput (tok/s):', m.outputTokenThroughput, 2));
  out.push(line('Total Token throughput (tok/s):', m.totalTokenThroughput, 2));
  for (const key of opts.percentileMetrics) {
    const s = SECTIONS[key];
    const d = s.pick(m);
    out.push(centre(s.header, '-'));
    out.push(line(`Mean ${s.name} (ms):`, d.mean, 2));
    out.push(line(`Median ${s.name} (ms):`, d.median, 2));
    for (const p of opts.percentiles) {
      const k = percentileKey(p);
      const v = k === 'p90' ? d.p90 : k === 'p99' ? d.p99 : (d.percentiles[k] ?? 0);
      out.push(line(`${k.toUpperCase()} ${s.name} (ms):`, v, 2));
    }
  }
  out.push('='.repeat(WIDTH));
  return out.join('\n');
}

function errorList(errors: Record<string, number>): string {
  const parts = Object.entries(errors)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k}×${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** What infergate measures beyond vLLM's table, in the same line format. */
export function extrasTable(r: TargetResult): string {
  const out: string[] = [centre(' infergate ', '-')];
  out.push(line('Failed requests:', r.metrics.failed));
  out.push(line('Errors:', errorList(r.metrics.errors)));
  if (r.aborted > 0) out.push(line('Aborted at the end (grace over):', r.aborted));
  if (r.unsent > 0) out.push(line('Arrivals never sent:', r.unsent));
  if (r.prefixCache) {
    const hr = r.prefixCache.hitRate;
    out.push(line('Prefix cache hit rate (%):', hr === null ? 'n/a' : (hr * 100).toFixed(2)));
    const reqs = r.prefixCache.replicas.map((x) => (x.requests === null ? '?' : String(x.requests)));
    out.push(line('Requests per replica:', reqs.join(' / ')));
  }
  if (r.requestCache) {
    out.push(line('Cached prompt tokens, 1st lookup (%):', (r.requestCache.hitRate * 100).toFixed(2)));
  }
  const ideal = r.idealPrefixCache?.hitRate;
  if (ideal != null) {
    const achieved = r.requestCache?.hitRate ?? r.prefixCache?.hitRate;
    const share =
      achieved != null && ideal > 0 ? ` (achieved ${((achieved / ideal) * 100).toFixed(1)} %)` : '';
    out.push(line('Ideal prefix cache hit rate (%):', `${(ideal * 100).toFixed(2)}${share}`));
  }
  const lag = r.generator.lag;
  out.push(line('Generator loop lag p99/max (ms):', `${lag.p99Ms.toFixed(2)} / ${lag.maxMs.toFixed(2)}`));
  out.push(
    line('Generator busy / CPU (%):', `${(lag.utilization * 100).toFixed(0)} / ${lag.cpuPercent.toFixed(0)}`),
  );
  if (r.processCpuS) {
    const parts = Object.entries(r.processCpuS).map(([k, v]) => `${k} ${v.toFixed(1)}`);
    out.push(line('CPU seconds per process:', parts.join(', ')));
  }
  out.push('='.repeat(WIDTH));
  for (const w of r.warnings) out.push(`WARNING: ${w}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

/** A column of the comparison: a measured target or reference figures (e.g. a document's). */
export interface ComparisonColumn {
  name: string;
  values: FigureValues;
}

export interface ComparisonOptions extends TableOptions {
  title?: string | undefined;
  /** Extra columns shown after ours (with their own ratio column when there are several). */
  references?: readonly ComparisonColumn[] | undefined;
  /** Heading over the reference columns. */
  referenceTitle?: string | undefined;
}

function fmt(v: number | null | undefined, decimals: number): string {
  if (v == null || !Number.isFinite(v)) return '-';
  return v.toFixed(decimals);
}

function fmtRatio(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(2)}x`;
}

/** Columns and ratio columns (each non-first column against the first). */
function block(columns: readonly ComparisonColumn[], row: FigureRow): string[] {
  const cells = columns.map((c) => fmt(c.values[row.key], row.decimals));
  const base = columns[0]?.values[row.key];
  for (let i = 1; i < columns.length; i++) cells.push(fmtRatio(ratio(columns[i]!.values[row.key], base)));
  return cells;
}

function headers(columns: readonly ComparisonColumn[]): string[] {
  const h = columns.map((c) => c.name);
  for (let i = 1; i < columns.length; i++) h.push(`${columns[i]!.name}/${columns[0]!.name}`);
  return h;
}

/** Several targets side by side, ratios against the first; rows without any value are left out. */
export function comparisonTable(results: readonly TargetResult[], opts: ComparisonOptions): string {
  const ours: ComparisonColumn[] = results.map((r) => ({ name: r.name, values: figureValues(r) }));
  const refs = opts.references ?? [];
  const rows = figureRows(opts).filter(
    (row) => ours.some((c) => c.values[row.key] != null) || refs.some((c) => c.values[row.key] != null),
  );
  const head = headers(ours);
  const refHead = refs.length > 0 ? headers(refs) : [];
  const table: string[][] = rows.map((row) => [
    row.label,
    ...block(ours, row),
    ...(refs.length > 0 ? block(refs, row) : []),
  ]);
  const allHead = ['', ...head, ...refHead];
  const widths = allHead.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  widths[0] = Math.max(widths[0]!, 34);
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const out: string[] = [
    centre(` ${opts.title ?? 'Serving Benchmark Comparison'} `, '=', Math.max(WIDTH, total)),
  ];
  if (refs.length > 0) {
    const oursWidth = head.reduce((a, _h, i) => a + widths[i + 1]! + 2, 0);
    out.push(
      `${''.padEnd(widths[0]! + 2)}${'measured'.padEnd(oursWidth)}${opts.referenceTitle ?? 'reference'}`,
    );
  }
  out.push(render(allHead));
  for (const r of table) out.push(render(r));
  out.push('='.repeat(Math.max(WIDTH, total)));
  return out.join('\n');
}
