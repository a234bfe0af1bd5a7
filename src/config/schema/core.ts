/**
 * Core Kubernetes kinds that routing reads: Service (validated strictly: routes point at it), and the
 * endpoint sources Pod and EndpointSlice (only the fields that locate an endpoint are checked; a Pod
 * has far more fields than routing needs, so its envelope is open).
 */
import { z } from 'zod';
import { Codes } from '../diagnostics.js';
import { listOf, objectMeta, portNumber, resource, stringMap } from './common.js';

const open = z.looseObject({});

const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A container port number or name (Kubernetes IntOrString). */
export const intOrString = z.unknown().transform((v, ctx): number | string => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  if (typeof v === 'string' && v.length > 0 && v.length <= 15 && IANA_SVC_NAME.test(v)) return v;
  ctx.addIssue({
    code: 'custom',
    message: `${JSON.stringify(v)} is neither a port number (1–65535) nor a port name`,
    params: {
      code: Codes.INVALID_VALUE,
      fix: 'use the container port number, e.g. 8000, or its name, e.g. "http"',
    },
  });
  return z.NEVER;
});

export const servicePort = z.object({
  name: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  appProtocol: z.string().optional(),
  port: portNumber,
  targetPort: intOrString.optional(),
  nodePort: z.int().optional(),
});

export const service = resource(
  z.object({
    selector: stringMap.optional(),
    ports: listOf(servicePort, 1024).optional(),
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
    clusterIP: z.string().optional(),
    clusterIPs: z.array(z.string()).optional(),
    externalIPs: z.array(z.string()).optional(),
    sessionAffinity: z.string().optional(),
    sessionAffinityConfig: open.optional(),
    loadBalancerIP: z.string().optional(),
    loadBalancerSourceRanges: z.array(z.string()).optional(),
    loadBalancerClass: z.string().optional(),
    allocateLoadBalancerNodePorts: z.boolean().optional(),
    externalName: z.string().optional(),
    externalTrafficPolicy: z.string().optional(),
    internalTrafficPolicy: z.string().optional(),
    healthCheckNodePort: z.int().optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    ipFamilies: z.array(z.string()).optional(),
    ipFamilyPolicy: z.string().optional(),
    trafficDistribution: z.string().optional(),
  }),
);
export type Service = z.output<typeof service>;

/** A Pod as an endpoint: labels, addresses, readiness and the container ports (for hostPort remapping). */
export const pod = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: objectMeta,
  spec: z
    .looseObject({
      containers: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            ports: z
              .array(
                z.looseObject({
                  containerPort: portNumber,
                  hostPort: portNumber.optional(),
                  name: z.string().optional(),
                  protocol: z.string().optional(),
                  hostIP: z.string().optional(),
                }),
              )
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      podIP: z.string().optional(),
      podIPs: z.array(z.looseObject({ ip: z.string() })).optional(),
      hostIP: z.string().optional(),
      phase: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});
export type Pod = z.output<typeof pod>;

export const endpointSlice = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: objectMeta,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()).min(1).max(100),
        conditions: z
          .object({
            ready: z.boolean().optional(),
            serving: z.boolean().optional(),
            terminating: z.boolean().optional(),
          })
          .optional(),
        hostname: z.string().optional(),
        nodeName: z.string().optional(),
        targetRef: open.optional(),
        zone: z.string().optional(),
        hints: open.optional(),
        deprecatedTopology: stringMap.optional(),
      }),
    )
    .nullable()
    .optional(),
  ports: z
    .array(
      z.object({
        name: z.string().optional(),
        port: portNumber.optional(),
        protocol: z.string().optional(),
        appProtocol: z.string().optional(),
      }),
    )
    .nullable()
    .optional(),
});
export type EndpointSlice = z.output<typeof endpointSlice>;
