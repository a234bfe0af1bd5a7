/**
 * The config room's public API: load manifests (files, folders, stdin) into a Plan, in stages —
 * read (sources.ts) → YAML documents (documents.ts) → strict envelope per object (objects.ts) →
 * cross-references, defaults and the Plan (build/). Problems never throw: they are returned as
 * diagnostics, all of them, and the plan is present only when none is an error.
 */
import { buildPlan, type PickerConfigValidator } from './build/index.js';
import {
  CLUSTER_ORIGIN,
  Codes,
  DiagnosticSink,
  formatDiagnostic,
  objectLabel,
  sortDiagnostics,
} from './diagnostics.js';
import { locate, parseDocuments, type RawDocument } from './documents.js';
import { loadDocument, ObjectStore } from './objects.js';
import type { Diagnostic, Plan } from './plan.js';
import { readSources, type SourceText, STDIN_NAME } from './sources.js';

export { CLUSTER_ORIGIN, Codes, type DiagnosticCode, formatDiagnostic, originOf } from './diagnostics.js';
export { formatPlan } from './format-plan.js';
export type * from './plan.js';
export { differsOnlyInEndpoints } from './plan-diff.js';
export { planToJSON } from './plan-json.js';
export type { PickerConfigValidator };

export interface LoadOptions {
  /** Unresolved references and rejected attachments become errors instead of warnings. */
  strict?: boolean;
  /** Where `-` reads from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** The scheduling room's check of plugin types and parameters, called for each EndpointPickerConfig. */
  validatePickerConfig?: PickerConfigValidator;
}

export interface LoadResult {
  /** Absent when any diagnostic is an error. */
  plan?: Plan;
  /** Every problem found (errors, warnings, notes), in file and document order. */
  diagnostics: Diagnostic[];
  /** Every file read (not stdin), for a file watcher. */
  files: string[];
}

/** Loads `-f` sources: files, folders (every *.yaml / *.yml inside, recursively, sorted) or `-` (stdin). */
export async function loadPlan(sources: readonly string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const sink = new DiagnosticSink(opts.strict ?? false);
  const texts = await readSources(sources, sink, opts.stdin);
  return finish(texts, sink, opts);
}

/** Loads one text as if it were the file `file` (tests, editors). */
export function loadPlanFromText(
  text: string,
  file: string,
  opts: Omit<LoadOptions, 'stdin'> = {},
): LoadResult {
  const sink = new DiagnosticSink(opts.strict ?? false);
  return finish([{ file, text }], sink, opts);
}

export interface ObjectLoadOptions extends Omit<LoadOptions, 'stdin'> {
  /**
   * Leave out each object that has an error (it is reported as a warning naming the object) and build
   * the plan from the rest, as a cluster serves its valid objects whatever its invalid ones say.
   * Without it, any error means no plan (as for files).
   */
  dropInvalid?: boolean;
}

/** At most this many rebuilds when objects with errors are left out one round at a time. */
const MAX_DROP_ROUNDS = 4;

/**
 * Loads objects read from a Kubernetes API server (plain JSON as the API serves them). Their
 * diagnostics name them `cluster ns/Kind/name` (file {@link CLUSTER_ORIGIN}, no document); `files` is
 * empty. Fields unknown to infergate are notes, not errors: the API server has validated the objects.
 */
export function loadPlanFromObjects(objects: readonly unknown[], opts: ObjectLoadOptions = {}): LoadResult {
  const dropped = new Set<string>();
  const droppedDiagnostics: Diagnostic[] = [];
  for (let round = 0; ; round++) {
    const sink = new DiagnosticSink(opts.strict ?? false);
    const store = new ObjectStore();
    for (const value of objects) {
      const label = clusterLabel(value);
      if (label !== undefined && dropped.has(label)) continue;
      loadDocument({ file: CLUSTER_ORIGIN, doc: 0, value }, store, sink);
    }
    const plan = buildPlan(store, sink, opts.validatePickerConfig);
    const diagnostics = [...droppedDiagnostics, ...sink.items];
    if (plan) return { plan: { ...plan, diagnostics }, diagnostics, files: [] };
    if (!opts.dropInvalid || round >= MAX_DROP_ROUNDS) return { diagnostics, files: [] };
    let more = false;
    for (const d of sink.items) {
      if (d.severity !== 'error' || d.object === undefined) continue;
      if (!dropped.has(d.object)) {
        dropped.add(d.object);
        more = true;
      }
      droppedDiagnostics.push({
        ...d,
        severity: 'warning',
        message: `${d.message} (the object is left out of the plan)`,
      });
    }
    if (!more) return { diagnostics, files: [] };
  }
}

/** `ns/Kind/name` (or `Kind/name`) of a cluster object, as its diagnostics name it. */
function clusterLabel(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (typeof v.kind !== 'string' || typeof v.metadata?.name !== 'string') return undefined;
  const namespace = typeof v.metadata.namespace === 'string' ? v.metadata.namespace : '';
  return objectLabel({ file: CLUSTER_ORIGIN, kind: v.kind, name: v.metadata.name, namespace });
}

function finish(texts: readonly SourceText[], sink: DiagnosticSink, opts: LoadOptions): LoadResult {
  const store = new ObjectStore();
  const documents = new Map<string, RawDocument>();
  for (const t of texts) {
    for (const doc of parseDocuments(t, sink)) {
      documents.set(`${doc.file}#${doc.doc}`, doc);
      loadDocument(doc, store, sink);
    }
  }
  if (documents.size === 0 && texts.length > 0 && !sink.hasErrors()) {
    sink.warn(
      { file: texts[0]!.file },
      Codes.NO_MANIFESTS,
      '',
      'no Kubernetes objects were found',
      'check that the files hold YAML manifests',
    );
  }
  const plan = buildPlan(store, sink, opts.validatePickerConfig);
  const fileOrder = texts.map((t) => t.file);
  for (const d of sink.items) {
    if (d.line !== undefined || d.doc === undefined) continue;
    const raw = documents.get(`${d.file}#${d.doc}`);
    const pos = raw && locate(raw, d.path);
    if (pos) {
      d.line = pos.line;
      d.column = pos.column;
    }
  }
  const diagnostics = sortDiagnostics(sink.items, fileOrder);
  const files = fileOrder.filter((f) => f !== STDIN_NAME);
  if (!plan) return { diagnostics, files };
  return { plan: { ...plan, diagnostics }, diagnostics, files };
}

/** Thrown by `requirePlan` when a load found errors; `code` is stable for callers. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `the configuration has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n` +
        errors.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** The plan of a load result, or a ConfigError listing every error. */
export function requirePlan(result: LoadResult): Plan {
  if (!result.plan) throw new ConfigError(result.diagnostics);
  return result.plan;
}
