/**
 * The `--html FILE` report: one self-contained page (inline CSS and SVG, no script, no external
 * reference) that opens offline: the figures side by side with ratios, TTFT CDF per target,
 * latency over time, per-replica load (requests served, running/waiting and KV-cache usage over
 * time), slices by model / objective, warnings and the workload. Times in the targets' time.
 */
import type { BenchReport, TargetResult } from '../bench.js';
import type { GroupStats } from '../stats.js';
import { dashboardMetric, REPLICA_METRICS } from './dashboard-metrics.js';
import { type FigureRow, figureRows, figureValues, ratio } from './figures.js';
import { barChart, cdfPoints, downsample, escapeXml, PALETTE, type Series, xyChart } from './svg.js';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1320px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.meta{color:#4b5563;margin:0 0 12px}.warn{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;border-radius:6px;margin:6px 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:3px 10px;border-bottom:1px solid #f3f4f6;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #d1d5db}
.better{color:#15803d;font-weight:600}.worse{color:#b91c1c;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px}
.chart .title{font-weight:600;font-size:13px}.chart .legend,.chart .xtick,.chart .ytick,.chart .xlabel,.chart .ylabel{font-size:11px;fill:#374151}
.chart .xtick,.chart .xlabel,.chart .ylabel{text-anchor:middle}.chart .ytick{text-anchor:end;dominant-baseline:middle}
.chart .plot{fill:#fafafa;stroke:#d1d5db}.chart .grid{stroke:#e5e7eb}.chart .axis{stroke:#9ca3af}
.metric{text-align:left;color:#6b7280;font-size:11px}
pre{background:#f9fafb;border:1px solid #e5e7eb;padding:8px 12px;border-radius:6px;overflow:auto}
`;

const MAX_SCATTER_POINTS = 1500;
/** Points per replica line (the sampler may take thousands on a long run; the page stays small). */
const MAX_LINE_POINTS = 200;

function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

function num(v: number | null | undefined, decimals: number): string {
  return v == null || !Number.isFinite(v) ? '–' : v.toFixed(decimals);
}

function ratioCell(row: FigureRow, v: number | null): string {
  if (v === null) return '<td>–</td>';
  let cls = '';
  if (row.better !== 'none' && Math.abs(v - 1) > 0.005) {
    const improved = row.better === 'lower' ? v < 1 : v > 1;
    cls = improved ? ' class="better"' : ' class="worse"';
  }
  return `<td${cls}>${v.toFixed(2)}×</td>`;
}

function figuresTable(report: BenchReport): string {
  const o = report.options;
  const rows = figureRows({
    percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'],
    percentiles: [90, 99],
    goodput: o.goodput !== undefined,
  });
  const values = report.targets.map(figureValues);
  const base = values[0];
  let head = '<th>figure</th>';
  report.targets.forEach((t) => {
    head += `<th>${escapeXml(t.name)}</th>`;
  });
  for (let i = 1; i < report.targets.length; i++) {
    head += `<th>${escapeXml(report.targets[i]!.name)} / ${escapeXml(report.targets[0]!.name)}</th>`;
  }
  head += '<th class="metric">on the dashboard</th>';
  let body = '';
  for (const row of rows) {
    if (!values.some((v) => v[row.key] != null)) continue;
    body += `<tr><td>${escapeXml(row.label)}</td>`;
    for (const v of values) body += `<td>${num(v[row.key], row.decimals)}</td>`;
    for (let i = 1; i < values.length; i++)
      body += ratioCell(row, ratio(values[i]![row.key], base?.[row.key]));
    const metric = dashboardMetric(row.key);
    body += `<td class="metric">${metric ? `<code>${escapeXml(metric)}</code>` : ''}</td>`;
    body += '</tr>';
  }
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function successes(r: TargetResult): TargetResult['records'] {
  return r.records.filter((x) => x.success);
}

function ttftCdf(report: BenchReport, scale: number): string {
  const series: Series[] = report.targets.map((t, i) => ({
    name: t.name,
    color: colour(i),
    points: cdfPoints(successes(t).map((x) => x.ttftMs / scale)),
  }));
  return xyChart({
    title: 'TTFT distribution (CDF)',
    xLabel: 'time to first token (ms)',
    yLabel: 'fraction of requests',
    series,
    kind: 'step',
    yMin: 0,
    yMax: 1,
    yPercent: true,
  });
}

function overTime(report: BenchReport, scale: number, pick: 'ttft' | 'e2e'): string {
  const series: Series[] = report.targets.map((t, i) => ({
    name: t.name,
    color: colour(i),
    points: downsample(
      successes(t).map(
        (x) => [x.startMs / scale / 1000, (pick === 'ttft' ? x.ttftMs : x.latencyMs) / scale] as const,
      ),
      MAX_SCATTER_POINTS,
    ),
  }));
  return xyChart({
    title: pick === 'ttft' ? 'TTFT over time' : 'End-to-end latency over time',
    xLabel: 'request sent at (s since start)',
    yLabel: pick === 'ttft' ? 'TTFT (ms)' : 'E2E latency (ms)',
    series,
    kind: 'scatter',
  });
}

function replicaLabel(url: string, i: number): string {
  try {
    return `r${i} :${new URL(url).port}`;
  } catch {
    return `r${i}`;
  }
}

function requestsPerReplica(report: BenchReport): string | undefined {
  const withLoad = report.targets.filter((t) => t.prefixCache && t.prefixCache.replicas.length > 0);
  if (withLoad.length === 0) return undefined;
  const n = Math.max(...withLoad.map((t) => t.prefixCache!.replicas.length));
  const categories = Array.from({ length: n }, (_, i) => `r${i}`);
  return barChart({
    title: 'Requests served per replica',
    yLabel: 'requests (Δ vllm:request_success_total)',
    categories,
    groups: report.targets.map((t, i) => ({
      name: t.name,
      color: colour(i),
      values: categories.map((_, r) => t.prefixCache?.replicas[r]?.requests ?? null),
    })),
  });
}

function replicaTimeline(t: TargetResult, scale: number, what: 'queue' | 'kv'): string | undefined {
  if (t.timeline.length === 0) return undefined;
  const series: Series[] = [];
  t.scrapeUrls.forEach((url, r) => {
    const pts = (pick: (s: TargetResult['timeline'][number]) => number | undefined): [number, number][] =>
      downsample(
        t.timeline.flatMap((s) => {
          const v = pick(s);
          return v === undefined ? [] : [[s.tMs / scale / 1000, v] as [number, number]];
        }),
        MAX_LINE_POINTS,
      );
    if (what === 'queue') {
      series.push({
        name: replicaLabel(url, r),
        color: colour(r),
        points: pts((s) => s.running[r]),
      });
      series.push({
        name: `${replicaLabel(url, r)} waiting`,
        color: colour(r),
        dashed: true,
        noLegend: true,
        points: pts((s) => s.waiting[r]),
      });
    } else {
      series.push({ name: replicaLabel(url, r), color: colour(r), points: pts((s) => s.kvUsage[r]) });
    }
  });
  return xyChart({
    title:
      what === 'queue'
        ? `${t.name}: running (solid) and waiting (dashed) requests per replica`
        : `${t.name}: KV-cache usage per replica`,
    xLabel: 'time (s since start)',
    yLabel:
      what === 'queue'
        ? `requests (${REPLICA_METRICS.running}, ${REPLICA_METRICS.waiting})`
        : `KV-cache usage (${REPLICA_METRICS.kvUsage})`,
    series,
    kind: 'line',
    ...(what === 'kv' ? { yMin: 0, yMax: 1, yPercent: true } : {}),
  });
}

function groupTable(
  title: string,
  targets: readonly TargetResult[],
  pick: (t: TargetResult) => Record<string, GroupStats> | undefined,
): string {
  let rows = '';
  for (const t of targets) {
    const g = pick(t);
    if (!g) continue;
    for (const [k, v] of Object.entries(g)) {
      const errs = Object.entries(v.errors)
        .map(([e, n]) => `${e}×${n}`)
        .join(', ');
      rows +=
        `<tr><td>${escapeXml(t.name)}</td><td>${escapeXml(k)}</td><td>${v.completed}</td><td>${v.failed}</td>` +
        `<td>${num(v.ttft.mean, 2)}</td><td>${num(v.ttft.p99, 2)}</td><td>${num(v.e2el.mean, 2)}</td><td>${escapeXml(errs || '–')}</td></tr>`;
    }
  }
  if (!rows) return '';
  return (
    `<h2>${escapeXml(title)}</h2><table><thead><tr><th>target</th><th>slice</th><th>ok</th><th>failed</th>` +
    `<th>mean TTFT (ms)</th><th>P99 TTFT (ms)</th><th>mean E2E (ms)</th><th>errors</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** The complete HTML document. */
export function reportHtml(report: BenchReport, version: string, references?: string): string {
  const scale = report.options.timeScale;
  const warnings = report.targets.flatMap((t) => t.warnings.map((w) => `${t.name}: ${w}`));
  const notes = report.targets.flatMap((t) => t.notes.map((n) => `${t.name}: ${n}`));
  const charts: string[] = [
    ttftCdf(report, scale),
    overTime(report, scale, 'ttft'),
    overTime(report, scale, 'e2e'),
  ];
  const perReplica = requestsPerReplica(report);
  if (perReplica) charts.push(perReplica);
  const replicaCharts: string[] = [];
  for (const t of report.targets) {
    const q = replicaTimeline(t, scale, 'queue');
    const kv = replicaTimeline(t, scale, 'kv');
    if (q) replicaCharts.push(q);
    if (kv) replicaCharts.push(kv);
  }
  const targetsList = report.targets.map((t) => `${escapeXml(t.name)} (${escapeXml(t.url)})`).join(', ');
  const scaleNote =
    scale !== 1
      ? `<p class="meta">Targets ran at time scale ${scale}: times are shown ×${+(1 / scale).toFixed(4)} and rates ÷${+(1 / scale).toFixed(4)}, in the simulated hardware's time.</p>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>infergate bench report</title><style>${STYLE}</style></head><body>
<h1>infergate bench report</h1>
<p class="meta">${escapeXml(report.startedAt)} · ${targetsList}</p>
${scaleNote}
${warnings.map((w) => `<div class="warn">${escapeXml(w)}</div>`).join('\n')}
${notes.map((n) => `<p class="meta">Note — ${escapeXml(n)}</p>`).join('\n')}
<h2>Figures</h2>
<p class="meta">Measured at the client. The last column names the Prometheus metrics of the same quantity on the
Grafana dashboard (deploy/grafana/infergate.json) and the gateway's live page (its admin port): the gateway's
<code>infergate_*</code>, then the replicas' <code>vllm:*</code>.</p>
${figuresTable(report)}
${references ? `<h2>Reference</h2><pre>${escapeXml(references)}</pre>` : ''}
<h2>Latency</h2>
<div class="charts">${charts.join('\n')}</div>
${replicaCharts.length > 0 ? `<h2>Per-replica load over time</h2><div class="charts">${replicaCharts.join('\n')}</div>` : ''}
${groupTable('By model', report.targets, (t) => t.byModel)}
${groupTable('By objective', report.targets, (t) => t.byObjective)}
<h2>Workload</h2>
<pre>${escapeXml(JSON.stringify(report.workload, null, 2))}</pre>
<p class="meta">Generated by infergate ${escapeXml(version)} (infergate bench). Load generator event-loop lag p99: ${report.targets
    .map((t) => `${escapeXml(t.name)} ${t.generator.lag.p99Ms.toFixed(2)} ms`)
    .join(', ')}.</p>
</body></html>
`;
}
