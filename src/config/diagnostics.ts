/**
 * Diagnostics: every problem the loader finds, collected (never thrown) so that `validate` can show
 * all of them at once. Each one names the file, the document, the object, the field path, what is
 * wrong and what would fix it.
 */
import type { Diagnostic, Severity, SourceRef } from './plan.js';

/**
 * Stable diagnostic codes. Tools and tests match on these; the wording of messages may improve.
 * Envelope (always errors): the object is malformed. References (warnings, errors under --strict):
 * a cluster would accept the object with ResolvedRefs=False / Accepted=False.
 */
export const Codes = {
  // sources and YAML
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  FILE_UNREADABLE: 'FILE_UNREADABLE',
  NO_MANIFESTS: 'NO_MANIFESTS',
  YAML_SYNTAX: 'YAML_SYNTAX',
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  MISSING_KIND: 'MISSING_KIND',
  MISSING_API_VERSION: 'MISSING_API_VERSION',
  UNKNOWN_KIND: 'UNKNOWN_KIND',
  UNKNOWN_API_VERSION: 'UNKNOWN_API_VERSION',
  IGNORED_KIND: 'IGNORED_KIND',
  DUPLICATE_OBJECT: 'DUPLICATE_OBJECT',
  // envelope
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  MISSING_FIELD: 'MISSING_FIELD',
  WRONG_TYPE: 'WRONG_TYPE',
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  TOO_MANY_ITEMS: 'TOO_MANY_ITEMS',
  TOO_FEW_ITEMS: 'TOO_FEW_ITEMS',
  TOO_LONG: 'TOO_LONG',
  INVALID_VALUE: 'INVALID_VALUE',
  INVALID_FORMAT: 'INVALID_FORMAT',
  INVALID_NAME: 'INVALID_NAME',
  BAD_DURATION: 'BAD_DURATION',
  BAD_PATH: 'BAD_PATH',
  BAD_REGEX: 'BAD_REGEX',
  BAD_FRACTION: 'BAD_FRACTION',
  BAD_ANNOTATION: 'BAD_ANNOTATION',
  FILTER_MISMATCH: 'FILTER_MISMATCH',
  DUPLICATE_FILTER: 'DUPLICATE_FILTER',
  TIMEOUT_ORDER: 'TIMEOUT_ORDER',
  MIXED_WEIGHTS: 'MIXED_WEIGHTS',
  DUPLICATE_PORT: 'DUPLICATE_PORT',
  DUPLICATE_NAME: 'DUPLICATE_NAME',
  LISTENER_CONFLICT: 'LISTENER_CONFLICT',
  DUPLICATE_PLUGIN: 'DUPLICATE_PLUGIN',
  UNKNOWN_PLUGIN_REF: 'UNKNOWN_PLUGIN_REF',
  PICKER_CONFIG_INVALID: 'PICKER_CONFIG_INVALID',
  // references and attachment (Kubernetes would accept these with a False condition)
  REF_NOT_FOUND: 'REF_NOT_FOUND',
  REF_NOT_PERMITTED: 'REF_NOT_PERMITTED',
  INVALID_REF_KIND: 'INVALID_REF_KIND',
  SECTION_NOT_FOUND: 'SECTION_NOT_FOUND',
  NOT_ALLOWED_BY_LISTENER: 'NOT_ALLOWED_BY_LISTENER',
  NO_MATCHING_HOSTNAME: 'NO_MATCHING_HOSTNAME',
  DUPLICATE_MODEL_NAME: 'DUPLICATE_MODEL_NAME',
  AMBIGUOUS_PICKER_CONFIG: 'AMBIGUOUS_PICKER_CONFIG',
  // notes
  NOT_APPLIED: 'NOT_APPLIED',
  NOT_SERVED: 'NOT_SERVED',
  NO_ENDPOINTS: 'NO_ENDPOINTS',
  PORT_SHARED: 'PORT_SHARED',
} as const;

export type DiagnosticCode = (typeof Codes)[keyof typeof Codes];

/** Where a diagnostic points: a whole file, or one object of a document. */
export interface Where {
  file: string;
  doc?: number;
  /** `Kind/name`. */
  object?: string;
}

/**
 * The `file` of objects read from a Kubernetes API server: they have no document (`doc` 0 in their
 * SourceRef) and their `object` names the namespace too (`ns/Kind/name`), so a diagnostic reads
 * `cluster ns/Kind/name <path>: …`.
 */
export const CLUSTER_ORIGIN = 'cluster';

/** `Kind/name` for a file's object; `ns/Kind/name` (`Kind/name` if cluster-scoped) for the cluster's. */
export function objectLabel(src: Pick<SourceRef, 'file' | 'kind' | 'name' | 'namespace'>): string {
  const kindName = src.name ? `${src.kind}/${src.name}` : src.kind;
  return src.file === CLUSTER_ORIGIN && src.namespace ? `${src.namespace}/${kindName}` : kindName;
}

/** The `Where` of a loaded object: `Kind/name` (`Kind` alone when it has no name). */
export function whereOf(src: SourceRef): Where {
  const object = objectLabel(src);
  return src.file === CLUSTER_ORIGIN ? { file: src.file, object } : { file: src.file, doc: src.doc, object };
}

/** Where an object came from, for messages: `file#doc`, or `cluster ns/Kind/name`. */
export function originOf(src: SourceRef): string {
  return src.file === CLUSTER_ORIGIN ? `${src.file} ${objectLabel(src)}` : `${src.file}#${src.doc}`;
}

/**
 * Collects diagnostics for one load. `unresolved()` is the Kubernetes rule for references: a cluster
 * accepts the object and marks it ResolvedRefs=False (requests answered 500), so it is a warning,
 * and an error under `--strict`.
 */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  constructor(readonly strict: boolean) {}

  add(
    severity: Severity,
    where: Where,
    code: DiagnosticCode,
    path: string,
    message: string,
    fix?: string,
  ): Diagnostic {
    const d: Diagnostic = { severity, code, file: where.file, path, message };
    if (where.doc !== undefined) d.doc = where.doc;
    if (where.object !== undefined) d.object = where.object;
    if (fix !== undefined) d.fix = fix;
    this.items.push(d);
    return d;
  }

  error(where: Where, code: DiagnosticCode, path: string, message: string, fix?: string): Diagnostic {
    return this.add('error', where, code, path, message, fix);
  }

  warn(where: Where, code: DiagnosticCode, path: string, message: string, fix?: string): Diagnostic {
    return this.add('warning', where, code, path, message, fix);
  }

  info(where: Where, code: DiagnosticCode, path: string, message: string, fix?: string): Diagnostic {
    return this.add('info', where, code, path, message, fix);
  }

  /** A reference that does not resolve, or an attachment a cluster would not accept. */
  unresolved(where: Where, code: DiagnosticCode, path: string, message: string, fix?: string): Diagnostic {
    return this.add(this.strict ? 'error' : 'warning', where, code, path, message, fix);
  }

  hasErrors(): boolean {
    for (let i = 0; i < this.items.length; i++) if (this.items[i]!.severity === 'error') return true;
    return false;
  }
}

/**
 * One line: `<severity>: <file>#<doc> <Kind>/<name> <path>: <what is wrong> — <fix>`.
 * Parts that are unknown are left out (a file-level problem has no document or object).
 */
export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file;
  if (d.doc !== undefined) where += `#${d.doc}`;
  if (d.object !== undefined) where += ` ${d.object}`;
  if (d.path) where += ` ${d.path}`;
  return `${d.severity}: ${where}: ${d.message}${d.fix ? ` — ${d.fix}` : ''}`;
}

/** Orders diagnostics by file (in load order), then document, keeping emission order within a document. */
export function sortDiagnostics(items: Diagnostic[], fileOrder: readonly string[]): Diagnostic[] {
  const rank = new Map<string, number>();
  for (let i = 0; i < fileOrder.length; i++) rank.set(fileOrder[i]!, i);
  const indexed = items.map((d, i) => ({ d, i }));
  indexed.sort(
    (a, b) =>
      (rank.get(a.d.file) ?? -1) - (rank.get(b.d.file) ?? -1) || (a.d.doc ?? 0) - (b.d.doc ?? 0) || a.i - b.i,
  );
  return indexed.map((x) => x.d);
}

/** Levenshtein distance, small strings only (field and enum names). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n]!;
}

/**
 * The closest candidate to `word`, if it is close enough to be a plausible typo: same word in another
 * case, a singular/plural slip, or an edit distance within a third of the length (at least 1, at most 3).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let score: number;
    if (cl === lower) score = 0;
    else if (cl === `${lower}s` || `${cl}s` === lower) score = 0.5;
    else {
      const d = editDistance(lower, cl);
      const limit = Math.min(3, Math.max(1, Math.floor(Math.max(word.length, c.length) / 3)));
      if (d > limit) continue;
      score = d;
    }
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/** `"a", "b" or "c"` for messages. */
export function listOr(values: readonly string[]): string {
  const q = values.map((v) => `"${v}"`);
  if (q.length <= 1) return q.join('');
  return `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Path segment joiner: `spec.rules[0].backendRefs`, `metadata.annotations["a.b/c"]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = PLAIN_KEY.test(key) ? key : `"${key}"`;
  if (!base) return safe;
  return safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`;
}
