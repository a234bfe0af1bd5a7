import { describe, expect, it } from 'vitest';
import { DiagnosticSink } from './diagnostics.js';
import { locate, parseDocuments } from './documents.js';
import { loadPlanFromText } from './index.js';

const TEXT = `# leading comment
---
a: 1
---
kind: HTTPRoute
spec:
  rules:
  - backendRefs:
    - name: svc
      port: 80
  annotations:
    "x.io/y": z
---
`;

describe('parseDocuments', () => {
  const sink = new DiagnosticSink(false);
  const docs = parseDocuments({ file: 'f.yaml', text: TEXT }, sink);

  it('numbers documents from 1 as YAML does (a comment before the first --- is not a document)', () => {
    expect(docs.map((d) => d.doc)).toEqual([1, 2]);
    expect(docs[0]!.value).toEqual({ a: 1 });
    expect(sink.items).toEqual([]);
  });

  it.each([
    ['kind', { line: 5, column: 1 }],
    ['spec.rules[0].backendRefs[0].port', { line: 10, column: 7 }],
    ['spec.rules[0].backendRefs[0].weight', { line: 9, column: 7 }], // missing: its parent
    ['spec.annotations["x.io/y"]', { line: 12, column: 5 }],
    ['metadata.name', undefined], // not even the first segment exists
    ['', undefined],
  ])('locates %s', (path, pos) => {
    expect(locate(docs[1]!, path)).toEqual(pos);
  });
});

describe('diagnostic positions', () => {
  it('point at the field a problem is about', () => {
    const r = loadPlanFromText(
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  portz: []\n',
      's.yaml',
    );
    expect(r.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([['UNKNOWN_FIELD', 6, 3]]);
  });
});
