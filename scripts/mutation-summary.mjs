// Condenses a Stryker JSON report (mutation-testing-report-schema) into a small committed summary:
//   node scripts/mutation-summary.mjs ROOM report.json out.json
// Score = killed (+ timeouts) / (all mutants − ignored − compile errors) — "mutation score" as
// Stryker defines it, counting NoCoverage mutants as survivors.
import { readFileSync, writeFileSync } from 'node:fs';

const [room, input, output] = process.argv.slice(2);
if (!room || !input || !output) {
  console.error('usage: node scripts/mutation-summary.mjs ROOM report.json out.json');
  process.exit(2);
}
const report = JSON.parse(readFileSync(input, 'utf8'));
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
  ...total,
  files,
  survivors,
};
writeFileSync(output, `${JSON.stringify(summary, null, 2)}\n`);
console.log(
  `${room}: mutation score ${summary.score}% (${total.detected} detected of ${n}); summary in ${output}`,
);
