/**
 * Envoy Gateway BackendTrafficPolicy: `timeout.http.requestTimeout` and `loadBalancer.type` are
 * applied to the Gateway's listeners or to the HTTPRoute's rules it targets (a route's own
 * `timeouts.request` wins over a policy). Like Envoy Gateway, when several policies target the same
 * object the oldest wins. Everything else in the policy is accepted and reported as not applied.
 */
import { parseDuration } from '../../util/duration.js';
import { Codes, whereOf } from '../diagnostics.js';
import { keyOf } from '../objects.js';
import type { ServiceLbPolicy } from '../plan.js';
import { BTP_NOT_APPLIED, type PolicyTargetRef } from '../schema/envoy-gateway.js';
import { GATEWAY_GROUP, reportMissing } from './backends.js';
import { type BuildContext, gatewayKey } from './context.js';
import { olderObjectFirst } from './matching.js';

const LB: Readonly<Record<string, ServiceLbPolicy>> = {
  RoundRobin: 'round-robin',
  LeastRequest: 'least-request',
  Random: 'random',
};

export function applyBackendTrafficPolicies(ctx: BuildContext): void {
  const { sink, store } = ctx;
  const policies = [...store.list('BackendTrafficPolicy')].sort(olderObjectFirst);
  const claimed = new Map<string, string>(); // target → policy name that won it
  for (const policy of policies) {
    const where = whereOf(policy.src);
    const spec = policy.body.spec;
    const ns = policy.meta.namespace;
    if (spec.targetRef && spec.targetRefs) {
      sink.error(
        where,
        Codes.INVALID_VALUE,
        'spec.targetRefs',
        'give either targetRef or targetRefs, not both',
        'move targetRef into the targetRefs list',
      );
      continue;
    }
    const targets: { ref: PolicyTargetRef; path: string }[] = spec.targetRefs
      ? spec.targetRefs.map((ref, i) => ({ ref, path: `spec.targetRefs[${i}]` }))
      : spec.targetRef
        ? [{ ref: spec.targetRef, path: 'spec.targetRef' }]
        : [];
    if (targets.length === 0 && !spec.targetSelectors) {
      sink.error(
        where,
        Codes.MISSING_FIELD,
        'spec.targetRefs',
        'the policy targets nothing',
        'add targetRefs with the Gateway or HTTPRoute it applies to',
      );
      continue;
    }
    const timeout = spec.timeout?.http?.requestTimeout;
    const timeoutMs = timeout !== undefined ? parseDuration(timeout) : undefined;
    let lb: ServiceLbPolicy | undefined;
    if (spec.loadBalancer) {
      lb = LB[spec.loadBalancer.type];
      if (!lb) {
        sink.info(
          where,
          Codes.NOT_APPLIED,
          'spec.loadBalancer.type',
          `${spec.loadBalancer.type} load balancing is not supported for Services; they keep infergate's default balancer`,
        );
      }
      for (const f of ['consistentHash', 'slowStart', 'zoneAware', 'endpointOverride'] as const) {
        if (spec.loadBalancer[f] !== undefined)
          sink.info(
            where,
            Codes.NOT_APPLIED,
            `spec.loadBalancer.${f}`,
            `loadBalancer.${f} is not applied by infergate`,
          );
      }
    }
    const unapplied: string[] = BTP_NOT_APPLIED.filter((f) => spec[f] !== undefined).map((f) => `spec.${f}`);
    if (spec.timeout?.tcp) unapplied.push('spec.timeout.tcp');
    if (spec.timeout?.http?.connectionIdleTimeout !== undefined)
      unapplied.push('spec.timeout.http.connectionIdleTimeout');
    if (spec.timeout?.http?.maxConnectionDuration !== undefined)
      unapplied.push('spec.timeout.http.maxConnectionDuration');
    if (unapplied.length) {
      sink.info(
        where,
        Codes.NOT_APPLIED,
        '',
        `${unapplied.join(', ')} ${unapplied.length === 1 ? 'is' : 'are'} accepted but not applied by infergate`,
      );
    }
    for (const { ref, path } of targets) {
      if (ref.group !== GATEWAY_GROUP || (ref.kind !== 'Gateway' && ref.kind !== 'HTTPRoute')) {
        sink.unresolved(
          where,
          Codes.INVALID_REF_KIND,
          `${path}.kind`,
          `a BackendTrafficPolicy target of kind ${ref.kind} (group "${ref.group}") is not applied`,
          `target a Gateway or an HTTPRoute (group ${GATEWAY_GROUP})`,
        );
        continue;
      }
      const targetKey = `${ref.kind} ${keyOf(ns, ref.name)}${ref.sectionName ? `/${ref.sectionName}` : ''}`;
      const holder = claimed.get(targetKey);
      if (holder) {
        sink.warn(
          where,
          Codes.NOT_APPLIED,
          path,
          `${ref.kind} ${keyOf(ns, ref.name)} is already targeted by the older BackendTrafficPolicy ${holder}; this one is not applied to it`,
          'merge the two policies',
        );
        continue;
      }
      if (ref.kind === 'Gateway') {
        if (!store.get('Gateway', keyOf(ns, ref.name))) {
          if (!store.isInvalid('Gateway', keyOf(ns, ref.name))) {
            reportMissing(
              ctx,
              { where, path, group: 'gateway.envoyproxy.io', kind: 'BackendTrafficPolicy', namespace: ns },
              `${path}.name`,
              'Gateway',
              ns,
              ref.name,
            );
          }
          continue;
        }
        claimed.set(targetKey, policy.meta.name);
        for (const l of ctx.listenersByGateway.get(gatewayKey('Gateway', ns, ref.name)) ?? []) {
          if (ref.sectionName !== undefined && l.name !== ref.sectionName) continue;
          if (timeoutMs !== undefined) l.requestTimeoutMs = timeoutMs;
          if (lb) l.loadBalancer = lb;
        }
      } else {
        const route = ctx.routes.find(
          (r) => r.kind === 'HTTPRoute' && r.namespace === ns && r.name === ref.name,
        );
        if (!route) {
          if (!store.isInvalid('HTTPRoute', keyOf(ns, ref.name))) {
            sink.unresolved(
              where,
              Codes.REF_NOT_FOUND,
              `${path}.name`,
              `HTTPRoute ${keyOf(ns, ref.name)} is not defined in the manifests given`,
              'add the HTTPRoute to the files given with -f, or fix the name',
            );
          }
          continue;
        }
        claimed.set(targetKey, policy.meta.name);
        for (const rule of route.rules) {
          if (timeoutMs !== undefined && rule.timeouts.requestMs === undefined)
            rule.timeouts.requestMs = timeoutMs;
        }
        if (lb) route.loadBalancer = lb;
      }
    }
  }
}
