import { defineConfig } from 'vitest/config';

/** The tests of one mutation room (comma-separated in MUTATION_TESTS; set by stryker.config.mjs). */
const tests = (process.env.MUTATION_TESTS ?? '').split(',').filter((t) => t.length > 0);

export default defineConfig({
  test: {
    include: tests.length > 0 ? tests : ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
