/**
 * `saturation-filter`: drops saturated endpoints (waiting queue ≥ queueDepthThreshold, KV ≥
 * kvCacheUtilThreshold, or metrics older than metricsStalenessThreshold — see ../../saturation.ts)
 * while at least one unsaturated endpoint remains; when all are saturated it keeps them all (the
 * admission controller has already decided the request may go). Its thresholds are also the pool's
 * admission thresholds (shed / queue at the gateway) when the profile in use contains it.
 * Thresholds not set in its parameters are the pool's defaults (the registry's `saturation` option,
 * itself defaulting to the reference values).
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Filter, PluginHost } from '../../framework/types.js';
import { DEFAULT_SATURATION, isSaturated, type SaturationConfig } from '../../saturation.js';

export const SATURATION_FILTER = 'saturation-filter';

export class SaturationFilter implements Filter {
  readonly kind = 'filter';
  readonly type = SATURATION_FILTER;
  /** Thresholds in force: the explicit parameters over the pool's defaults (reference defaults before attach). */
  config: SaturationConfig;

  constructor(
    readonly name: string,
    /** Only the thresholds the config set. */
    readonly explicit: Partial<SaturationConfig>,
  ) {
    this.config = { ...DEFAULT_SATURATION, ...explicit };
  }

  attach(host: PluginHost): void {
    this.config = { ...host.saturation, ...this.explicit };
  }

  filter<E extends SchedulingEndpoint>(ctx: SchedulingContext, candidates: readonly E[]): readonly E[] {
    let out: E[] | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const ep = candidates[i]!;
      const sat = isSaturated(ep, ctx.now, this.config);
      if (sat && !out) out = candidates.slice(0, i);
      else if (!sat && out) out.push(ep);
    }
    if (!out) return candidates;
    return out.length > 0 ? out : candidates;
  }
}

/** Reads the saturation thresholds (reference parameter names), defaults as the reference detector. */
export function readSaturationParams(p: ParamReader): SaturationConfig {
  return {
    queueDepthThreshold: p.int('queueDepthThreshold', DEFAULT_SATURATION.queueDepthThreshold, { min: 1 }),
    kvCacheUtilThreshold: p.float('kvCacheUtilThreshold', DEFAULT_SATURATION.kvCacheUtilThreshold, {
      min: 0.01,
      max: 1,
    }),
    metricsStalenessThresholdMs: p.durationMs(
      'metricsStalenessThreshold',
      DEFAULT_SATURATION.metricsStalenessThresholdMs,
      { min: 1 },
    ),
  };
}

const PARAM_OF: Readonly<Record<keyof SaturationConfig, string>> = {
  queueDepthThreshold: 'queueDepthThreshold',
  kvCacheUtilThreshold: 'kvCacheUtilThreshold',
  metricsStalenessThresholdMs: 'metricsStalenessThreshold',
};

export function createSaturationFilter(
  name: string,
  params: Readonly<Record<string, unknown>>,
): SaturationFilter {
  const p = new ParamReader(SATURATION_FILTER, params);
  const config = readSaturationParams(p);
  p.done();
  const explicit: Partial<Record<keyof SaturationConfig, number>> = {};
  for (const key of Object.keys(PARAM_OF) as (keyof SaturationConfig)[]) {
    if (params[PARAM_OF[key]] !== undefined) explicit[key] = config[key];
  }
  return new SaturationFilter(name, explicit);
}
