/**
 * Where each target's TTFT excess over its floor goes, per request, from a scenario's
 * `--save-detailed` JSON (records carry `floor_ms`, `reusable_tokens`, `cached_tokens`, and for
 * infergate's targets the gateway's `endpoint` and `reason`):
 * - cold requests (nothing reusable anywhere) and cache misses (cached < reusable) as shares of the
 *   mean;
 * - the other requests by what the replica held when they were sent: another request still before
 *   its first token, long ("cold": under half of its prompt cached) or short, and whether the
 *   gateway saw it at the pick (pending prefill in its reason); a later arrival that reached the
 *   replica before this one's first token; or nothing ("alone": an engine step in progress and the
 *   decode batch are all that is left). Buckets need the endpoints: peers' targets get only the
 *   totals.
 *
 *   npx tsx bench/excess-by-queue.ts FILE.json [FILE.json …]
 */
import { readFileSync } from 'node:fs';

interface Rec {
  index: number;
  start_s: number;
  success: boolean;
  ttft_ms: number | null;
  prompt_tokens: number;
  cached_tokens?: number | null;
  reusable_tokens?: number;
  floor_ms?: number;
  endpoint?: string;
  reason?: string;
}
interface Target {
  name: string;
  requests?: Rec[];
}
type Timed = Rec & { ttft_ms: number; floor_ms: number };

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: excess-by-queue.ts FILE.json [FILE.json …]');
  process.exit(2);
}
const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
const at = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
const f1 = (v: number) => v.toFixed(1);

for (const file of files) {
  const run = JSON.parse(readFileSync(file, 'utf8')) as { targets: Target[] };
  console.log(`\n== ${file}`);
  for (const t of run.targets) {
    const rs = (t.requests ?? []).filter(
      (r): r is Timed => r.success && r.ttft_ms !== null && r.floor_ms !== undefined,
    );
    if (rs.length === 0) {
      console.log(`${t.name}: no per-request floors (run a scenario with --save-detailed)`);
      continue;
    }
    const n = rs.length;
    const excess = (r: Timed) => r.ttft_ms - r.floor_ms;
    const share = (xs: readonly Timed[]) => xs.reduce((a, r) => a + excess(r), 0) / n;
    const cold = rs.filter((r) => (r.reusable_tokens ?? 0) === 0);
    const warm = rs.filter((r) => (r.reusable_tokens ?? 0) > 0);
    const miss = warm.filter(
      (r) =>
        r.cached_tokens !== null &&
        r.cached_tokens !== undefined &&
        r.cached_tokens < (r.reusable_tokens ?? 0) - 16,
    );
    const warmEx = warm.map(excess).sort((a, b) => a - b);
    console.log(
      `${t.name}: ${n} requests, mean TTFT ${f1(mean(rs.map((r) => r.ttft_ms)))} ms, floor ${f1(mean(rs.map((r) => r.floor_ms)))}, excess ${f1(mean(rs.map(excess)))}`,
    );
    console.log(`  nothing reusable: ${cold.length} requests, ${f1(share(cold))} ms of the mean`);
    console.log(
      `  reusable: ${warm.length} requests, ${f1(share(warm))} ms of the mean (excess p50 ${f1(at(warmEx, 0.5))}, p90 ${f1(at(warmEx, 0.9))}); with a cache miss ${miss.length}, ${f1(share(miss))} ms`,
    );
    if (!rs.every((r) => r.endpoint !== undefined)) continue;
    const byEp = new Map<string, Timed[]>();
    for (const r of rs) {
      const list = byEp.get(r.endpoint!);
      if (list) list.push(r);
      else byEp.set(r.endpoint!, [r]);
    }
    const missed = new Set(miss);
    const buckets = new Map<string, Timed[]>();
    for (const r of warm) {
      if (missed.has(r)) continue;
      const pending = Number(r.reason?.match(/pending prefill (\d+) tok/)?.[1] ?? 0);
      const same = byEp.get(r.endpoint!)!;
      const ahead = same.filter(
        (o) => o !== r && o.start_s <= r.start_s && r.start_s < o.start_s + o.ttft_ms / 1000,
      );
      const after = same.filter(
        (o) => o !== r && r.start_s < o.start_s && o.start_s < r.start_s + r.ttft_ms / 1000,
      );
      const long = ahead.some((o) => (o.cached_tokens ?? 0) < o.prompt_tokens / 2);
      let key = long
        ? 'long prefill ahead'
        : ahead.length > 0
          ? 'short prefill ahead'
          : after.length > 0
            ? 'a later arrival joined'
            : 'alone';
      if (ahead.length > 0) key += pending > 0 ? ' (seen at the pick)' : ' (not seen)';
      const bucket = buckets.get(key);
      if (bucket) bucket.push(r);
      else buckets.set(key, [r]);
    }
    for (const [key, xs] of [...buckets].sort((a, b) => share(b[1]) - share(a[1]))) {
      console.log(
        `    ${key.padEnd(36)} ${String(xs.length).padStart(4)} requests, excess mean ${f1(mean(xs.map(excess))).padStart(6)} ms, ${f1(share(xs)).padStart(5)} ms of the mean`,
      );
    }
  }
}
