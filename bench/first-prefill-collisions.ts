/**
 * Where a grouped workload's mean TTFT goes, per target, from a `infergate bench --save-detailed`
 * JSON (issue 14's and 16's Zipf workloads: requests carry the shared prefix they use as `group`):
 * - the first request of each group (nothing to reuse anywhere: a cold prefill on any router), as its
 *   share of the mean;
 * - the later ("warm") requests per group: mean, p50, p90;
 * - warm requests slower than `--slow MS` (default 400) and the first-of-group requests sent in the
 *   `--window S` seconds (default 1.6) before each: a warm request that lands on a replica busy with
 *   another group's cold prefill waits for it.
 *
 *   npx tsx bench/first-prefill-collisions.ts FILE.json [--slow MS] [--window S] [--groups N] [--list N]
 */
import { readFileSync } from 'node:fs';

interface RequestRecord {
  start_s: number;
  ttft_ms: number | null;
  success: boolean;
  group?: string;
}
interface Target {
  name: string;
  requests?: RequestRecord[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^[0-9.]+$/.test(a));
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!file) {
  console.error('usage: first-prefill-collisions.ts FILE.json [--slow MS] [--window S] [--groups N]');
  process.exit(2);
}
const slowMs = opt('--slow', 400);
const windowS = opt('--window', 1.6);
const shownGroups = opt('--groups', 6);
const listed = opt('--list', 15);
const run = JSON.parse(readFileSync(file, 'utf8')) as { targets: Target[] };

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;

for (const target of run.targets) {
  const records = (target.requests ?? [])
    .filter((r) => r.success && r.ttft_ms !== null && r.group !== undefined)
    .sort((a, b) => a.start_s - b.start_s);
  if (records.length === 0) {
    console.log(`${target.name}: no per-request records with groups (run with --save-detailed)`);
    continue;
  }
  const firsts = new Map<string, RequestRecord>();
  const warm = new Map<string, number[]>();
  for (const r of records) {
    if (!firsts.has(r.group!)) firsts.set(r.group!, r);
    else (warm.get(r.group!) ?? warm.set(r.group!, []).get(r.group!)!).push(r.ttft_ms!);
  }
  const n = records.length;
  const firstSum = [...firsts.values()].reduce((a, r) => a + r.ttft_ms!, 0);
  const allWarm = [...warm.values()].flat();
  console.log(
    `\n${target.name}: ${n} requests, mean TTFT ${mean(records.map((r) => r.ttft_ms!)).toFixed(1)} ms`,
  );
  console.log(
    `  first request of each group: ${firsts.size} requests, ${(firstSum / n).toFixed(1)} ms of the mean; ` +
      `later requests: mean ${mean(allWarm).toFixed(1)} ms`,
  );
  const byCount = [...warm.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, shownGroups);
  for (const [group, ttfts] of byCount) {
    const s = ttfts.slice().sort((a, b) => a - b);
    console.log(
      `  ${group}: ${s.length + 1} requests; first ${firsts.get(group)!.ttft_ms!.toFixed(0)} ms; later mean ${mean(s).toFixed(0)}, p50 ${quantile(s, 0.5).toFixed(0)}, p90 ${quantile(s, 0.9).toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)} ms`,
    );
  }
  const firstSet = new Set(firsts.values());
  const slow = records.filter((r) => !firstSet.has(r) && r.ttft_ms! > slowMs);
  const typical = quantile(
    allWarm.slice().sort((a, b) => a - b),
    0.5,
  );
  const excess = slow.reduce((a, r) => a + r.ttft_ms! - typical, 0) / n;
  console.log(
    `  later requests over ${slowMs} ms: ${slow.length}, ${excess.toFixed(1)} ms of the mean above the later requests' median (${typical.toFixed(0)} ms)`,
  );
  let withCold = 0;
  for (const [i, r] of slow.entries()) {
    const near = [...firsts.values()].filter(
      (f) => f.start_s <= r.start_s && r.start_s - f.start_s < windowS,
    );
    if (near.length > 0) withCold++;
    if (i === listed) console.log(`    … ${slow.length - listed} more (--list N)`);
    if (i >= listed) continue;
    console.log(
      `    ${r.start_s.toFixed(1)} s ${r.group} ${r.ttft_ms!.toFixed(0)} ms; first requests of groups in the ${windowS} s before: ${near.map((f) => `${f.group}@${f.start_s.toFixed(1)}`).join(', ') || 'none'}`,
    );
  }
  console.log(`  of those, ${withCold} follow a first-of-group request by less than ${windowS} s`);
}
