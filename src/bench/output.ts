/**
 * Printing and writing a finished report: vLLM-style tables on stdout, JSON and HTML files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchReport } from './bench.js';
import type { BenchOptions } from './options.js';
import { reportHtml } from './report/html.js';
import { reportJson, stringifyReport } from './report/json.js';
import { comparisonTable, extrasTable, servingTable } from './report/table.js';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean | undefined; columns?: number | undefined };
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Writes the JSON and HTML reports asked for, saying so on stderr. */
export function writeReports(
  report: BenchReport,
  io: CommandIo,
  outputs: { json?: string | undefined; html?: string | undefined },
  version: string,
  referenceText?: string,
): void {
  if (outputs.json) {
    writeFile(outputs.json, `${stringifyReport(reportJson(report, version))}\n`);
    io.stderr.write(`wrote ${outputs.json}\n`);
  }
  if (outputs.html) {
    writeFile(outputs.html, reportHtml(report, version, referenceText));
    io.stderr.write(`wrote ${outputs.html}\n`);
  }
}

/** Several targets side by side (nothing for one target). */
export function printComparison(report: BenchReport, io: CommandIo): void {
  if (report.targets.length < 2) return;
  const o = report.options;
  const opts = {
    percentileMetrics: o.percentileMetrics,
    percentiles: o.tablePercentiles,
    goodput: o.goodput !== undefined,
  };
  io.stdout.write(`\n${comparisonTable(report.targets, opts)}\n`);
}

export function printTarget(
  report: BenchOptions,
  r: BenchReport['targets'][number],
  io: CommandIo,
  several: boolean,
): void {
  const tableOpts = {
    percentileMetrics: report.percentileMetrics,
    percentiles: report.tablePercentiles,
    goodput: report.goodput !== undefined,
  };
  if (several) io.stdout.write(`\nTarget ${r.name} (${r.url})\n`);
  io.stdout.write(`${servingTable(r.metrics, tableOpts)}\n${extrasTable(r)}\n`);
}
