// The rooms of `scripts/mutation.sh`: what each mutates and which in-process tests guard it.
// Globs are relative to the repository root; test files are run as listed (vitest include).
// Tests that start child processes are left out: the child runs the unmutated code, so they cannot
// kill a mutant and would only slow the run down.
// A room with `chunks` is run one chunk at a time (`scripts/mutation.sh ROOM CHUNK`) so that each
// Stryker command stays within about ten minutes on a shared two-core machine; a chunk's `mutate`
// replaces the room's, its `tests` (when given) replace the room's tests. The room's summary merges
// the latest report of every chunk.
// `disableBail: true` runs every covering test of a mutant even after one failed: for rooms whose
// tests hold ZeroMQ sockets in process (the precise prefix scorer's KV-event hub). With bail, vitest
// stops the worker thread mid-file, ZeroMQ aborts the whole test-runner process on that
// (zeromq/zeromq.js#411) and Stryker restarts it for the next mutant: twice as slow, and a mutant
// can end as an error instead of killed.

const NOT_SOURCE = ['!**/*.test.ts', '!**/index.ts', '!**/types.ts'];

const CLIENT_TESTS = [
  'src/bench/client.test.ts',
  'test/bench/client-http.test.ts',
  'test/bench/timing.test.ts',
  'test/bench/loadgen.test.ts',
];

export const ROOMS = {
  // The scheduler proper: framework (runner, config, prompt), plugins, saturation, profiles.
  // The prefix index (src/scheduling/prefix) is its own room: it is large and has its own tests.
  scheduling: {
    disableBail: true,
    mutate: ['src/scheduling/**/*.ts', '!src/scheduling/prefix/**', ...NOT_SOURCE],
    tests: [
      'src/scheduling/*.test.ts',
      'src/scheduling/framework/*.test.ts',
      'src/scheduling/plugins/**/*.test.ts',
    ],
    chunks: {
      framework: {
        mutate: ['src/scheduling/framework/*.ts', 'src/scheduling/*.ts', ...NOT_SOURCE],
      },
      scorers: { mutate: ['src/scheduling/plugins/scorers/*.ts', ...NOT_SOURCE] },
      'pickers-filters': {
        mutate: [
          'src/scheduling/plugins/pickers/*.ts',
          'src/scheduling/plugins/filters/*.ts',
          'src/scheduling/plugins/profile-handlers/*.ts',
          ...NOT_SOURCE,
        ],
      },
    },
  },
  'scheduling-prefix': {
    disableBail: true,
    mutate: ['src/scheduling/prefix/**/*.ts', '!**/*.test.ts', '!**/index.ts'],
    tests: ['src/scheduling/prefix/*.test.ts', 'src/scheduling/plugins/**/*.test.ts'],
  },
  // Request control: the pool router, admission, the registry of pools, and the datastore they
  // account in (endpoint state, objectives).
  requestcontrol: {
    mutate: ['src/requestcontrol/**/*.ts', 'src/datastore/**/*.ts', ...NOT_SOURCE],
    tests: ['src/requestcontrol/*.test.ts', 'src/datastore/*.test.ts'],
    chunks: {
      router: { mutate: ['src/requestcontrol/router.ts', 'src/requestcontrol/least-request-router.ts'] },
      registry: {
        mutate: [
          'src/requestcontrol/admission.ts',
          'src/requestcontrol/scheduler-registry.ts:1-219',
          'src/requestcontrol/scheduler-telemetry.ts',
        ],
      },
      // The scrape paths, with test/scheduling/scrape-loop.test.ts (the registry against real
      // metrics servers on loopback, in the test process: seconds per mutant, hence its own chunk).
      'registry-scrape': {
        mutate: ['src/requestcontrol/scheduler-registry.ts:220-400'],
        tests: [
          'src/requestcontrol/*.test.ts',
          'src/datastore/*.test.ts',
          'test/scheduling/scrape-loop.test.ts',
        ],
      },
      datastore: { mutate: ['src/datastore/**/*.ts', ...NOT_SOURCE] },
    },
  },
  openai: {
    mutate: ['src/openai/**/*.ts', '!**/*.test.ts'],
    tests: ['src/openai/*.test.ts', 'test/gateway/streaming.test.ts'],
  },
  bench: {
    mutate: ['src/bench/client.ts', 'src/bench/stats.ts'],
    tests: [
      'src/bench/client.test.ts',
      'src/bench/stats.test.ts',
      'test/bench/client-http.test.ts',
      'test/bench/timing.test.ts',
      'test/bench/loadgen.test.ts',
    ],
    // The client's tests run real servers (seconds per mutant): the statistics' tests stay apart.
    chunks: {
      stats: { mutate: ['src/bench/stats.ts'], tests: ['src/bench/stats.test.ts'] },
      // client.ts in two line ranges (Stryker's `file:from-to`): its tests run real servers, so the
      // whole file is more than ten minutes of one Stryker command on a shared two-core machine.
      client: { mutate: ['src/bench/client.ts:1-200'], tests: CLIENT_TESTS },
      'client-send': { mutate: ['src/bench/client.ts:201-400'], tests: CLIENT_TESTS },
    },
  },
  'config-diagnostics': {
    mutate: ['src/config/diagnostics.ts'],
    tests: [
      'src/config/diagnostics.test.ts',
      'src/config/load.test.ts',
      'test/config/broken.test.ts',
      'test/config/diagnostic-paths.test.ts',
    ],
  },
};

/** The part of ROOM that one run mutates: the whole room, or one of its chunks. */
export function roomPart(roomName, chunkName) {
  const room = ROOMS[roomName];
  if (room === undefined) {
    throw new Error(`room must be one of ${Object.keys(ROOMS).join(', ')} (got "${roomName}")`);
  }
  const disableBail = room.disableBail === true;
  if (!chunkName)
    return { mutate: room.mutate, tests: room.tests, out: `.stryker-out/${roomName}`, disableBail };
  const chunk = room.chunks?.[chunkName];
  if (chunk === undefined) {
    const names = Object.keys(room.chunks ?? {});
    throw new Error(
      `room ${roomName} has ${names.length > 0 ? `chunks ${names.join(', ')}` : 'no chunks'} (got "${chunkName}")`,
    );
  }
  return {
    mutate: chunk.mutate,
    tests: chunk.tests ?? room.tests,
    out: `.stryker-out/${roomName}/${chunkName}`,
    disableBail,
  };
}
