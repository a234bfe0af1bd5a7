/**
 * The TTFT floor of a request stream: for each request, the time to first token it would have on an
 * idle replica already holding every token the workload lets it reuse (its ideal prefix-cache hit:
 * ideal-prefix.ts — the shared prefix and its own conversation's earlier turns). No router can beat
 * it: on the simulator a busier replica only adds work to the request's steps, and a replica's cache
 * holds no more than the ideal replay does.
 *
 * The time comes from the simulator's own engine (src/sim/engine: its scheduler's chunked prefill,
 * its step-time formula and profile), run for one request on an empty engine — no second formula.
 * Step-time jitter is off (the floor is the expected time; a measured TTFT may dip below it by the
 * profile's jitter).
 *
 * Evidence per target (`floorEvidence`): its mean and P99 TTFT beside the floor's over the same
 * requests, and its excess over the floor split in two: the cache it missed (an idle replica holding
 * only the tokens the request actually found cached, minus the floor) and the rest — waiting for and
 * sharing the engine with other requests, plus the router's and the network's time.
 */
import { Engine } from '../sim/engine/engine.js';
import { EngineRequest, type TokenSink } from '../sim/engine/request.js';
import { engineConfigOf, type ResolvedReplicaOptions, resolveReplicaOptions } from '../sim/options.js';
import { FidelityStats } from '../sim/vllm-page/fidelity.js';
import { VllmMetrics } from '../sim/vllm-page/vllm-metrics.js';
import type { RequestRecord } from './client.js';
import { percentile } from './stats.js';

/** Discards the engine's output: only the first token's time is read. */
const DISCARD: TokenSink = { onToken: () => false, flush: () => 0 };

/** An engine time past every step of one request (ms): `advance` runs everything due by then. */
const UNTIL_IDLE_MS = 1e12;
/** When the measured request arrives, after the warming one has finished (engine ms). */
const MEASURED_ARRIVAL_MS = 1e9;

/** Simulator options the engine's timing depends on (the rest are left at their defaults). */
export type FloorReplicaOptions = Partial<
  Pick<
    ResolvedReplicaOptions,
    'profile' | 'maxNumSeqs' | 'maxNumBatchedTokens' | 'enableChunkedPrefill' | 'blockSize' | 'maxModelLen'
  >
>;

/** `infergate sim` flags that change a lone request's timing, and the option each sets. */
const TIMING_FLAGS: Record<string, 'maxNumSeqs' | 'maxNumBatchedTokens' | 'blockSize' | 'maxModelLen'> = {
  '--max-num-seqs': 'maxNumSeqs',
  '--max-num-batched-tokens': 'maxNumBatchedTokens',
  '--block-size': 'blockSize',
  '--max-model-len': 'maxModelLen',
};

/**
 * The floor's options for a simulator started with `profile` and `extraArgs` (a scenario's), or
 * undefined when the floor does not apply: the V0 engine (no prefix caching by default, other
 * scheduling) or prefix caching turned off.
 */
export function floorOptionsForSim(
  profile: string,
  extraArgs: readonly string[],
): FloorReplicaOptions | undefined {
  const out: FloorReplicaOptions = { profile };
  for (let i = 0; i < extraArgs.length; i++) {
    const flag = extraArgs[i]!;
    if (flag === '--engine' && extraArgs[i + 1] === 'v0') return undefined;
    if (flag === '--no-enable-prefix-caching') return undefined;
    if (flag === '--no-enable-chunked-prefill') out.enableChunkedPrefill = false;
    const key = TIMING_FLAGS[flag];
    if (key !== undefined) out[key] = Number(extraArgs[++i]);
  }
  return out;
}

/** TTFT (engine ms) of one request alone on a replica that holds some of its prompt. */
export class IdleReplicaTtft {
  private readonly opts: ResolvedReplicaOptions;
  private readonly memo = new Map<string, number>();

  constructor(options: FloorReplicaOptions) {
    const resolved = resolveReplicaOptions({ ...options, enablePrefixCaching: true });
    this.opts = { ...resolved, timing: { ...resolved.timing, jitter: 0 } };
  }

  /**
   * Engine ms from arrival to first token for a `promptTokens`-token prompt whose first
   * `cachedTokens` (rounded down to full KV blocks, at most prompt − 1) are in the replica's cache.
   */
  ttftMs(promptTokens: number, cachedTokens: number): number {
    if (!Number.isInteger(promptTokens) || promptTokens < 1)
      throw new RangeError(`prompt must be at least one token, got ${promptTokens}`);
    const bs = this.opts.blockSize;
    const cached =
      Math.max(0, Math.min(Math.floor(cachedTokens / bs), Math.floor((promptTokens - 1) / bs))) * bs;
    const key = `${promptTokens}:${cached}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const ms = this.measure(promptTokens, cached);
    this.memo.set(key, ms);
    return ms;
  }

  private measure(promptTokens: number, cached: number): number {
    const o = this.opts;
    const blocks = Math.ceil((promptTokens + 1) / o.blockSize) * 2 + 2;
    const engine = new Engine(
      // The replica's own engine, with room for this one request and prefix caching on.
      { ...engineConfigOf(o, { lora: null, seed: 1 }), numGpuBlocks: blocks, prefixCaching: true },
      new VllmMetrics({
        version: 'v1',
        modelName: 'floor',
        maxModelLen: o.maxModelLen,
        maxLoras: null,
        cacheConfig: {
          blockSize: o.blockSize,
          numGpuBlocks: blocks,
          numGpuBlocksOverride: null,
          gpuMemoryUtilization: o.gpuMemoryUtilization,
          enablePrefixCaching: true,
        },
      }),
      new FidelityStats(),
    );
    const prompt = Array.from({ length: promptTokens }, (_, i) => i + 1);
    // The reusable part first, as an earlier request would have left it in the cache.
    if (cached > 0) {
      engine.submit(this.request(prompt.slice(0, cached), 0));
      engine.advance(UNTIL_IDLE_MS);
    }
    const measured = this.request(prompt, MEASURED_ARRIVAL_MS);
    engine.submit(measured);
    engine.advance(UNTIL_IDLE_MS);
    if (measured.firstTokenMs < 0) throw new Error(`the engine gave no first token (${promptTokens} tokens)`);
    return measured.firstTokenMs - measured.arrivalMs;
  }

  private request(tokens: readonly number[], arrivalMs: number): EngineRequest {
    return new EngineRequest({
      id: 'floor',
      promptTokens: tokens,
      maxTokens: 1,
      eos: null,
      stop: [],
      lora: null,
      arrivalMs,
      queuedMs: arrivalMs + this.opts.timing.frontendMs,
      seed: 1,
      sink: DISCARD,
      maxTokensParam: 1,
      blockSize: this.opts.blockSize,
    });
  }
}

/** One target's TTFT against the floor of the stream it was sent (simulated ms). */
export interface TtftFloorEvidence {
  /** Successful requests with a TTFT and an ideal hit (the ones compared). */
  requests: number;
  ttft_mean_ms: number;
  ttft_p99_ms: number;
  floor_mean_ms: number;
  floor_p99_ms: number;
  /** Mean of TTFT − floor. */
  excess_mean_ms: number;
  /**
   * Shares of Σ (TTFT − floor): `cache_miss` = Σ (idle TTFT with the tokens actually cached − floor),
   * `load` = the rest (queueing, sharing steps with other requests, router and network time).
   */
  excess_share: { cache_miss: number; load: number } | null;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const round2 = (v: number): number => Math.round(v * 100) / 100;

/**
 * `records` in wall ms (converted with `timeScale`), `hitsByIndex` the ideal hits by request index
 * (IdealPrefixResult.hitsByIndex). Undefined when no request can be compared.
 */
export function floorEvidence(
  records: readonly RequestRecord[],
  hitsByIndex: ReadonlyMap<number, number>,
  timeScale: number,
  idle: IdleReplicaTtft,
): TtftFloorEvidence | undefined {
  const ttfts: number[] = [];
  const floors: number[] = [];
  let excess = 0;
  let missed = 0;
  for (const r of records) {
    const hit = hitsByIndex.get(r.index);
    if (!r.success || !Number.isFinite(r.ttftMs) || hit === undefined || r.promptTokens < 1) continue;
    const ttft = r.ttftMs / timeScale;
    const floor = idle.ttftMs(r.promptTokens, hit);
    ttfts.push(ttft);
    floors.push(floor);
    excess += ttft - floor;
    missed += idle.ttftMs(r.promptTokens, r.cachedTokens ?? 0) - floor;
  }
  if (ttfts.length === 0) return undefined;
  const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const p99 = (v: readonly number[]): number =>
    percentile(
      [...v].sort((a, b) => a - b),
      99,
    );
  return {
    requests: ttfts.length,
    ttft_mean_ms: round1(mean(ttfts)),
    ttft_p99_ms: round1(p99(ttfts)),
    floor_mean_ms: round1(mean(floors)),
    floor_p99_ms: round1(p99(floors)),
    excess_mean_ms: round1(excess / ttfts.length),
    excess_share:
      excess > 0 ? { cache_miss: round2(missed / excess), load: round2(1 - missed / excess) } : null,
  };
}
