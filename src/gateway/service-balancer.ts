/**
 * Balancing across the ready endpoints of one Service port, as the Kubernetes/Envoy data path does:
 * - `least-request`: power of two choices (two distinct random endpoints, the one with fewer
 *   requests in flight wins; Envoy's default for equal weights). Envoy Gateway's default policy.
 * - `round-robin`: each endpoint in turn.
 * - `random`: uniform.
 * Ejected endpoints (outlier detection) and endpoints already tried by this request are skipped; when
 * every endpoint is ejected, all of them are used again (Envoy's panic mode).
 */
import type { ServiceLbPolicy } from '../config/plan.js';
import type { Rng } from '../util/rng.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

export class ServiceTarget {
  private rr = 0;

  constructor(
    /** `namespace/name:port`. */
    readonly key: string,
    /** Metrics/log label: `Service namespace/name:port`. */
    readonly label: string,
    /** Ready endpoints of the Service port (swapped by `setEndpoints` on pod churn). */
    private endpointList: readonly UpstreamEndpoint[],
  ) {}

  get endpoints(): readonly UpstreamEndpoint[] {
    return this.endpointList;
  }

  /** New ready endpoints (an attempt in progress keeps the endpoint it picked). */
  setEndpoints(endpoints: readonly UpstreamEndpoint[]): void {
    this.endpointList = endpoints;
  }

  /** An endpoint for the next attempt, or undefined when none is left (`tried` excluded). */
  pick(
    policy: ServiceLbPolicy,
    rng: Rng,
    now: number,
    tried: readonly UpstreamEndpoint[] | undefined,
  ): UpstreamEndpoint | undefined {
    const all = this.endpoints;
    const n = all.length;
    if (n === 0) return undefined;
    // Fast path: one attempt so far, nothing ejected → choose among all without building a list.
    if (tried === undefined && !anyEjected(all, now)) return this.choose(policy, rng, all);
    const candidates: UpstreamEndpoint[] = [];
    for (let i = 0; i < n; i++) {
      const ep = all[i]!;
      if (!ep.isEjected(now) && (tried === undefined || !tried.includes(ep))) candidates.push(ep);
    }
    if (candidates.length === 0) {
      // Panic: every remaining endpoint is ejected; use them anyway.
      for (let i = 0; i < n; i++) {
        const ep = all[i]!;
        if (tried === undefined || !tried.includes(ep)) candidates.push(ep);
      }
      if (candidates.length === 0) return undefined;
    }
    return this.choose(policy, rng, candidates);
  }

  private choose(policy: ServiceLbPolicy, rng: Rng, list: readonly UpstreamEndpoint[]): UpstreamEndpoint {
    const n = list.length;
    if (n === 1) return list[0]!;
    switch (policy) {
      case 'round-robin': {
        const ep = list[this.rr % n]!;
        this.rr = (this.rr + 1) % 1_000_000_007;
        return ep;
      }
      case 'random':
        return list[Math.floor(rng.next() * n)]!;
      default: {
        const i = Math.floor(rng.next() * n);
        let j = Math.floor(rng.next() * (n - 1));
        if (j >= i) j++;
        const a = list[i]!;
        const b = list[j]!;
        return b.inFlight < a.inFlight ? b : a;
      }
    }
  }
}

function anyEjected(list: readonly UpstreamEndpoint[], now: number): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.ejectedUntil > now) return true;
  return false;
}
