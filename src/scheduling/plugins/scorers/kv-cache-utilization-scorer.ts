/**
 * `kv-cache-utilization-scorer` (reference): more free KV cache, higher score — 1 − usage. Usage is
 * projected: the last scrape's utilisation plus the prompt tokens this gateway dispatched since
 * (minus what completed), over the server's KV capacity when it exports its cache config. An
 * endpoint without a KV reading gets the mean score of those with one (neutral), or 1 when none has.
 */

import type { SchedulingContext } from '../../framework/context.js';
import type { SchedulingEndpoint } from '../../framework/endpoint.js';
import { ParamReader } from '../../framework/params.js';
import type { Scorer } from '../../framework/types.js';

export const KV_CACHE_UTILIZATION_SCORER = 'kv-cache-utilization-scorer';

export class KvCacheUtilizationScorer implements Scorer {
  readonly kind = 'scorer';
  readonly type = KV_CACHE_UTILIZATION_SCORER;
  readonly category = 'distribution';

  constructor(readonly name: string) {}

  score(_ctx: SchedulingContext, candidates: readonly SchedulingEndpoint[], out: Float64Array): void {
    let sum = 0;
    let known = 0;
    for (let i = 0; i < candidates.length; i++) {
      const u = candidates[i]!.estKvUsage();
      if (u === undefined) out[i] = -1;
      else {
        out[i] = 1 - u;
        sum += 1 - u;
        known++;
      }
    }
    if (known === candidates.length) return;
    const neutral = known > 0 ? sum / known : 1;
    for (let i = 0; i < candidates.length; i++) if (out[i]! < 0) out[i] = neutral;
  }
}

export function createKvCacheUtilizationScorer(
  name: string,
  params: Readonly<Record<string, unknown>>,
): KvCacheUtilizationScorer {
  new ParamReader(KV_CACHE_UTILIZATION_SCORER, params).done();
  return new KvCacheUtilizationScorer(name);
}
