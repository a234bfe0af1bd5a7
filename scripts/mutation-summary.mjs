// Condenses the Stryker JSON reports (mutation-testing-report-schema) of one room into a small
// committed summary:
//   node scripts/mutation-summary.mjs ROOM out.json
// A room's report is .stryker-out/ROOM/report.json; a chunked room's are the latest report of each
// chunk (.stryker-out/ROOM/CHUNK/report.json), merged; chunks never run are listed as missing.
// Score = killed (+ timeouts) / (all mutants − ignored − compile errors) — "mutation score" as
// Stryker defines it, counting NoCoverage mutants as survivors.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ROOMS } from './mutation-rooms.mjs';

const [room, output] = process.argv.slice(2);
if (!room || !output || ROOMS[room] === undefined) {
  console.error(
    `usage: node scripts/mutation-summary.mjs ROOM out.json (ROOM: ${Object.keys(ROOMS).join(', ')})`,
  );
  process.exit(2);
}
const chunkNames = Object.keys(ROOMS[room].chunks ?? {});
const parts = chunkNames.length > 0 ? chunkNames : [''];
const reportOf = (part) => `.stryker-out/${room}/${part ? `${part}/` : ''}report.json`;
const missing = parts.filter((part) => !existsSync(reportOf(part)));
if (missing.length === parts.length) {
  console.error(`no report for ${room} yet: run scripts/mutation.sh ${room} ${parts[0]}`.trim());
  process.exit(1);
}
const report = { files: {} };
// Chunks may split one file by line ranges: their mutants of that file are merged.
for (const part of parts.filter((p) => !missing.includes(p))) {
  for (const [file, data] of Object.entries(JSON.parse(readFileSync(reportOf(part), 'utf8')).files)) {
    const seen = report.files[file];
    report.files[file] = seen ? { ...seen, mutants: [...seen.mutants, ...data.mutants] } : data;
  }
}
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const total = { detected: 0, undetected: 0, byStatus: {} };
const files = {};
const survivors = [];
for (const [file, data] of Object.entries(report.files)) {
  const lines = data.source.split('\n');
  const f = { detected: 0, undetected: 0 };
  for (const m of data.mutants) {
    total.byStatus[m.status] = (total.byStatus[m.status] ?? 0) + 1;
    if (DETECTED.has(m.status)) {
      f.detected++;
      total.detected++;
    } else if (UNDETECTED.has(m.status)) {
      f.undetected++;
      total.undetected++;
      const { line, column } = m.location.start;
      survivors.push({
        file,
        line,
        column,
        status: m.status,
        mutator: m.mutatorName,
        original: (lines[line - 1] ?? '').trim().slice(0, 160),
        replacement: (m.replacement ?? '').slice(0, 160),
      });
    }
  }
  const n = f.detected + f.undetected;
  files[file] = { ...f, score: n > 0 ? Math.round((1000 * f.detected) / n) / 10 : null };
}
const n = total.detected + total.undetected;
const summary = {
  room,
  date: new Date().toISOString(),
  score: n > 0 ? Math.round((1000 * total.detected) / n) / 10 : null,
  mutants: n,
  ...(chunkNames.length > 0 ? { chunks: chunkNames, missingChunks: missing } : {}),
  ...total,
  files,
  survivors,
};
writeFileSync(output, `${JSON.stringify(summary, null, 2)}\n`);
const partial = missing.length > 0 ? ` (partial: chunks ${missing.join(', ')} not run yet)` : '';
console.log(
  `${room}: mutation score ${summary.score}% (${total.detected} detected of ${n})${partial}; summary in ${output}`,
);
