/**
 * Envoy Gateway (gateway.envoyproxy.io/v1alpha1): BackendTrafficPolicy — its request timeout and
 * load-balancer type are applied; every other field is accepted and reported as not applied.
 * (EnvoyProxy describes how Envoy itself is deployed: it is listed among the ignored kinds.)
 */
import { z } from 'zod';
import { duration, group, resource } from './common.js';

const open = z.looseObject({});

export const policyTargetRef = z.object({
  group,
  kind: z.string(),
  name: z.string(),
  sectionName: z.string().optional(),
});
export type PolicyTargetRef = z.output<typeof policyTargetRef>;

export const LB_TYPES = ['ConsistentHash', 'LeastRequest', 'Random', 'RoundRobin'] as const;

export const backendTrafficPolicy = resource(
  z.object({
    targetRef: policyTargetRef.optional(),
    targetRefs: z.array(policyTargetRef).optional(),
    targetSelectors: z.array(open).optional(),
    loadBalancer: z
      .object({
        type: z.enum(LB_TYPES),
        consistentHash: open.optional(),
        slowStart: open.optional(),
        zoneAware: open.optional(),
        endpointOverride: open.optional(),
      })
      .optional(),
    timeout: z
      .object({
        tcp: z.object({ connectTimeout: duration.optional() }).optional(),
        http: z
          .object({
            requestTimeout: duration.optional(),
            connectionIdleTimeout: duration.optional(),
            maxConnectionDuration: duration.optional(),
          })
          .optional(),
      })
      .optional(),
    retry: open.optional(),
    proxyProtocol: open.optional(),
    tcpKeepalive: open.optional(),
    healthCheck: open.optional(),
    circuitBreaker: open.optional(),
    connection: open.optional(),
    dns: open.optional(),
    http2: open.optional(),
    mergeType: z.string().optional(),
    rateLimit: open.optional(),
    faultInjection: open.optional(),
    useClientProtocol: z.boolean().optional(),
    compression: z.array(z.unknown()).optional(),
    responseOverride: z.array(z.unknown()).optional(),
    httpUpgrade: z.array(z.unknown()).optional(),
    requestBuffer: open.optional(),
    telemetry: open.optional(),
  }),
);
export type BackendTrafficPolicy = z.output<typeof backendTrafficPolicy>;

/** Fields of a BackendTrafficPolicy spec that infergate does not apply. */
export const BTP_NOT_APPLIED = [
  'targetSelectors',
  'retry',
  'proxyProtocol',
  'tcpKeepalive',
  'healthCheck',
  'circuitBreaker',
  'connection',
  'dns',
  'http2',
  'mergeType',
  'rateLimit',
  'faultInjection',
  'useClientProtocol',
  'compression',
  'responseOverride',
  'httpUpgrade',
  'requestBuffer',
  'telemetry',
] as const;
