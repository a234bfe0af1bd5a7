/**
 * Runs a scenario: for each target, start the simulator (fresh KV caches), start the gateway on
 * the document's manifests plus the simulator's Pods, run the document's workload through the
 * target's listener, stop both; then print our figures beside the document's and write the reports.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchReport, buildWorkload, runTarget, type TargetResult } from '../bench.js';
import { BenchError } from '../errors.js';
import { type BenchFlags, optionsFromFlags } from '../flags.js';
import type { BenchOptions } from '../options.js';
import { type CommandIo, writeReports } from '../output.js';
import { comparisonTable, extrasTable, servingTable } from '../report/table.js';
import { ChildCli } from './processes.js';
import type { ScenarioDefinition, ScenarioRun, ScenarioTarget } from './types.js';

/** The repository (or installed package) root: examples/ lives there. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ScenarioRunOptions {
  quick: boolean;
  /** The command line's own flags: outputs (--json, --html), --progress, --seed override. */
  flags: BenchFlags;
  io: CommandIo;
  version: string;
  signal?: AbortSignal | undefined;
}

function manifestsOf(def: ScenarioDefinition, target: ScenarioTarget): string[] {
  const files = (target.manifests ?? def.manifests).map((m) => resolve(PACKAGE_ROOT, m));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new BenchError('SCENARIO_FAILED', `${def.name}: manifests not found: ${missing.join(', ')}`);
  }
  return files;
}

function simArgs(run: ScenarioRun, podsFile: string): string[] {
  const s = run.sim;
  return [
    'sim',
    '--replicas',
    String(s.replicas),
    '--port',
    '0',
    '--profile',
    s.profile,
    '--time-scale',
    String(s.timeScale),
    '--seed',
    String(s.seed),
    '--served-model-name',
    s.servedModelName,
    '--emit-pods',
    podsFile,
    '--pod-labels',
    s.podLabels,
    ...s.extraArgs,
  ];
}

/** Starts sim + gateway for one target, runs it, stops both. */
async function runOneTarget(
  def: ScenarioDefinition,
  run: ScenarioRun,
  target: ScenarioTarget,
  options: Omit<BenchOptions, 'targets'>,
  opts: ScenarioRunOptions,
): Promise<TargetResult> {
  const dir = mkdtempSync(join(tmpdir(), `infergate-${def.name}-`));
  const podsFile = join(dir, 'pods.yaml');
  const overlayFiles = def.overlays.map((o) => {
    const f = join(dir, o.name);
    writeFileSync(f, o.yaml);
    return f;
  });
  const manifests = manifestsOf(def, target);
  let sim: ChildCli | undefined;
  let gateway: ChildCli | undefined;
  try {
    opts.io.stderr.write(`${def.name} ${target.name}: starting ${run.sim.replicas} simulated replicas\n`);
    sim = new ChildCli('infergate sim', simArgs(run, podsFile));
    await sim.waitForLine(/^sim ready \d+ replicas/);
    const replicaUrls = sim
      .lines()
      .map((l) => l.match(/^replica \d+ ready (\S+)/)?.[1])
      .filter((u): u is string => u !== undefined);
    const ports = [...new Set(def.targets.map((t) => t.declaredPort))].map((p) => `${p}=0`).join(',');
    const files = [...manifests, ...overlayFiles, podsFile].flatMap((f) => ['-f', f]);
    gateway = new ChildCli('infergate serve', [
      'serve',
      ...files,
      '--port-map',
      ports,
      '--admin-port',
      '0',
      '--no-watch',
    ]);
    const escaped = target.listener.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const listener = await gateway.waitForLine(new RegExp(`^listener ${escaped} ready (\\S+)`));
    await gateway.waitForLine(/^admin ready /);
    const workload = buildWorkload({ ...options, targets: [] });
    return await runTarget(
      { ...options, targets: [] },
      { name: target.name, url: listener[1]!, scrapeUrls: replicaUrls, headers: target.headers },
      { workload, progressStream: opts.io.stderr },
    );
  } finally {
    await gateway?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench options of a scenario run (targets are added per run). */
export function scenarioOptions(
  def: ScenarioDefinition,
  quick: boolean,
  flags: BenchFlags,
): Omit<BenchOptions, 'targets'> {
  const run = quick ? def.quick : def.full;
  const { options } = optionsFromFlags({
    ...run.bench,
    // A placeholder target for validation; the real one is the gateway's listener.
    url: 'http://127.0.0.1:1',
    timeScale: String(run.sim.timeScale),
    progress: flags.progress,
    saveDetailed: flags.saveDetailed,
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  });
  const { targets: _unused, model, ...rest } = options;
  return { ...rest, model: model ?? run.sim.servedModelName };
}

export async function runScenario(def: ScenarioDefinition, opts: ScenarioRunOptions): Promise<number> {
  const run = opts.quick ? def.quick : def.full;
  const options = { ...scenarioOptions(def, opts.quick, opts.flags), signal: opts.signal };
  const io = opts.io;
  io.stderr.write(`${def.name}${opts.quick ? ' (quick)' : ''}: ${def.title}\n`);
  for (const d of run.deviations) io.stderr.write(`  note: ${d}\n`);
  const startedAt = new Date().toISOString();
  const results: TargetResult[] = [];
  const tableOpts = {
    percentileMetrics: options.percentileMetrics,
    percentiles: options.tablePercentiles,
    goodput: false,
  };
  for (const target of def.targets) {
    if (opts.signal?.aborted) break;
    const r = await runOneTarget(def, run, target, options, opts);
    results.push(r);
    io.stdout.write(
      `\nTarget ${r.name}: ${target.description}\n${servingTable(r.metrics, tableOpts)}\n${extrasTable(r)}\n`,
    );
  }
  const report: BenchReport = {
    startedAt,
    options: { ...options, targets: results.map((r) => ({ name: r.name, url: r.url })) },
    workload: {
      scenario: def.name,
      quick: opts.quick,
      ...buildWorkload({ ...options, targets: [] }).describe(),
    },
    targets: results,
  };
  const references = def.documentNumbers
    ? def.targets.map((t) => ({ name: `doc ${t.name}`, values: def.documentNumbers?.[t.name] ?? {} }))
    : undefined;
  io.stdout.write(
    `\n${comparisonTable(results, { ...tableOpts, title: `${def.name}${opts.quick ? ' (quick)' : ''}`, references, referenceTitle: `document ${def.document.file}` })}\n`,
  );
  io.stdout.write(`The document: ${def.documentSays}\n`);
  writeReports(
    report,
    io,
    { json: opts.flags.json, html: opts.flags.html },
    opts.version,
    `${def.documentSays}\n\n${def.notes.join('\n')}`,
  );
  return results.length === def.targets.length && results.every((r) => r.metrics.completed > 0) ? 0 : 1;
}
