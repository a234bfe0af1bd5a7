/**
 * Istio (networking.istio.io) Gateway and VirtualService, and Alibaba Cloud ASM LLMRoute
 * (istio.alibabacloud.com), as far as HTTP routing goes. TCP/TLS routes and other fields Istio has
 * are accepted and reported as not applied.
 */
import { z } from 'zod';
import { Codes } from '../diagnostics.js';
import {
  duration,
  group,
  intIn,
  listOf,
  namespaceName,
  objectName,
  portNumber,
  resource,
  stringMap,
} from './common.js';

const open = z.looseObject({});

/** Istio StringMatch: exactly one of exact, prefix, regex. */
export const stringMatch = z
  .object({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() })
  .superRefine((v, ctx) => {
    const n =
      (v.exact !== undefined ? 1 : 0) + (v.prefix !== undefined ? 1 : 0) + (v.regex !== undefined ? 1 : 0);
    if (n !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          n === 0
            ? 'a string match needs one of "exact", "prefix" or "regex"'
            : 'give only one of "exact", "prefix" or "regex"',
        params: { code: Codes.INVALID_VALUE, fix: 'write e.g. `prefix: /v1`' },
      });
    }
  });
export type StringMatch = z.output<typeof stringMatch>;

export const istioGateway = resource(
  z.object({
    selector: stringMap.optional(),
    servers: listOf(
      z.object({
        port: z.object({
          number: portNumber,
          protocol: z.string(),
          name: z.string(),
          targetPort: z.int().optional(),
        }),
        hosts: z.array(z.string()).min(1),
        bind: z.string().optional(),
        tls: open.optional(),
        defaultEndpoint: z.string().optional(),
        name: z.string().optional(),
      }),
      1024,
      1,
    ),
  }),
);
export type IstioGateway = z.output<typeof istioGateway>;

export const istioDestination = z.object({
  host: z.string(),
  subset: z.string().optional(),
  port: z.object({ number: portNumber }).optional(),
});
export type IstioDestination = z.output<typeof istioDestination>;

const headerOps = z.object({
  set: stringMap.optional(),
  add: stringMap.optional(),
  remove: z.array(z.string()).optional(),
});

const percent = z.object({ value: z.number().min(0).max(100) });

export const istioHttpMatch = z.object({
  name: z.string().optional(),
  uri: stringMatch.optional(),
  scheme: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  headers: z.record(z.string(), stringMatch).optional(),
  port: z.int().optional(),
  sourceLabels: stringMap.optional(),
  gateways: z.array(z.string()).optional(),
  queryParams: z.record(z.string(), stringMatch).optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: z.record(z.string(), stringMatch).optional(),
  sourceNamespace: z.string().optional(),
  statPrefix: z.string().optional(),
});
export type IstioHttpMatch = z.output<typeof istioHttpMatch>;

export const istioHttpRoute = z.object({
  name: z.string().optional(),
  match: z.array(istioHttpMatch).optional(),
  route: z
    .array(
      z.object({
        destination: istioDestination,
        weight: intIn(0, 100, 'use a weight from 0 to 100').optional(),
        headers: open.optional(),
      }),
    )
    .optional(),
  redirect: open.optional(),
  directResponse: open.optional(),
  delegate: open.optional(),
  rewrite: z
    .object({
      uri: z.string().optional(),
      authority: z.string().optional(),
      uriRegexRewrite: open.optional(),
    })
    .optional(),
  timeout: duration.optional(),
  retries: open.optional(),
  fault: open.optional(),
  mirror: istioDestination.optional(),
  mirrors: z.array(z.object({ destination: istioDestination, percentage: percent.optional() })).optional(),
  mirrorPercentage: percent.optional(),
  mirrorPercent: intIn(0, 100).optional(),
  corsPolicy: open.optional(),
  headers: z.object({ request: headerOps.optional(), response: headerOps.optional() }).optional(),
});
export type IstioHttpRoute = z.output<typeof istioHttpRoute>;

export const virtualService = resource(
  z.object({
    hosts: z.array(z.string()).optional(),
    gateways: z.array(z.string()).optional(),
    http: z.array(istioHttpRoute).optional(),
    tls: z.array(z.unknown()).optional(),
    tcp: z.array(z.unknown()).optional(),
    exportTo: z.array(z.string()).optional(),
  }),
);
export type VirtualService = z.output<typeof virtualService>;

export const llmRoute = resource(
  z.object({
    host: z.string().optional(),
    gateways: z.array(z.string()).optional(),
    rules: z.array(
      z.object({
        name: z.string().optional(),
        matches: z
          .array(
            z.object({
              headers: z.record(z.string(), stringMatch).optional(),
              sourceLabels: stringMap.optional(),
              gateways: z.array(z.string()).optional(),
            }),
          )
          .optional(),
        backendRefs: z.array(
          z.object({
            providerHost: z.string().optional(),
            weight: intIn(0, 1_000_000).optional(),
            backendRef: z
              .object({
                group: group.optional(),
                kind: z.string().optional(),
                name: objectName,
                namespace: namespaceName.optional(),
                port: portNumber.optional(),
              })
              .optional(),
          }),
        ),
      }),
    ),
  }),
);
export type LLMRoute = z.output<typeof llmRoute>;
