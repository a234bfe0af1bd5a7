/**
 * Stage 0: turn `-f` arguments into texts. A source is a file, a folder (every `*.yaml` / `*.yml`
 * inside, recursively, in sorted path order) or `-` (standard input, shown as `<stdin>`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Codes, type DiagnosticSink } from './diagnostics.js';

export const STDIN_NAME = '<stdin>';

export interface SourceText {
  /** As given on the command line, or joined under the folder given; `<stdin>` for `-`. */
  file: string;
  text: string;
}

const MANIFEST_EXT = /\.ya?ml$/i;

/** Reads every source; problems (missing file, empty folder, unreadable file) become diagnostics. */
export async function readSources(
  sources: readonly string[],
  sink: DiagnosticSink,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<SourceText[]> {
  const out: SourceText[] = [];
  const seen = new Set<string>();
  let stdinRead = false;
  for (const source of sources) {
    if (source === '-') {
      if (stdinRead) {
        sink.error(
          { file: STDIN_NAME },
          Codes.FILE_UNREADABLE,
          '',
          '`-f -` is given more than once',
          'read standard input once',
        );
        continue;
      }
      stdinRead = true;
      out.push({ file: STDIN_NAME, text: stripBom(await readStream(stdin)) });
      continue;
    }
    let files: string[];
    try {
      const st = await stat(source);
      files = st.isDirectory() ? await listManifests(source) : [source];
      if (st.isDirectory() && files.length === 0) {
        sink.error(
          { file: source },
          Codes.NO_MANIFESTS,
          '',
          'the folder holds no *.yaml or *.yml files',
          'point -f at the folder that holds the manifests, or at a file',
        );
      }
    } catch (err) {
      reportFsError(sink, source, err);
      continue;
    }
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      try {
        out.push({ file, text: stripBom(await readFile(file, 'utf8')) });
      } catch (err) {
        reportFsError(sink, file, err);
      }
    }
  }
  return out;
}

/** Every manifest under `dir`, recursively, sorted by path (so load order is stable). */
async function listManifests(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files: string[] = [];
  for (const e of entries) {
    if (e.isFile() && MANIFEST_EXT.test(e.name)) files.push(join(e.parentPath, e.name));
  }
  return files.sort();
}

function reportFsError(sink: DiagnosticSink, file: string, err: unknown): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    sink.error({ file }, Codes.FILE_NOT_FOUND, '', 'no such file or folder', 'check the path given to -f');
  } else {
    const reason = err instanceof Error ? err.message : String(err);
    sink.error({ file }, Codes.FILE_UNREADABLE, '', `cannot read: ${reason}`, 'check the file permissions');
  }
}

function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
