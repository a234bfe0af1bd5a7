// The rooms of `scripts/mutation.sh`: what each mutates and which in-process tests guard it.
// Globs are relative to the repository root; test files are run as listed (vitest include).
// Tests that start child processes are left out: the child runs the unmutated code, so they cannot
// kill a mutant and would only slow the run down.
import { existsSync } from 'node:fs';

/** Request control before / after the restructure (src/pool → src/requestcontrol + src/datastore). */
const requestControl = existsSync('src/requestcontrol')
  ? {
      mutate: [
        'src/requestcontrol/**/*.ts',
        'src/datastore/**/*.ts',
        '!**/*.test.ts',
        '!**/index.ts',
        '!src/requestcontrol/types.ts',
      ],
      tests: ['src/requestcontrol/*.test.ts', 'src/datastore/*.test.ts'],
    }
  : {
      mutate: ['src/pool/**/*.ts', '!**/*.test.ts', '!src/pool/types.ts', '!src/pool/index.ts'],
      tests: ['src/pool/*.test.ts'],
    };

export const ROOMS = {
  // The scheduler proper: framework (runner, config, prompt), plugins, saturation, profiles.
  // The prefix index (src/scheduling/prefix) is its own room: it is large and has its own tests.
  scheduling: {
    mutate: [
      'src/scheduling/**/*.ts',
      '!src/scheduling/prefix/**',
      '!**/*.test.ts',
      '!**/types.ts',
      '!**/index.ts',
    ],
    tests: ['src/scheduling/framework/*.test.ts', 'src/scheduling/plugins/**/*.test.ts'],
  },
  'scheduling-prefix': {
    mutate: ['src/scheduling/prefix/**/*.ts', '!**/*.test.ts', '!**/index.ts'],
    tests: ['src/scheduling/prefix/*.test.ts', 'src/scheduling/plugins/**/*.test.ts'],
  },
  requestcontrol: requestControl,
  openai: {
    mutate: ['src/openai/**/*.ts', '!**/*.test.ts'],
    tests: ['src/openai/*.test.ts', 'test/gateway/streaming.test.ts'],
  },
  bench: {
    mutate: ['src/bench/client.ts', 'src/bench/stats.ts'],
    tests: [
      'src/bench/client.test.ts',
      'src/bench/stats.test.ts',
      'test/bench/timing.test.ts',
      'test/bench/loadgen.test.ts',
    ],
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
