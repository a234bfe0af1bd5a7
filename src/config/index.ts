/**
 * The config room's public API: load manifests (files, folders, stdin) into a Plan, in stages —
 * read (sources.ts) → YAML documents (documents.ts) → strict envelope per object (objects.ts) →
 * cross-references, defaults and the Plan (build/). Problems never throw: they are returned as
 * diagnostics, all of them, and the plan is present only when none is an error.
 */
import { buildPlan, type PickerConfigValidator } from './build/index.js';
import { Codes, DiagnosticSink, formatDiagnostic, sortDiagnostics } from './diagnostics.js';
import { locate, parseDocuments, type RawDocument } from './documents.js';
import { loadDocument, ObjectStore } from './objects.js';
import type { Diagnostic, Plan } from './plan.js';
import { readSources, type SourceText, STDIN_NAME } from './sources.js';

export { Codes, type DiagnosticCode, formatDiagnostic } from './diagnostics.js';
export { formatPlan } from './format-plan.js';
export type * from './plan.js';
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
