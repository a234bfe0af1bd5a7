/**
 * Gateway API (gateway.networking.k8s.io): GatewayClass, Gateway, HTTPRoute, ReferenceGrant.
 * Field names, limits and enums follow the upstream v1 CRDs; fields infergate does not act on are
 * accepted (the plan builder mentions them where that could surprise).
 */
import { z } from 'zod';
import {
  duration,
  group,
  hostname,
  intIn,
  listOf,
  namespaceName,
  objectName,
  portNumber,
  resource,
  sectionName,
  stringMap,
  text,
} from './common.js';

const open = z.looseObject({});

export const labelSelector = z.object({
  matchLabels: stringMap.optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const localRef = z.object({ group, kind: z.string(), name: objectName });

export const gatewayClass = resource(
  z.object({
    controllerName: z.string(),
    parametersRef: z
      .object({ group, kind: z.string(), name: z.string(), namespace: namespaceName.optional() })
      .optional(),
    description: z.string().optional(),
  }),
);

export const listener = z.object({
  name: sectionName,
  hostname: hostname.optional(),
  port: portNumber,
  protocol: z.string(),
  tls: open.optional(),
  allowedRoutes: z
    .object({
      namespaces: z
        .object({
          from: z.enum(['All', 'Same', 'Selector']).optional(),
          selector: labelSelector.optional(),
        })
        .optional(),
      kinds: z.array(z.object({ group: group.optional(), kind: z.string() })).optional(),
    })
    .optional(),
});
export type Listener = z.output<typeof listener>;

export const gateway = resource(
  z.object({
    gatewayClassName: objectName,
    listeners: listOf(listener, 64, 1),
    addresses: z.array(z.object({ type: z.string().optional(), value: z.string() })).optional(),
    infrastructure: z
      .object({
        labels: stringMap.optional(),
        annotations: stringMap.optional(),
        parametersRef: localRef.optional(),
      })
      .optional(),
    backendTLS: open.optional(),
    allowedListeners: open.optional(),
    tls: open.optional(),
  }),
);
export type Gateway = z.output<typeof gateway>;

export const parentRef = z.object({
  group: group.optional(),
  kind: z.string().optional(),
  namespace: namespaceName.optional(),
  name: objectName,
  sectionName: sectionName.optional(),
  port: portNumber.optional(),
});
export type ParentRef = z.output<typeof parentRef>;

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const headerName = z.string().superRefine((v, ctx) => {
  if (!HEADER_NAME.test(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a valid HTTP header name`,
      params: { code: 'INVALID_FORMAT', fix: 'use letters, digits and "-" only, e.g. "x-model-version"' },
    });
  }
});

const headerMatch = z.object({
  type: z.enum(['Exact', 'RegularExpression']).optional(),
  name: headerName,
  value: text(4096, 0),
});

export const httpRouteMatch = z.object({
  path: z
    .object({
      type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(),
      value: text(1024).optional(),
    })
    .optional(),
  headers: listOf(headerMatch, 16).optional(),
  queryParams: listOf(
    z.object({
      type: z.enum(['Exact', 'RegularExpression']).optional(),
      name: z.string(),
      value: text(1024),
    }),
    16,
  ).optional(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
});
export type HTTPRouteMatch = z.output<typeof httpRouteMatch>;

export const backendObjectRef = z.object({
  group: group.optional(),
  kind: z.string().optional(),
  name: objectName,
  namespace: namespaceName.optional(),
  port: portNumber.optional(),
});
export type BackendObjectRef = z.output<typeof backendObjectRef>;

const headerModifier = z.object({
  set: listOf(z.object({ name: headerName, value: text(4096) }), 16).optional(),
  add: listOf(z.object({ name: headerName, value: text(4096) }), 16).optional(),
  remove: listOf(headerName, 16).optional(),
});
export type HeaderModifier = z.output<typeof headerModifier>;

export const FILTER_TYPES = [
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestMirror',
  'RequestRedirect',
  'URLRewrite',
  'ExtensionRef',
  'CORS',
  'ExternalAuth',
] as const;

/** Filter type → the field that carries its configuration. */
export const FILTER_FIELD: Readonly<Record<(typeof FILTER_TYPES)[number], string>> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
};

export const httpRouteFilter = z.object({
  type: z.enum(FILTER_TYPES),
  requestHeaderModifier: headerModifier.optional(),
  responseHeaderModifier: headerModifier.optional(),
  requestMirror: z
    .object({
      backendRef: backendObjectRef,
      percent: intIn(0, 100, 'use a percentage from 0 to 100').optional(),
      fraction: z.object({ numerator: z.int(), denominator: z.int().optional() }).optional(),
    })
    .optional(),
  requestRedirect: open.optional(),
  urlRewrite: z
    .object({
      hostname: hostname.optional(),
      path: z
        .object({
          type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
          replaceFullPath: text(1024).optional(),
          replacePrefixMatch: text(1024).optional(),
        })
        .optional(),
    })
    .optional(),
  extensionRef: localRef.optional(),
  cors: open.optional(),
  externalAuth: open.optional(),
});
export type HTTPRouteFilter = z.output<typeof httpRouteFilter>;

export const httpBackendRef = backendObjectRef.extend({
  weight: intIn(0, 1_000_000, 'use a weight from 0 to 1000000').optional(),
  filters: listOf(httpRouteFilter, 16).optional(),
});
export type HTTPBackendRef = z.output<typeof httpBackendRef>;

export const httpRouteRule = z.object({
  name: sectionName.optional(),
  matches: listOf(httpRouteMatch, 64).optional(),
  filters: listOf(httpRouteFilter, 16).optional(),
  backendRefs: listOf(httpBackendRef, 16).optional(),
  timeouts: z.object({ request: duration.optional(), backendRequest: duration.optional() }).optional(),
  retry: open.optional(),
  sessionPersistence: open.optional(),
});
export type HTTPRouteRule = z.output<typeof httpRouteRule>;

export const httpRoute = resource(
  z.object({
    parentRefs: listOf(parentRef, 32).optional(),
    hostnames: listOf(hostname, 16).optional(),
    rules: listOf(httpRouteRule, 16).optional(),
    useDefaultGateways: z.string().optional(),
  }),
);
export type HTTPRoute = z.output<typeof httpRoute>;

export const referenceGrant = resource(
  z.object({
    from: listOf(z.object({ group, kind: z.string(), namespace: namespaceName }), 16, 1),
    to: listOf(z.object({ group, kind: z.string(), name: objectName.optional() }), 16, 1),
  }),
);
export type ReferenceGrant = z.output<typeof referenceGrant>;
