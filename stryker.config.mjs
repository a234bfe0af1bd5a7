// Mutation testing (Stryker + its vitest runner), one room (or one chunk of a room) at a time:
// `scripts/mutation.sh ROOM [CHUNK]`.
// Not part of `npm test` (a room takes minutes). Each room names the source it mutates and the
// tests that guard it; vitest.mutation.config.ts runs only those tests (MUTATION_TESTS).
// Tests that start child processes cannot kill mutants (the child runs the unmutated code), so
// each room lists the in-process tests that exercise it.
import { roomPart } from './scripts/mutation-rooms.mjs';

const room = roomPart(process.env.MUTATION_ROOM ?? '', process.env.MUTATION_CHUNK ?? '');
process.env.MUTATION_TESTS = room.tests.join(',');

const out = room.out;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: room.mutate,
  // .stryker-tmp*: the sandboxes of other runs going on in this worktree (a run would copy them).
  ignorePatterns: ['dist', 'docs', 'bench/results', '.stryker-out', '.stryker-tmp*', 'deploy'],
  // One sandbox per room and chunk, so that chunks can run side by side.
  tempDirName: ['.stryker-tmp', process.env.MUTATION_ROOM, process.env.MUTATION_CHUNK]
    .filter(Boolean)
    .join('-'),
  cleanTempDir: 'always',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 3_000,
  disableBail: room.disableBail,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `${out}/report.json` },
  htmlReporter: { fileName: `${out}/report.html` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 80, low: 60, break: null },
  // Later runs of a room (or chunk) retest only mutants whose code or covering tests changed since the last
  // run (Stryker's incremental mode); MUTATION_FORCE=1 retests everything.
  incremental: true,
  force: process.env.MUTATION_FORCE === '1',
  incrementalFile: `${out}/incremental.json`,
};
