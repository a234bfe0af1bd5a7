import { describe, expect, it } from 'vitest';
import {
  closest,
  DiagnosticSink,
  editDistance,
  formatDiagnostic,
  joinPath,
  listOr,
  sortDiagnostics,
} from './diagnostics.js';

describe('closest', () => {
  it.each([
    ['backendRef', ['backendRefs', 'matches', 'filters'], 'backendRefs'],
    ['lables', ['labels', 'annotations', 'name'], 'labels'],
    ['critical', ['Critical', 'Standard', 'Sheddable'], 'Critical'],
    ['targetPort', ['targetPortNumber', 'selector'], undefined],
    ['xyz', ['name', 'namespace'], undefined],
    ['prefix-cache-scorr', ['queue-scorer', 'prefix-cache-scorer'], 'prefix-cache-scorer'],
  ])('%s → %s', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', 'abd', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%s ↔ %s = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('joinPath', () => {
  it.each([
    ['', 'spec', 'spec'],
    ['spec', 'rules', 'spec.rules'],
    ['spec.rules', 0, 'spec.rules[0]'],
    ['metadata.annotations', 'a.b/c', 'metadata.annotations["a.b/c"]'],
    ['', 'x-y', 'x-y'],
  ] as const)('%s + %s', (base, key, expected) => {
    expect(joinPath(base, key)).toBe(expected);
  });
});

describe('formatDiagnostic', () => {
  it('prints file, document, object, path, message and fix on one line', () => {
    expect(
      formatDiagnostic({
        severity: 'error',
        code: 'UNKNOWN_FIELD',
        file: 'a.yaml',
        doc: 2,
        object: 'HTTPRoute/r',
        path: 'spec.rules[0].backendRef',
        message: 'unknown field "backendRef"',
        fix: 'did you mean "backendRefs"?',
      }),
    ).toBe(
      'error: a.yaml#2 HTTPRoute/r spec.rules[0].backendRef: unknown field "backendRef" — did you mean "backendRefs"?',
    );
  });

  it('leaves out what is unknown', () => {
    expect(formatDiagnostic({ severity: 'warning', code: 'X', file: 'b.yaml', path: '', message: 'm' })).toBe(
      'warning: b.yaml: m',
    );
  });
});

describe('DiagnosticSink', () => {
  it('makes unresolved references warnings, or errors when strict', () => {
    const lax = new DiagnosticSink(false);
    const strict = new DiagnosticSink(true);
    lax.unresolved({ file: 'f' }, 'REF_NOT_FOUND', 'p', 'm');
    strict.unresolved({ file: 'f' }, 'REF_NOT_FOUND', 'p', 'm');
    expect(lax.items[0]!.severity).toBe('warning');
    expect(lax.hasErrors()).toBe(false);
    expect(strict.items[0]!.severity).toBe('error');
    expect(strict.hasErrors()).toBe(true);
  });
});

describe('sortDiagnostics', () => {
  it('orders by file order, then document, keeping emission order', () => {
    const d = (file: string, doc: number, message: string) =>
      ({ severity: 'error', code: 'X', file, doc, path: '', message }) as const;
    const sorted = sortDiagnostics(
      [d('b', 1, '1'), d('a', 2, '2'), d('a', 1, '3'), d('a', 2, '4')],
      ['a', 'b'],
    );
    expect(sorted.map((x) => x.message)).toEqual(['3', '2', '4', '1']);
  });
});

describe('listOr', () => {
  it.each([
    [[], ''],
    [['a'], '"a"'],
    [['a', 'b'], '"a" or "b"'],
    [['a', 'b', 'c'], '"a", "b" or "c"'],
  ])('%j', (values, text) => {
    expect(listOr(values)).toBe(text);
  });
});

describe('closest: ranking and limits (mutation-testing gaps)', () => {
  it.each([
    // A singular/plural slip beats an edit at distance 1, whichever comes first.
    ['port', ['sort', 'ports'], 'ports'],
    ['ports', ['parts', 'port'], 'port'],
    // The first of equally close candidates wins; a closer one wins over a later, farther one.
    ['ab', ['ac', 'ad'], 'ac'],
    ['backendRef', ['backendRefs', 'backendRefsX'], 'backendRefs'],
    // The limit is a third of the longer word (here 3 for "backendRef"), at most 3…
    ['backend', ['backendRef'], 'backendRef'],
    // …and at least 1: two edits in a two-letter word are not a typo.
    ['ab', ['xy'], undefined],
  ])('%s among %j → %s', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });
});

describe('DiagnosticSink.add', () => {
  it('leaves out document, object and fix when not given (no undefined keys)', () => {
    const sink = new DiagnosticSink(false);
    sink.error({ file: 'f.yaml' }, 'YAML_SYNTAX', '', 'bad');
    expect(sink.items[0]).toStrictEqual({
      severity: 'error',
      code: 'YAML_SYNTAX',
      file: 'f.yaml',
      path: '',
      message: 'bad',
    });
    sink.info({ file: 'f.yaml', doc: 3, object: 'Service/s' }, 'NOT_APPLIED', 'spec', 'm', 'fix it');
    expect(sink.items[1]).toStrictEqual({
      severity: 'info',
      code: 'NOT_APPLIED',
      file: 'f.yaml',
      doc: 3,
      object: 'Service/s',
      path: 'spec',
      message: 'm',
      fix: 'fix it',
    });
  });
});

describe('sortDiagnostics: files outside the load order, documents, stability', () => {
  it('puts diagnostics of unknown files first and file-level ones before documents; keeps emission order', () => {
    const d = (file: string, doc: number | undefined, message: string) =>
      ({
        severity: 'error',
        code: 'X',
        file,
        ...(doc !== undefined ? { doc } : {}),
        path: '',
        message,
      }) as const;
    const sorted = sortDiagnostics(
      [
        d('c', 1, 'c1'),
        d('b', 2, 'b2-first'),
        d('a', 1, 'a1-first'),
        d('stdin', undefined, 'unknown'),
        d('b', undefined, 'b-file'),
        d('a', 1, 'a1-second'),
        d('b', 2, 'b2-second'),
        d('a', 1, 'a1-third'),
        d('b', 2, 'b2-third'),
      ],
      ['a', 'b', 'c'],
    );
    expect(sorted.map((x) => x.message)).toEqual([
      'unknown',
      'a1-first',
      'a1-second',
      'a1-third',
      'b-file',
      'b2-first',
      'b2-second',
      'b2-third',
      'c1',
    ]);
  });
});
