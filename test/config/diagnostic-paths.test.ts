/**
 * Diagnostics point at the right place when no index is 0: the object is the third document or
 * later, and every list on the way to the field (rules, matches, headers, filters, backendRefs,
 * listeners, parentRefs) is at an index of 1 or more, each level at a different index, so a path
 * built from the wrong loop variable (the rule's index for the backendRef's) cannot pass.
 * Envelope errors (schema) and build diagnostics (cross-references) are both covered.
 */
import { describe, expect, it } from 'vitest';
import { type Diagnostic, loadPlanFromText } from '../../src/config/index.js';

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
  - name: alt
    port: 81
    protocol: HTTP
  - name: third
    port: 82
    protocol: HTTP
`;

const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
  - port: 8000
`;

/** A rule that is valid on its own (index 0 of every route below). */
const GOOD_RULE = `  - backendRefs:
    - name: svc
      port: 8000
`;

/** An HTTPRoute `r` attached to gw whose rules are GOOD_RULE followed by `rules`. */
function route(rules: string, parentRefs = '  - name: gw\n'): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs:
${parentRefs}  rules:
${GOOD_RULE}${rules}`;
}

/** A rule whose backendRefs are a good one, then `items` (the first of them at index 1). */
const refs = (...items: string[]) =>
  `  - backendRefs:\n${['    - name: svc\n      port: 8000\n', ...items].join('')}`;

/** backendRefs continuing the rule above (after its matches or filters). */
const sameRuleRefs = '    backendRefs:\n    - name: svc\n      port: 8000\n';

/** Documents: Gateway (1), Services svc + other (2, 3), then the object under test (4). */
const docs = (obj: string) => [GATEWAY, service('svc'), service('other'), obj].join('---\n');

interface Case {
  name: string;
  yaml: string;
  want: Pick<Diagnostic, 'severity' | 'code' | 'doc' | 'object' | 'path'> & { message?: RegExp };
}

const cases: Case[] = [
  {
    name: 'REF_NOT_FOUND on backendRefs[1] of rules[2] (build stage)',
    yaml: docs(
      route(`  - backendRefs:
    - name: other
      port: 8000
${refs('    - name: missing\n      port: 8000\n')}`),
    ),
    want: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[2].backendRefs[1].name',
      message: /missing/,
    },
  },
  {
    name: 'MISSING_FIELD port on backendRefs[2] of rules[1] (build stage)',
    yaml: docs(route(refs('    - name: other\n      port: 8000\n', '    - name: other\n'))),
    want: {
      severity: 'error',
      code: 'MISSING_FIELD',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[1].backendRefs[2].port',
    },
  },
  {
    name: 'REF_NOT_FOUND on backendRefs[2] of rules[3], earlier rules and refs valid',
    yaml: docs(
      route(`  - backendRefs:
    - name: other
      port: 8000
  - backendRefs:
    - name: svc
      port: 8000
${refs('    - name: other\n      port: 8000\n', '    - name: absent\n      port: 8000\n')}`),
    ),
    want: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[3].backendRefs[2].name',
    },
  },
  {
    name: 'WRONG_TYPE weight on backendRefs[1] of rules[2] (envelope stage)',
    yaml: docs(
      route(`  - backendRefs:
    - name: other
      port: 8000
${refs('    - name: other\n      port: 8000\n      weight: heavy\n')}`),
    ),
    want: {
      severity: 'error',
      code: 'WRONG_TYPE',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[2].backendRefs[1].weight',
    },
  },
  {
    name: 'UNKNOWN_FIELD in headers[1] of matches[2] of rules[1] (envelope stage)',
    yaml: docs(
      route(`  - matches:
    - path:
        type: PathPrefix
        value: /a
    - path:
        type: PathPrefix
        value: /b
    - headers:
      - name: x-a
        value: a
      - name: x-b
        valu: b
${sameRuleRefs}`),
    ),
    want: {
      severity: 'error',
      code: 'UNKNOWN_FIELD',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[1].matches[2].headers[1].valu',
    },
  },
  {
    name: 'BAD_REGEX in the path of matches[1] of rules[2] (build stage)',
    yaml: docs(
      route(`  - backendRefs:
    - name: other
      port: 8000
  - matches:
    - path:
        type: PathPrefix
        value: /ok
    - path:
        type: RegularExpression
        value: "/v1/(["
${sameRuleRefs}`),
    ),
    want: {
      severity: 'error',
      code: 'BAD_REGEX',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[2].matches[1].path.value',
    },
  },
  {
    name: 'REF_NOT_FOUND in a RequestMirror at filters[1] of rules[1]',
    yaml: docs(
      route(`  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: x-a
          value: a
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: nowhere
          port: 8000
${sameRuleRefs}`),
    ),
    want: {
      severity: 'warning',
      code: 'REF_NOT_FOUND',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.rules[1].filters[1].requestMirror.backendRef.name',
    },
  },
  {
    name: 'SECTION_NOT_FOUND on parentRefs[2]',
    yaml: docs(
      route(
        '',
        '  - name: gw\n    sectionName: http\n  - name: gw\n    sectionName: alt\n  - name: gw\n    sectionName: fourth\n',
      ),
    ),
    want: {
      severity: 'warning',
      code: 'SECTION_NOT_FOUND',
      doc: 4,
      object: 'HTTPRoute/r',
      path: 'spec.parentRefs[2].sectionName',
    },
  },
  {
    name: 'WRONG_TYPE port on listeners[2] of a Gateway that is document 4',
    yaml: [
      service('svc'),
      service('other'),
      service('third'),
      GATEWAY.replace('port: 82', 'port: "82"'),
    ].join('---\n'),
    want: {
      severity: 'error',
      code: 'WRONG_TYPE',
      doc: 4,
      object: 'Gateway/gw',
      path: 'spec.listeners[2].port',
    },
  },
];

describe('diagnostic paths with non-zero indices at every level', () => {
  it.each(cases)('$name', ({ yaml, want }) => {
    const r = loadPlanFromText(yaml, 'paths.yaml');
    const found = r.diagnostics.filter((d) => d.code === want.code);
    // Exactly one diagnostic of that code, at exactly that place.
    expect(found.map((d) => ({ doc: d.doc, object: d.object, path: d.path }))).toEqual([
      { doc: want.doc, object: want.object, path: want.path },
    ]);
    expect(found[0]!.severity).toBe(want.severity);
    expect(found[0]!.file).toBe('paths.yaml');
    if (want.message) expect(found[0]!.message).toMatch(want.message);
  });

  it('a YAML syntax error in document 3 is placed by line and column in the file', () => {
    const broken = `apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports: [8000
`;
    const text = [GATEWAY, service('svc'), broken].join('---\n');
    const r = loadPlanFromText(text, 'syntax.yaml');
    const d = r.diagnostics.find((x) => x.code === 'YAML_SYNTAX');
    expect(d).toBeDefined();
    expect(d!.doc).toBe(3);
    // The broken flow sequence starts on the 6th line of document 3.
    const firstLineOfDoc3 = `${GATEWAY}---\n${service('svc')}---\n`.split('\n').length;
    expect(d!.line).toBeGreaterThanOrEqual(firstLineOfDoc3 + 5);
    expect(d!.column).toBeGreaterThanOrEqual(1);
  });
});
