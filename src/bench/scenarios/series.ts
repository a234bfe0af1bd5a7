/**
 * A series of scenario runs for the benchmark scripts (bench/quality.ts, bench/peers.ts): each run
 * in turn on fresh children, Ctrl-C stopping the current one (twice: at once), and the pieces of
 * their Markdown reports — the header line naming the command and the machine, and a figure table
 * with ratio columns against one target.
 */
import { cpus } from 'node:os';
import type { TargetResult } from '../bench.js';
import type { BenchFlags } from '../flags.js';
import { figureValues, ratio } from '../report/figures.js';
import { executeScenario, type ScenarioOutcome } from './run.js';
import type { ScenarioDefinition } from './types.js';

/** One scenario execution of a series. */
export interface SeriesRun {
  def: ScenarioDefinition;
  /** The scenario's flags (json, seed, strategy …); `scenario` and `quick` are filled in. */
  flags: BenchFlags;
}

export interface SeriesOptions {
  quick: boolean;
  version: string;
  /** Manifests added to every target's gateway. */
  manifests?: readonly string[] | undefined;
}

/** The runs' outcomes in order (those not started after an interrupt are missing) and the worst exit code. */
export interface SeriesResult {
  outcomes: { run: SeriesRun; outcome: ScenarioOutcome }[];
  code: number;
}

/** Runs `runs` one after another; SIGINT / SIGTERM stop the current run (a second one exits at once). */
export async function runSeries(runs: readonly SeriesRun[], opts: SeriesOptions): Promise<SeriesResult> {
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: stopping (again to quit at once)\n');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io = { stdout: process.stdout, stderr: process.stderr };
  const result: SeriesResult = { outcomes: [], code: 0 };
  try {
    for (const run of runs) {
      if (stop.signal.aborted) break;
      const outcome = await executeScenario(run.def, {
        quick: opts.quick,
        flags: { ...run.flags, scenario: run.def.name, quick: opts.quick },
        io,
        version: opts.version,
        signal: stop.signal,
        extraManifests: opts.manifests,
      });
      result.code = Math.max(result.code, outcome.code);
      result.outcomes.push({ run, outcome });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return result;
}

/** The report's first line: the command, the version, when, the machine and its load average (`os.loadavg()`) at the start. */
export function seriesHeader(
  command: string,
  version: string,
  started: Date,
  load: readonly number[],
): string {
  return (
    `Command: \`${command}\` · infergate ${version} · ${started.toISOString()} · ` +
    `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, load average at start ${load.map((l) => l.toFixed(2)).join(' / ')}` +
    ' (shared machine unless stated otherwise: timing figures are noisy).'
  );
}

/** A figure of the table: its key (report/figures.ts), label and decimals. */
export type FigureRowSpec = readonly [key: string, label: string, decimals: number];

export function formatFigure(v: number | null | undefined, decimals: number): string {
  return v == null || !Number.isFinite(v) ? '–' : v.toFixed(decimals);
}

/**
 * Markdown table: one column per target, then `<target> / <reference label>` ratio columns for every
 * other target against `reference` (none when it did not run).
 */
export function figureTable(
  targets: readonly TargetResult[],
  rows: readonly FigureRowSpec[],
  reference: string,
  referenceLabel = reference,
): string[] {
  const values = targets.map(figureValues);
  const refIdx = targets.findIndex((t) => t.name === reference);
  const others = refIdx < 0 ? [] : targets.map((_, i) => i).filter((i) => i !== refIdx);
  const head = [
    'figure',
    ...targets.map((t) => t.name),
    ...others.map((i) => `${targets[i]!.name} / ${referenceLabel}`),
  ];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [key, label, decimals] of rows) {
    const cells = values.map((v) => formatFigure(v[key], decimals));
    for (const i of others) {
      const r = ratio(values[i]![key], values[refIdx]![key]);
      cells.push(r === null ? '–' : `${r.toFixed(2)}×`);
    }
    out.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return out;
}

/** Runs a script's main and sets the exit code; an error is one line on stderr. */
export function runScript(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
