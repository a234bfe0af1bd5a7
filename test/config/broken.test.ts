/**
 * Broken configurations, one per row: each asserts the exact severity, code, field path and message
 * (and the fix where it matters). Rows marked `strictOnly` are what a cluster would accept with a
 * False condition: a warning by default (the plan is still built), an error under --strict.
 */
import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostic, loadPlanFromText } from '../../src/config/index.js';

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: cls
  listeners:
  - name: http
    port: 80
    protocol: HTTP
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector:
    app: model
  ports:
  - port: 8000
`;

const POOL = `apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: pool
spec:
  targetPortNumber: 8000
  selector:
    app: model
`;

/** An HTTPRoute on gw with one rule whose body is `rule` (YAML lines indented for a rule). */
function route(rule: string, spec = ''): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs:
  - name: gw
${spec}  rules:
  - ${rule.trim().split('\n').join('\n    ')}
`;
}

function model(spec: string, name = 'm', apiVersion = 'inference.networking.x-k8s.io/v1alpha2'): string {
  return `apiVersion: ${apiVersion}
kind: InferenceModel
metadata:
  name: ${name}
spec:
  ${spec.trim().split('\n').join('\n  ')}
`;
}

const docs = (...parts: string[]) => parts.join('---\n');

interface Expected {
  severity: Diagnostic['severity'];
  code: string;
  path: string;
  message: string;
  object?: string;
  doc?: number;
  fix?: string;
  line?: number;
  column?: number;
}

interface Case {
  name: string;
  yaml: string;
  expect: Expected;
  /** A reference problem: warning by default (plan built), error under --strict. */
  strictOnly?: boolean;
}

const tooManyTargets = Array.from({ length: 11 }, (_, i) => `- name: t${i}\n  weight: 1`).join('\n');
const longName = 'x'.repeat(257);

const cases: Case[] = [
  {
    name: 'unknown field with a suggestion',
    yaml: docs(GATEWAY, SERVICE, route('backendRef:\n- name: svc\n  port: 8000')),
    expect: {
      severity: 'error',
      code: 'UNKNOWN_FIELD',
      object: 'HTTPRoute/r',
      path: 'spec.rules[0].backendRef',
      message: 'unknown field "backendRef"',
      fix: 'did you mean "backendRefs"?',
    },
  },
  {
    name: 'unknown field without a close match lists the allowed fields',
    yaml: POOL.replace('  targetPortNumber: 8000', '  targetPortNumber: 8000\n  replicas: 3'),
    expect: {
      severity: 'error',
      code: 'UNKNOWN_FIELD',
      path: 'spec.replicas',
      message: 'unknown field "replicas"',
      fix: 'remove it; the fields allowed here are "selector", "targetPortNumber" or "extensionRef"',
    },
  },
  {
    name: 'unknown metadata field',
    yaml: SERVICE.replace('  name: svc', '  name: svc\n  lables:\n    a: b'),
    expect: {
      severity: 'error',
      code: 'UNKNOWN_FIELD',
      path: 'metadata.lables',
      message: 'unknown field "lables"',
      fix: 'did you mean "labels"?',
    },
  },
  {
    name: 'wrong type: a quoted port',
    yaml: GATEWAY.replace('port: 80', 'port: "80"'),
    expect: {
      severity: 'error',
      code: 'WRONG_TYPE',
      object: 'Gateway/gw',
      path: 'spec.listeners[0].port',
      message: 'expected a number, got the string "80"',
      fix: 'write 80 without quotes',
    },
  },
  {
    name: 'wrong type: a string where a list is expected',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000', '  hostnames: example.com\n'),
    ),
    expect: {
      severity: 'error',
      code: 'WRONG_TYPE',
      path: 'spec.hostnames',
      message: 'expected a list, got the string "example.com"',
      fix: 'write a list here',
    },
  },
  {
    name: 'missing required field',
    yaml: docs(POOL, model('modelName: llama')),
    expect: {
      severity: 'error',
      code: 'MISSING_FIELD',
      object: 'InferenceModel/m',
      path: 'spec.poolRef',
      message: 'required field is missing',
      fix: 'add "poolRef" (a mapping (key: value))',
    },
  },
  {
    name: 'missing metadata.name',
    yaml: SERVICE.replace('  name: svc\n', '  labels:\n    a: b\n'),
    expect: {
      severity: 'error',
      code: 'MISSING_FIELD',
      path: 'metadata.name',
      message: 'required field is missing',
    },
  },
  {
    name: 'invalid object name',
    yaml: SERVICE.replace('name: svc', 'name: My_Service'),
    expect: {
      severity: 'error',
      code: 'INVALID_NAME',
      path: 'metadata.name',
      message:
        '"My_Service" is not a valid Service name (lowercase letters, digits and "-", starting with a letter)',
    },
  },
  {
    name: 'listener port out of range',
    yaml: GATEWAY.replace('port: 80', 'port: 70000'),
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'spec.listeners[0].port',
      message: 'must be between 1 and 65535 (got 70000)',
      fix: 'use a port number from 1 to 65535',
    },
  },
  {
    name: 'backendRef port 0',
    yaml: docs(GATEWAY, SERVICE, route('backendRefs:\n- name: svc\n  port: 0')),
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'spec.rules[0].backendRefs[0].port',
      message: 'must be between 1 and 65535 (got 0)',
    },
  },
  {
    name: 'bad duration',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000\ntimeouts:\n  request: 10 seconds'),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_DURATION',
      path: 'spec.rules[0].timeouts.request',
      message: '"10 seconds" is not a duration',
      fix: 'write a number with a unit h, m, s or ms, e.g. "30s", "1h30m" or "500ms"',
    },
  },
  {
    name: 'backendRequest longer than request',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000\ntimeouts:\n  request: 10s\n  backendRequest: 1m'),
    ),
    expect: {
      severity: 'error',
      code: 'TIMEOUT_ORDER',
      path: 'spec.rules[0].timeouts.backendRequest',
      message: 'backendRequest (1m) is longer than the whole request timeout (10s)',
    },
  },
  {
    name: 'regular expression that does not compile',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'matches:\n- path:\n    type: RegularExpression\n    value: /v1/(chat\nbackendRefs:\n- name: svc\n  port: 8000',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_REGEX',
      path: 'spec.rules[0].matches[0].path.value',
      message: 'the regular expression "/v1/(chat" does not compile: Unterminated group',
    },
  },
  {
    name: 'Exact path without a leading slash',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'matches:\n- path:\n    type: Exact\n    value: v1/models\nbackendRefs:\n- name: svc\n  port: 8000',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_PATH',
      path: 'spec.rules[0].matches[0].path.value',
      message: 'path "v1/models" must start with "/"',
      fix: 'write "/v1/models"',
    },
  },
  {
    name: 'path with a double slash',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route('matches:\n- path:\n    value: /v1//chat\nbackendRefs:\n- name: svc\n  port: 8000'),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_PATH',
      path: 'spec.rules[0].matches[0].path.value',
      message: 'path "/v1//chat" must not contain "//"',
    },
  },
  {
    name: 'invalid method',
    yaml: docs(GATEWAY, SERVICE, route('matches:\n- method: FETCH\nbackendRefs:\n- name: svc\n  port: 8000')),
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.rules[0].matches[0].method',
      message:
        'the string "FETCH" is not one of "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE" or "PATCH"',
    },
  },
  {
    name: 'the same header matched twice',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'matches:\n- headers:\n  - name: x-team\n    value: a\n  - name: X-Team\n    value: b\nbackendRefs:\n- name: svc\n  port: 8000',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'DUPLICATE_NAME',
      path: 'spec.rules[0].matches[0].headers[1].name',
      message: 'header "X-Team" is already matched by headers[0]',
    },
  },
  {
    name: 'mirror percent above 100',
    yaml: docs(
      GATEWAY,
      SERVICE,
      POOL,
      route(
        'backendRefs:\n- group: inference.networking.x-k8s.io\n  kind: InferencePool\n  name: pool\nfilters:\n- type: RequestMirror\n  requestMirror:\n    backendRef:\n      name: svc\n      port: 8000\n    percent: 150',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'spec.rules[0].filters[0].requestMirror.percent',
      message: 'must be between 0 and 100 (got 150)',
      fix: 'use a percentage from 0 to 100',
    },
  },
  {
    name: 'mirror fraction with denominator 0',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'backendRefs:\n- name: svc\n  port: 8000\nfilters:\n- type: RequestMirror\n  requestMirror:\n    backendRef:\n      name: svc\n      port: 8000\n    fraction:\n      numerator: 1\n      denominator: 0',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_FRACTION',
      path: 'spec.rules[0].filters[0].requestMirror.fraction.denominator',
      message: 'denominator must be at least 1 (got 0)',
    },
  },
  {
    name: 'mirror fraction above 1',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'backendRefs:\n- name: svc\n  port: 8000\nfilters:\n- type: RequestMirror\n  requestMirror:\n    backendRef:\n      name: svc\n      port: 8000\n    fraction:\n      numerator: 3\n      denominator: 2',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_FRACTION',
      path: 'spec.rules[0].filters[0].requestMirror.fraction.numerator',
      message: 'numerator 3 is larger than the denominator 2',
    },
  },
  {
    name: 'filter type without its field, with another filter field',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'backendRefs:\n- name: svc\n  port: 8000\nfilters:\n- type: RequestMirror\n  urlRewrite:\n    hostname: example.com',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'FILTER_MISMATCH',
      path: 'spec.rules[0].filters[0].requestMirror',
      message: 'a RequestMirror filter needs its "requestMirror" field',
    },
  },
  {
    name: 'ReplacePrefixMatch with an Exact match',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route(
        'matches:\n- path:\n    type: Exact\n    value: /v1\nbackendRefs:\n- name: svc\n  port: 8000\nfilters:\n- type: URLRewrite\n  urlRewrite:\n    path:\n      type: ReplacePrefixMatch\n      replacePrefixMatch: /v2',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'FILTER_MISMATCH',
      path: 'spec.rules[0].filters[0].urlRewrite.path',
      message: 'ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix',
    },
  },
  {
    name: 'negative backend weight',
    yaml: docs(GATEWAY, SERVICE, route('backendRefs:\n- name: svc\n  port: 8000\n  weight: -1')),
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'spec.rules[0].backendRefs[0].weight',
      message: 'must be between 0 and 1000000 (got -1)',
    },
  },
  {
    name: 'target model weights on some but not all',
    yaml: docs(
      POOL,
      model(
        'modelName: llama\npoolRef:\n  name: pool\ntargetModels:\n- name: llama-a\n  weight: 90\n- name: llama-b',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'MIXED_WEIGHTS',
      path: 'spec.targetModels',
      message: 'weights are set on 1 of 2 target models (missing on targetModels[1])',
      fix: 'set a weight on every target model, or on none for an equal split',
    },
  },
  {
    name: 'more than 10 target models',
    yaml: docs(POOL, model(`modelName: llama\npoolRef:\n  name: pool\ntargetModels:\n${tooManyTargets}`)),
    expect: {
      severity: 'error',
      code: 'TOO_MANY_ITEMS',
      path: 'spec.targetModels',
      message: 'has 11 items; at most 10 are allowed',
      fix: 'remove 1 of them',
    },
  },
  {
    name: 'modelName longer than 256 characters',
    yaml: docs(POOL, model(`modelName: ${longName}\npoolRef:\n  name: pool`)),
    expect: {
      severity: 'error',
      code: 'TOO_LONG',
      path: 'spec.modelName',
      message: 'is 257 characters long; at most 256 are allowed',
    },
  },
  {
    name: 'criticality with an invalid value',
    yaml: docs(POOL, model('modelName: llama\ncriticality: critical\npoolRef:\n  name: pool')),
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.criticality',
      message: 'the string "critical" is not one of "Critical", "Standard" or "Sheddable"',
      fix: 'did you mean "Critical"?',
    },
  },
  {
    name: 'v1alpha1 criticality uses Default, not Standard',
    yaml: docs(
      POOL.replace('v1alpha2', 'v1alpha1'),
      model(
        'modelName: llama\ncriticality: Standard\npoolRef:\n  name: pool',
        'm',
        'inference.networking.x-k8s.io/v1alpha1',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.criticality',
      message: 'the string "Standard" is not one of "Critical", "Default" or "Sheddable"',
    },
  },
  {
    name: 'a modelName used twice in one pool: the older object wins',
    yaml: docs(
      POOL,
      model('modelName: llama\npoolRef:\n  name: pool', 'first'),
      model('modelName: llama\npoolRef:\n  name: pool', 'second'),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'DUPLICATE_MODEL_NAME',
      object: 'InferenceModel/second',
      doc: 3,
      path: 'spec.modelName',
      message:
        'modelName "llama" is already served in pool default/pool by the older InferenceModel first (broken.yaml#2); this one is not used',
    },
  },
  {
    name: 'InferenceModel whose pool does not exist',
    yaml: docs(POOL, model('modelName: llama\npoolRef:\n  name: pool-x')),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      path: 'spec.poolRef.name',
      message: 'InferencePool default/pool-x is not defined in the manifests given',
      fix: 'use one of "pool" (the pool must be in the same namespace)',
    },
  },
  {
    name: 'HTTPRoute parent Gateway missing',
    yaml: docs(SERVICE, route('backendRefs:\n- name: svc\n  port: 8000')),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      path: 'spec.parentRefs[0].name',
      message: 'Gateway default/gw is not defined in the manifests given',
    },
  },
  {
    name: 'parentRef sectionName that the Gateway does not have',
    yaml: docs(
      GATEWAY,
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000').replace(
        '  - name: gw\n',
        '  - name: gw\n    sectionName: https\n',
      ),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'SECTION_NOT_FOUND',
      path: 'spec.parentRefs[0].sectionName',
      message: 'Gateway default/gw has no listener named "https"',
      fix: 'use one of "http"',
    },
  },
  {
    name: 'backendRef to a missing Service',
    yaml: docs(GATEWAY, SERVICE, route('backendRefs:\n- name: svc2\n  port: 8000')),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      path: 'spec.rules[0].backendRefs[0].name',
      message: 'Service default/svc2 is not defined in the manifests given',
      fix: 'did you mean "svc"?',
    },
  },
  {
    name: 'backendRef to a port the Service does not have',
    yaml: docs(GATEWAY, SERVICE, route('backendRefs:\n- name: svc\n  port: 9000')),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      path: 'spec.rules[0].backendRefs[0].port',
      message: 'Service default/svc has no port 9000',
      fix: 'use one of its ports: 8000',
    },
  },
  {
    name: 'Service backendRef without a port',
    yaml: docs(GATEWAY, SERVICE, route('backendRefs:\n- name: svc')),
    expect: {
      severity: 'error',
      code: 'MISSING_FIELD',
      path: 'spec.rules[0].backendRefs[0].port',
      message: 'a backendRef to a Service needs a port',
    },
  },
  {
    name: 'backendRef to an unsupported kind',
    yaml: docs(GATEWAY, route('backendRefs:\n- group: gateway.envoyproxy.io\n  kind: Backend\n  name: b')),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'INVALID_REF_KIND',
      path: 'spec.rules[0].backendRefs[0].kind',
      message: 'a backendRef to Backend (group "gateway.envoyproxy.io") is not supported',
    },
  },
  {
    name: 'cross-namespace backendRef without a ReferenceGrant',
    yaml: docs(
      GATEWAY,
      SERVICE.replace('  name: svc', '  name: svc\n  namespace: models'),
      route('backendRefs:\n- name: svc\n  namespace: models\n  port: 8000'),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_PERMITTED',
      path: 'spec.rules[0].backendRefs[0].namespace',
      message:
        'Service models/svc is in another namespace and no ReferenceGrant in "models" allows HTTPRoutes from "default" to refer to it',
    },
  },
  {
    name: 'route in another namespace than a listener that accepts its own namespace only',
    yaml: docs(
      GATEWAY,
      SERVICE.replace('  name: svc', '  name: svc\n  namespace: team'),
      route('backendRefs:\n- name: svc\n  port: 8000')
        .replace('  name: r\n', '  name: r\n  namespace: team\n')
        .replace('  - name: gw\n', '  - name: gw\n    namespace: default\n'),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'NOT_ALLOWED_BY_LISTENER',
      object: 'HTTPRoute/r',
      path: 'spec.parentRefs[0]',
      message:
        'listener "http" of Gateway default/gw does not accept this route: it accepts routes from its own namespace "default" only (allowedRoutes.namespaces.from: Same)',
    },
  },
  {
    name: 'route hostnames that no listener hostname matches',
    yaml: docs(
      GATEWAY.replace('    protocol: HTTP', '    protocol: HTTP\n    hostname: "*.example.com"'),
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000', '  hostnames:\n  - api.other.org\n'),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'NO_MATCHING_HOSTNAME',
      path: 'spec.hostnames',
      message:
        "none of the route's hostnames (api.other.org) matches the hostname of the listeners of Gateway default/gw (*.example.com)",
    },
  },
  {
    name: 'two listeners with the same port and hostname',
    yaml: GATEWAY.replace(
      '    protocol: HTTP\n',
      '    protocol: HTTP\n  - name: http2\n    port: 80\n    protocol: HTTP\n',
    ),
    expect: {
      severity: 'error',
      code: 'LISTENER_CONFLICT',
      path: 'spec.listeners[1].hostname',
      message: 'listener "http2" has the same port (80) and hostname (any) as listener "http"',
    },
  },
  {
    name: 'one port with two protocols',
    yaml: GATEWAY.replace(
      '    protocol: HTTP\n',
      '    protocol: HTTP\n  - name: tls\n    port: 80\n    protocol: HTTPS\n    hostname: secure.example.com\n',
    ),
    expect: {
      severity: 'error',
      code: 'LISTENER_CONFLICT',
      path: 'spec.listeners[1].protocol',
      message: 'port 80 is used with protocol HTTP by listener "http" and with HTTPS by "tls"',
    },
  },
  {
    name: 'an HTTPRoute attached to a TCP listener',
    yaml: docs(
      GATEWAY.replace(
        '    protocol: HTTP\n',
        '    protocol: HTTP\n  - name: db\n    port: 5432\n    protocol: TCP\n',
      ),
      SERVICE,
      route('backendRefs:\n- name: svc\n  port: 8000').replace(
        '  - name: gw\n',
        '  - name: gw\n    sectionName: db\n',
      ),
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'NOT_ALLOWED_BY_LISTENER',
      path: 'spec.parentRefs[0]',
      message:
        'no HTTP or HTTPS listener of Gateway default/gw matches this parentRef, so it cannot serve an HTTPRoute',
    },
  },
  {
    name: 'two Gateways speaking different protocols on one port (one socket in standalone)',
    yaml: docs(
      GATEWAY,
      GATEWAY.replace('name: gw', 'name: gw2').replace(
        '    protocol: HTTP',
        '    protocol: HTTPS\n    hostname: secure.example.com',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'LISTENER_CONFLICT',
      object: 'Gateway/gw2',
      doc: 2,
      path: 'spec.listeners[0].port',
      message:
        'port 80 is also an HTTP listener of Gateway default/gw; standalone serves one socket per port and cannot speak both HTTP and HTTPS on it',
    },
  },
  {
    name: 'two listeners with the same name',
    yaml: GATEWAY.replace(
      '    protocol: HTTP\n',
      '    protocol: HTTP\n  - name: http\n    port: 81\n    protocol: HTTP\n',
    ),
    expect: {
      severity: 'error',
      code: 'DUPLICATE_NAME',
      path: 'spec.listeners[1].name',
      message: 'listener name "http" is already used by spec.listeners[0]',
    },
  },
  {
    name: 'v1 InferencePool with a duplicated target port',
    yaml: `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector:
    matchLabels:
      app: model
  targetPorts:
  - number: 8000
  - number: 8000
`,
    expect: {
      severity: 'error',
      code: 'DUPLICATE_PORT',
      path: 'spec.targetPorts[1].number',
      message: 'port 8000 is listed twice (also spec.targetPorts[0])',
    },
  },
  {
    name: 'v1 InferencePool with more than 8 target ports',
    yaml: `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector:
    matchLabels:
      app: model
  targetPorts: [${Array.from({ length: 9 }, (_, i) => `{number: ${8000 + i}}`).join(', ')}]
`,
    expect: {
      severity: 'error',
      code: 'TOO_MANY_ITEMS',
      path: 'spec.targetPorts',
      message: 'has 9 items; at most 8 are allowed',
    },
  },
  {
    name: 'v1 InferencePool endpointPickerRef to a Service without a port',
    yaml: `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector:
    matchLabels:
      app: model
  targetPorts:
  - number: 8000
  endpointPickerRef:
    name: epp
`,
    expect: {
      severity: 'error',
      code: 'MISSING_FIELD',
      path: 'spec.endpointPickerRef.port',
      message: 'an endpointPickerRef to a Service needs a port',
    },
  },
  {
    name: 'EndpointPickerConfig profile referencing an unknown plugin',
    yaml: `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: prefix-cache-scorr
    weight: 3
`,
    expect: {
      severity: 'error',
      code: 'UNKNOWN_PLUGIN_REF',
      object: 'EndpointPickerConfig',
      path: 'schedulingProfiles[0].plugins[1].pluginRef',
      message: 'no plugin named "prefix-cache-scorr" is defined under plugins',
      fix: 'did you mean "prefix-cache-scorer"?',
    },
  },
  {
    name: 'EndpointPickerConfig with two plugins of the same name',
    yaml: `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: queue-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
`,
    expect: {
      severity: 'error',
      code: 'DUPLICATE_PLUGIN',
      path: 'plugins[1].type',
      message:
        'plugin name "queue-scorer" is already used by plugins[0] (a plugin without a name is named after its type)',
    },
  },
  {
    name: 'EndpointPickerConfig with a queue-depth threshold of 0',
    yaml: `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
saturationDetector:
  queueDepthThreshold: 0
`,
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'saturationDetector.queueDepthThreshold',
      message: 'must be at least 1 (got 0; 0 would count every endpoint as saturated)',
    },
  },
  {
    name: 'EndpointPickerConfig with a KV threshold above 1',
    yaml: `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
saturationDetector:
  kvCacheUtilThreshold: 1.5
`,
    expect: {
      severity: 'error',
      code: 'OUT_OF_RANGE',
      path: 'saturationDetector.kvCacheUtilThreshold',
      message: 'must be above 0 and at most 1 (got 1.5)',
    },
  },
  {
    name: 'pool annotation naming an EndpointPickerConfig that does not exist',
    yaml: POOL.replace(
      '  name: pool\n',
      '  name: pool\n  annotations:\n    infergate.io/endpoint-picker-config: fast\n',
    ),
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      path: 'metadata.annotations["infergate.io/endpoint-picker-config"]',
      message: 'no EndpointPickerConfig named "fast" in namespace default',
    },
  },
  {
    name: 'malformed attach-to annotation',
    yaml: docs(
      GATEWAY,
      POOL.replace(
        '  name: pool\n',
        '  name: pool\n  annotations:\n    inference.networking.x-k8s.io/attach-to: "gateway inference-gateway"\n',
      ),
    ),
    expect: {
      severity: 'error',
      code: 'BAD_ANNOTATION',
      path: 'metadata.annotations["inference.networking.x-k8s.io/attach-to"]',
      message: 'the annotation must be YAML with a Gateway name and a port number',
    },
  },
  {
    name: 'YAML syntax error with line and column',
    yaml: docs(SERVICE, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: svc2\n  name: svc3\n'),
    expect: {
      severity: 'error',
      code: 'YAML_SYNTAX',
      object: undefined,
      doc: 2,
      path: '',
      message: 'YAML syntax error at line 15, column 3: Map keys must be unique',
      line: 15,
      column: 3,
    },
  },
  {
    name: 'a document without kind',
    yaml: docs(SERVICE, 'apiVersion: v1\nmetadata:\n  name: x\n'),
    expect: {
      severity: 'error',
      code: 'MISSING_KIND',
      doc: 2,
      path: 'kind',
      message: 'the document has no "kind"',
    },
  },
  {
    name: 'a document that is a list, not an object',
    yaml: '- apiVersion: v1\n  kind: Service\n',
    expect: {
      severity: 'error',
      code: 'NOT_AN_OBJECT',
      path: '',
      message: 'the document is a list, not a Kubernetes object',
    },
  },
  {
    name: 'an unknown kind is ignored with a warning',
    yaml: docs(GATEWAY, 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoutes\nmetadata:\n  name: r\n'),
    expect: {
      severity: 'warning',
      code: 'UNKNOWN_KIND',
      path: 'kind',
      message:
        'kind "HTTPRoutes" (gateway.networking.k8s.io/v1) is not known to infergate; the object is ignored',
      fix: 'did you mean "HTTPRoute"?',
    },
  },
  {
    name: 'a known kind with an unknown apiVersion is ignored with a warning',
    yaml: POOL.replace('inference.networking.x-k8s.io/v1alpha2', 'inference.networking.x-k8s.io/v2'),
    expect: {
      severity: 'warning',
      code: 'UNKNOWN_API_VERSION',
      path: 'apiVersion',
      message:
        '"inference.networking.x-k8s.io/v2" is not an apiVersion of InferencePool that infergate reads; the object is ignored',
    },
  },
  {
    name: 'Istio VirtualService destination host that does not resolve',
    yaml: `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: igw
spec:
  servers:
  - hosts: ['*']
    port: {name: http, number: 8080, protocol: HTTP}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
spec:
  gateways: [igw]
  hosts: ['*']
  http:
  - route:
    - destination:
        host: vllm.models.svc.cluster.local
        port: {number: 8000}
`,
    strictOnly: true,
    expect: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      object: 'VirtualService/vs',
      path: 'spec.http[0].route[0].destination.host',
      message: 'Service models/vllm is not defined in the manifests given',
    },
  },
  {
    name: 'Istio string match with two kinds of match',
    yaml: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
spec:
  gateways: [igw]
  http:
  - match:
    - uri: {prefix: /v1, exact: /v1/models}
`,
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.http[0].match[0].uri',
      message: 'give only one of "exact", "prefix" or "regex"',
    },
  },
  {
    name: 'Service targetPort that is neither a number nor a name',
    yaml: SERVICE.replace('  - port: 8000', '  - port: 8000\n    targetPort: true'),
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.ports[0].targetPort',
      message: 'true is neither a port number (1–65535) nor a port name',
    },
  },
  {
    name: 'BackendTrafficPolicy with both targetRef and targetRefs',
    yaml: docs(
      GATEWAY,
      `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: btp
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
`,
    ),
    expect: {
      severity: 'error',
      code: 'INVALID_VALUE',
      path: 'spec.targetRefs',
      message: 'give either targetRef or targetRefs, not both',
    },
  },
];

function find(diags: readonly Diagnostic[], e: Expected): Diagnostic | undefined {
  return diags.find((d) => d.code === e.code && d.path === e.path);
}

describe('broken configurations', () => {
  it.each(cases)('$name', (c) => {
    const result = loadPlanFromText(c.yaml, 'broken.yaml');
    const d = find(result.diagnostics, c.expect);
    expect(
      d,
      `no ${c.expect.code} at "${c.expect.path}" in:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`,
    ).toBeDefined();
    expect(d!.severity).toBe(c.expect.severity);
    expect(d!.message).toBe(c.expect.message);
    expect(d!.file).toBe('broken.yaml');
    if ('object' in c.expect) expect(d!.object).toBe(c.expect.object);
    if (c.expect.doc !== undefined) expect(d!.doc).toBe(c.expect.doc);
    if (c.expect.fix !== undefined) expect(d!.fix).toBe(c.expect.fix);
    if (c.expect.line !== undefined) expect([d!.line, d!.column]).toEqual([c.expect.line, c.expect.column]);
    // An error means no plan; a warning (or a reference problem) still yields one.
    if (c.expect.severity === 'error') expect(result.plan).toBeUndefined();
    else expect(result.plan).toBeDefined();
  });

  it.each(cases.filter((c) => c.strictOnly))('$name is an error under --strict', (c) => {
    const result = loadPlanFromText(c.yaml, 'broken.yaml', { strict: true });
    const d = find(result.diagnostics, c.expect);
    expect(d).toBeDefined();
    expect(d!.severity).toBe('error');
    expect(d!.message).toBe(c.expect.message);
    expect(result.plan).toBeUndefined();
  });

  it('has at least 25 rows', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it('reports every error of a document, not only the first', () => {
    const yaml = GATEWAY.replace('port: 80', 'port: 0').replace(
      'gatewayClassName: cls',
      'gatewayClassNam: cls',
    );
    const result = loadPlanFromText(yaml, 'many.yaml');
    const codes = result.diagnostics.map((d) => `${d.code} ${d.path}`);
    expect(codes).toEqual([
      'UNKNOWN_FIELD spec.gatewayClassNam',
      'MISSING_FIELD spec.gatewayClassName',
      'OUT_OF_RANGE spec.listeners[0].port',
    ]);
  });

  it('reports errors of every document and file position, in document order', () => {
    const yaml = docs(GATEWAY.replace('port: 80', 'port: 0'), SERVICE.replace('port: 8000', 'port: -1'));
    const result = loadPlanFromText(yaml, 'two.yaml');
    expect(result.diagnostics.map((d) => `${d.doc} ${d.object} ${d.path}`)).toEqual([
      '1 Gateway/gw spec.listeners[0].port',
      '2 Service/svc spec.ports[0].port',
    ]);
  });

  it('does not report a reference to an object that is itself invalid as missing', () => {
    const yaml = docs(
      GATEWAY,
      SERVICE.replace('port: 8000', 'port: 8000\n    bogus: 1'),
      route('backendRefs:\n- name: svc\n  port: 8000'),
    );
    const result = loadPlanFromText(yaml, 'invalid-target.yaml');
    expect(result.diagnostics.map((d) => d.code)).toEqual(['UNKNOWN_FIELD']);
  });
});
