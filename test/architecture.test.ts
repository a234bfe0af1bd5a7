/**
 * The dependency rule of src/: every top-level folder ("room") has a layer, and an import may only
 * point from a higher layer to a strictly lower one. Rooms on the same layer are peers and do not
 * import each other; so no import circle between rooms is possible. No import circle between files
 * either. Test files (*.test.ts) are exempt: a test may assemble objects from any room.
 *
 * LAYERS is the one place the order is declared (docs/architecture.md draws it). A new room must be
 * added here before it can be imported.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Lowest first. A room may import rooms of lower layers only. */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['openai', 'scraping', 'telemetry', 'tokenizer'],
  ['config', 'sim'],
  ['datastore', 'k8s'],
  ['scheduling'],
  ['requestcontrol'],
  ['gateway', 'extproc'],
  ['admin'],
  ['app', 'bench'],
  ['cli'],
];

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of one file, as paths of src/ (`gateway/exchange.ts`). */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec === undefined || !spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    out.push(relative(SRC, target));
  }
  return out;
}

interface ImportEdge {
  from: string;
  to: string;
}

/** Every relative import between files of src/ (test files excluded). */
function importGraph(files: readonly { path: string; text: string }[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const f of files) {
    for (const to of importsOf(join(SRC, f.path), f.text)) edges.push({ from: f.path, to });
  }
  return edges;
}

const roomOf = (path: string): string => path.split('/')[0]!;

/** Broken rules, one line each: lower → higher, peer → peer, undeclared rooms. */
function layerViolations(edges: readonly ImportEdge[]): string[] {
  const layer = new Map<string, number>();
  LAYERS.forEach((rooms, i) => {
    for (const r of rooms) layer.set(r, i);
  });
  const out: string[] = [];
  for (const e of edges) {
    const a = roomOf(e.from);
    const b = roomOf(e.to);
    if (a === b || b.endsWith('.ts')) continue;
    const la = layer.get(a);
    const lb = layer.get(b);
    if (la === undefined || lb === undefined) {
      out.push(`${e.from} → ${e.to}: room ${la === undefined ? a : b} is not declared in LAYERS`);
    } else if (la <= lb) {
      out.push(
        `${e.from} → ${e.to}: ${a} (layer ${la}) may not import ${b} (layer ${lb})${la === lb ? ' — peers' : ''}`,
      );
    }
  }
  return out;
}

/** Import circles among the given nodes (each as a path a → … → a); empty when there is none. */
function circles(edges: readonly ImportEdge[], node: (path: string) => string): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = node(e.from);
    const b = node(e.to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      const s = state.get(m);
      if (s === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (s === undefined) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...next.keys()].sort()) if (!state.has(n)) visit(n);
  return found;
}

describe('architecture: one-way imports', () => {
  const files = sourceFiles(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));
  const edges = importGraph(files);

  it('reads the imports of src/', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.some((e) => e.from.startsWith('gateway/') && e.to.startsWith('requestcontrol/'))).toBe(true);
  });

  it('imports point from a higher layer to a lower one only', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it('has no import circle between rooms', () => {
    expect(circles(edges, roomOf).map((c) => c.join(' → '))).toEqual([]);
  });

  it('has no import circle between files', () => {
    expect(circles(edges, (p) => p).map((c) => c.join(' → '))).toEqual([]);
  });

  it('catches a planted bad import and a planted circle', () => {
    const planted = [
      ...edges,
      { from: 'scheduling/planted.ts', to: 'requestcontrol/types.ts' },
      { from: 'requestcontrol/types.ts', to: 'scheduling/planted.ts' },
    ];
    expect(layerViolations(planted)).toEqual([
      expect.stringContaining('scheduling/planted.ts → requestcontrol/types.ts'),
    ]);
    expect(circles(planted, (p) => p).length).toBeGreaterThan(0);
  });
});
