/**
 * Splits a closed-loop run's TTFT figures into the opening wave (the first `--wave` requests sent,
 * which all start at once) and the rest, for JSON reports written by
 * `infergate bench … --save-detailed --json FILE` (docs/results.md, quality-002's reading).
 *
 *   infergate bench --scenario quality-002 --strategy least-request,infergate --save-detailed --json q2.json
 *   npx tsx bench/first-wave.ts [--wave 60] q2.json [more.json …]
 *
 * Prints, per target of each report: mean / max TTFT of the wave; mean / median / P99 TTFT of the rest; and where
 * the slowest 1 % of all requests sit in send order (all inside the wave means the P99 measures the
 * opening backlog, not the steady state).
 */
import { readFileSync } from 'node:fs';
import { percentile } from '../src/bench/stats.js';

interface RequestRow {
  index: number;
  start_s: number;
  success: boolean;
  ttft_ms: number | null;
}

function parseArgs(argv: readonly string[]): { wave: number; files: string[] } {
  let wave = 60;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--wave') wave = Number(argv[++i]);
    else files.push(a);
  }
  if (!Number.isInteger(wave) || wave < 1 || files.length === 0) {
    process.stderr.write('usage: npx tsx bench/first-wave.ts [--wave N] report.json …\n');
    process.exit(2);
  }
  return { wave, files };
}

const { wave, files } = parseArgs(process.argv.slice(2));
const round = (x: number) => Math.round(x);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const targets = files.flatMap(
  (f) =>
    (JSON.parse(readFileSync(f, 'utf8')) as { targets: { name: string; requests?: RequestRow[] }[] }).targets,
);
for (const { name, requests } of targets) {
  const rows = (requests ?? [])
    .filter((r): r is RequestRow & { ttft_ms: number } => r.success && r.ttft_ms !== null)
    .sort((a, b) => a.start_s - b.start_s || a.index - b.index);
  if (rows.length <= wave) {
    process.stderr.write(
      `${name}: ${rows.length} successful requests with records (run with --save-detailed)\n`,
    );
    continue;
  }
  /** TTFTs of `rs`, ascending (stats.percentile wants a sorted sample). */
  const ttft = (rs: typeof rows) => rs.map((r) => r.ttft_ms).sort((a, b) => a - b);
  const first = ttft(rows.slice(0, wave));
  const rest = ttft(rows.slice(wave));
  const all = ttft(rows);
  const slowest = rows
    .map((r, order) => ({ order, ttft: r.ttft_ms }))
    .sort((a, b) => b.ttft - a.ttft)
    .slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  const inWave = slowest.filter((s) => s.order < wave).length;
  process.stdout.write(
    `${name}: all mean ${round(mean(all))} / P99 ${round(percentile(all, 99))} ms; ` +
      `first ${wave}: mean ${round(mean(first))}, max ${round(Math.max(...first))} ms; ` +
      `the other ${rest.length}: mean ${round(mean(rest))}, median ${round(percentile(rest, 50))}, ` +
      `P99 ${round(percentile(rest, 99))} ms; slowest ${slowest.length}: ${inWave} in the first ${wave}\n`,
  );
}
