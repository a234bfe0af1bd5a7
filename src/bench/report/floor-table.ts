/**
 * The TTFT floor in a Markdown report (bench/peers.ts, bench/quality.ts): each target's mean and P99
 * TTFT beside the floor of the stream it was sent (src/bench/ttft-floor.ts), the share of its excess
 * that is cache misses and the share that is load, and — against a reference target (a peer) — the
 * smallest ratio any router could reach on that stream: its own floor over the reference's TTFT.
 */
import type { TargetResult } from '../bench.js';

/** A ratio goal against the reference, e.g. mean TTFT ≤ 0.95×. */
export interface FloorGoal {
  figure: 'mean' | 'p99';
  atMost: number;
}

const fmt0 = (v: number): string => v.toFixed(0);
const times = (v: number): string => `${v.toFixed(2)}×`;
const pct = (v: number): string => `${Math.round(v * 100)} %`;

/**
 * Markdown lines (empty when no target has a floor). `reference` names the target the goals are
 * against; `goalTargets` the targets held to them.
 */
export function floorSection(
  targets: readonly TargetResult[],
  reference: string | undefined,
  goalTargets: readonly string[],
  goals: readonly FloorGoal[],
): string[] {
  const withFloor = targets.filter((t) => t.floor !== undefined);
  if (withFloor.length === 0) return [];
  const out = [
    'TTFT floor: each request on an idle replica already holding every token the workload lets it reuse (shared prefix, its conversation’s earlier turns: the ideal replay), timed by the simulator’s own engine with jitter off. Excess = TTFT − floor, split into cache misses (an idle replica with only the tokens the request found cached, minus the floor) and load (the rest: queueing, sharing steps, router and network).',
    '',
    '| target | requests | mean TTFT | floor mean | mean / floor | P99 TTFT | floor P99 | P99 / floor | excess: cache misses | excess: load |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of withFloor) {
    const f = t.floor!;
    out.push(
      `| ${t.name} | ${f.requests} | ${fmt0(f.ttft_mean_ms)} | ${fmt0(f.floor_mean_ms)} | ${times(f.ttft_mean_ms / f.floor_mean_ms)} | ${fmt0(f.ttft_p99_ms)} | ${fmt0(f.floor_p99_ms)} | ${times(f.ttft_p99_ms / f.floor_p99_ms)} | ${f.excess_share ? pct(f.excess_share.cache_miss) : '–'} | ${f.excess_share ? pct(f.excess_share.load) : '–'} |`,
    );
  }
  out.push('');
  const ref = withFloor.find((t) => t.name === reference)?.floor;
  if (ref === undefined) return out;
  for (const name of goalTargets) {
    const own = withFloor.find((t) => t.name === name)?.floor;
    if (own === undefined) continue;
    for (const g of goals) {
      const best =
        g.figure === 'mean' ? own.floor_mean_ms / ref.ttft_mean_ms : own.floor_p99_ms / ref.ttft_p99_ms;
      const label = g.figure === 'mean' ? 'mean' : 'P99';
      out.push(
        `- ${name}, ${label} TTFT ≤ ${g.atMost}× of ${reference}: the floor of ${name}’s stream is ${times(best)} of ${reference}’s ${label} — ${best > g.atMost ? '**out of reach for any router** on this stream' : `room: ${times(g.atMost / best)} above the floor`}`,
      );
    }
  }
  out.push('');
  return out;
}
