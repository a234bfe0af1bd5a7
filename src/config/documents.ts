/**
 * Stage 1: YAML text → documents. Multi-document files are split on `---`; empty documents are
 * skipped; a syntax error is reported with its line and column and only its document is dropped.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { Codes, type DiagnosticSink } from './diagnostics.js';
import type { SourceText } from './sources.js';

export interface RawDocument {
  file: string;
  /** 1-based index of the document within its file. */
  doc: number;
  /** The document as plain data (mappings → objects, sequences → arrays). */
  value: unknown;
  /** The parsed document and its file's line counter, to find where a field path is. */
  yaml?: Document.Parsed;
  lineCounter?: LineCounter;
}

/** Aliases may not expand beyond this many nodes (guards against "billion laughs" documents). */
const MAX_ALIAS_COUNT = 1000;
/** The position suffix of the yaml library's messages; we print the position ourselves. */
const POSITION_SUFFIX = / at line \d+, column \d+:?$/;

export function parseDocuments(source: SourceText, sink: DiagnosticSink): RawDocument[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(source.text, { prettyErrors: true, lineCounter, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const out: RawDocument[] = [];
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    const index = i + 1;
    const first = d.errors[0];
    if (first) {
      const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0]);
      const what = first.message.split('\n', 1)[0]!.replace(POSITION_SUFFIX, '');
      const more = d.errors.length > 1 ? ` (and ${d.errors.length - 1} more in this document)` : '';
      const diag = sink.error(
        { file: source.file, doc: index },
        Codes.YAML_SYNTAX,
        '',
        `YAML syntax error at line ${pos.line}, column ${pos.col}: ${what}${more}`,
        'fix the YAML at that position (indentation, a missing colon or quote)',
      );
      diag.line = pos.line;
      diag.column = pos.col;
      continue;
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      sink.error(
        { file: source.file, doc: index },
        Codes.YAML_SYNTAX,
        '',
        `YAML cannot be read: ${err instanceof Error ? err.message : String(err)}`,
        'simplify the document (aliases expand too far)',
      );
      continue;
    }
    if (value === null || value === undefined) continue;
    out.push({ file: source.file, doc: index, value, yaml: d, lineCounter });
  }
  return out;
}

const PATH_SEGMENT = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["([^"]*)"\]/g;

/**
 * The 1-based line and column of a field path (`spec.rules[0].backendRefs`) in a document: the
 * field's key when it exists, else its nearest existing parent. Undefined when even the first
 * segment is not at the document's root.
 */
export function locate(raw: RawDocument, path: string): { line: number; column: number } | undefined {
  if (!raw.yaml || !raw.lineCounter || !path) return undefined;
  let node: unknown = raw.yaml.contents;
  let offset: number | undefined;
  PATH_SEGMENT.lastIndex = 0;
  for (let m = PATH_SEGMENT.exec(path); m; m = PATH_SEGMENT.exec(path)) {
    const key = m[1] ?? m[3];
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0];
      node = pair.value;
    } else if (m[2] !== undefined && isSeq(node)) {
      const item = node.items[Number(m[2])];
      if (!item) break;
      offset = (item as Node).range?.[0];
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return undefined;
  const pos = raw.lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
