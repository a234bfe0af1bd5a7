/**
 * A small chart module for the HTML report: line, step and scatter charts and grouped bars as
 * inline SVG strings (no library, no script, no network). Inputs are plain numbers; the caller
 * decides units and downsampling.
 */

export const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#4b5563',
];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values (1-2-5 steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(+v.toPrecision(12));
  if (ticks[ticks.length - 1]! < max) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

/** Short tick label: 1500 → "1.5k", 0.25 → "0.25". */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(+v.toPrecision(3));
}

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** Dashed line (e.g. waiting vs running). */
  dashed?: boolean | undefined;
  /** Leave out of the legend (a second series of the same colour). */
  noLegend?: boolean | undefined;
}

export interface XYChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  kind: 'line' | 'step' | 'scatter';
  width?: number | undefined;
  height?: number | undefined;
  xMin?: number | undefined;
  xMax?: number | undefined;
  yMin?: number | undefined;
  yMax?: number | undefined;
  /** Format y ticks as percentages of 1. */
  yPercent?: boolean | undefined;
}

interface Box {
  width: number;
  height: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}

type LegendItem = {
  name: string;
  color: string;
  dashed?: boolean | undefined;
  noLegend?: boolean | undefined;
};

const LEGEND_ROW = 14;

/** Legend rows under the title, wrapped to the chart's width; returns the SVG and the plot's top. */
function legend(items: readonly LegendItem[], width: number, left: number): { svg: string; top: number } {
  let svg = '';
  let x = left;
  let y = 22;
  for (const item of items) {
    if (item.noLegend) continue;
    const w = 28 + item.name.length * 6.5;
    if (x > left && x + w > width - 8) {
      x = left;
      y += LEGEND_ROW;
    }
    svg +=
      `<line x1="${x}" y1="${y}" x2="${x + 16}" y2="${y}" stroke="${item.color}" stroke-width="3"${item.dashed ? ' stroke-dasharray="4 3"' : ''}/>` +
      `<text x="${x + 20}" y="${y + 4}" class="legend">${escapeXml(item.name)}</text>`;
    x += w;
  }
  return { svg, top: y + 12 };
}

function open(title: string, box: Box, legendSvg: string): string {
  return (
    `<svg class="chart" viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" height="${box.height}" role="img" aria-label="${escapeXml(title)}">` +
    `<text x="${box.left}" y="12" class="title">${escapeXml(title)}</text>${legendSvg}`
  );
}

function layout(
  title: string,
  items: readonly LegendItem[],
  width: number,
  height: number,
): { box: Box; head: string } {
  const left = 62;
  const l = legend(items, width, left);
  const box = { width, height, top: l.top, right: 16, bottom: 44, left };
  return { box, head: open(title, box, l.svg) };
}

function axes(
  box: Box,
  xTicks: number[],
  yTicks: number[],
  sx: (v: number) => number,
  sy: (v: number) => number,
  xLabel: string,
  yLabel: string,
  yPercent: boolean,
): string {
  const x0 = box.left;
  const x1 = box.width - box.right;
  const y0 = box.height - box.bottom;
  const y1 = box.top;
  let s = `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" class="plot"/>`;
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    const label = yPercent ? `${tickLabel(t * 100)}%` : tickLabel(t);
    s += `<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" class="grid"/><text x="${x0 - 6}" y="${y}" class="ytick">${label}</text>`;
  }
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    s += `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 4}" class="axis"/><text x="${x}" y="${y0 + 16}" class="xtick">${tickLabel(t)}</text>`;
  }
  s += `<text x="${(x0 + x1) / 2}" y="${box.height - 6}" class="xlabel">${escapeXml(xLabel)}</text>`;
  s += `<text transform="translate(14 ${(y0 + y1) / 2}) rotate(-90)" class="ylabel">${escapeXml(yLabel)}</text>`;
  return s;
}

/** Line, step or scatter chart of one or more series. */
export function xyChart(o: XYChartOptions): string {
  const width = o.width ?? 640;
  const height = o.height ?? 300;
  let xMin = o.xMin ?? Number.POSITIVE_INFINITY;
  let xMax = o.xMax ?? Number.NEGATIVE_INFINITY;
  let yMin = o.yMin ?? Number.POSITIVE_INFINITY;
  let yMax = o.yMax ?? Number.NEGATIVE_INFINITY;
  for (const s of o.series) {
    for (const [x, y] of s.points) {
      if (o.xMin === undefined && x < xMin) xMin = x;
      if (o.xMax === undefined && x > xMax) xMax = x;
      if (o.yMin === undefined && y < yMin) yMin = y;
      if (o.yMax === undefined && y > yMax) yMax = y;
    }
  }
  if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) [xMin, xMax] = [0, 1];
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (o.yMin === undefined) yMin = Math.min(0, yMin);
  const xTicks = niceTicks(xMin, xMax);
  const yTicks = niceTicks(yMin, yMax);
  const xa = o.xMin ?? xTicks[0]!;
  const xb = o.xMax ?? xTicks[xTicks.length - 1]!;
  const ya = o.yMin ?? yTicks[0]!;
  const yb = o.yMax ?? yTicks[yTicks.length - 1]!;
  const { box, head } = layout(o.title, o.series, width, height);
  const plotW = width - box.left - box.right;
  const plotH = height - box.top - box.bottom;
  const sx = (v: number): number => box.left + ((v - xa) / (xb - xa || 1)) * plotW;
  const sy = (v: number): number => height - box.bottom - ((v - ya) / (yb - ya || 1)) * plotH;
  let body = axes(
    box,
    xTicks.filter((t) => t >= xa && t <= xb),
    yTicks.filter((t) => t >= ya && t <= yb),
    sx,
    sy,
    o.xLabel,
    o.yLabel,
    o.yPercent === true,
  );
  for (const s of o.series) {
    if (s.points.length === 0) continue;
    if (o.kind === 'scatter') {
      let dots = '';
      for (const [x, y] of s.points)
        dots += `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.8"/>`;
      body += `<g fill="${s.color}" fill-opacity="0.55">${dots}</g>`;
      continue;
    }
    let d = '';
    for (let i = 0; i < s.points.length; i++) {
      const [x, y] = s.points[i]!;
      const px = sx(x).toFixed(1);
      const py = sy(y).toFixed(1);
      if (i === 0) d += `M${px} ${py}`;
      else if (o.kind === 'step') d += `H${px}V${py}`;
      else d += `L${px} ${py}`;
    }
    body += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`;
  }
  return `${head}${body}</svg>`;
}

export interface BarGroup {
  name: string;
  color: string;
  values: readonly (number | null)[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  /** One cluster of bars per category (e.g. per replica). */
  categories: readonly string[];
  groups: readonly BarGroup[];
  width?: number | undefined;
  height?: number | undefined;
}

/** Grouped vertical bars. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 640;
  const height = o.height ?? 300;
  let max = 0;
  for (const g of o.groups) for (const v of g.values) if (v !== null && v > max) max = v;
  const yTicks = niceTicks(0, max > 0 ? max : 1);
  const yb = yTicks[yTicks.length - 1]!;
  const { box, head } = layout(o.title, o.groups, width, height);
  const plotW = width - box.left - box.right;
  const plotH = height - box.top - box.bottom;
  const sy = (v: number): number => height - box.bottom - (v / yb) * plotH;
  const n = Math.max(1, o.categories.length);
  const slot = plotW / n;
  const barW = Math.min(60, Math.max(2, (slot * 0.8) / Math.max(1, o.groups.length)));
  let body = axes(box, [], yTicks, () => 0, sy, '', o.yLabel, false);
  for (let c = 0; c < o.categories.length; c++) {
    const cx = box.left + c * slot + (slot - barW * o.groups.length) / 2;
    for (let g = 0; g < o.groups.length; g++) {
      const v = o.groups[g]!.values[c];
      if (v === null || v === undefined) continue;
      const y = sy(v);
      body += `<rect x="${(cx + g * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(height - box.bottom - y).toFixed(1)}" fill="${o.groups[g]!.color}"><title>${escapeXml(`${o.groups[g]!.name} ${o.categories[c]}: ${v}`)}</title></rect>`;
    }
    body += `<text x="${(box.left + (c + 0.5) * slot).toFixed(1)}" y="${height - box.bottom + 16}" class="xtick">${escapeXml(o.categories[c]!)}</text>`;
  }
  return `${head}${body}</svg>`;
}

/** Every k-th point so that at most `max` remain (first and last kept). */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return points.slice();
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/** Empirical CDF of a sample as step points (value, fraction ≤ value), at most `max` points. */
export function cdfPoints(values: ArrayLike<number>, max = 400): [number, number][] {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const n = sorted.length;
  const pts: [number, number][] = [];
  for (let i = 0; i < n; i++) pts.push([sorted[i]!, (i + 1) / n]);
  return downsample(pts, max);
}
