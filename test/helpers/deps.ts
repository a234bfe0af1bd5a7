/**
 * Where the outside programs installed by scripts/test-deps.sh live. Every dependency script puts
 * its executables (or symlinks to them) in `<cache>/bin/<name>`. Under CI a missing tool is an error:
 * the suite never passes by skipping what it could not install.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const depsCache: string = process.env.INFERGATE_CACHE ?? join(homedir(), '.cache', 'infergate');

/** Absolute path of `<cache>/bin/<name>`, or undefined when it is not installed. */
export function toolPath(name: string): string | undefined {
  const p = join(depsCache, 'bin', name);
  return existsSync(p) ? p : undefined;
}

/**
 * For `describe.skipIf(!hasTool(x))`: true when installed; outside CI a missing tool prints why its
 * tests are skipped, and under CI it throws so the run fails.
 */
export function hasTool(name: string): boolean {
  if (toolPath(name)) return true;
  const why = `${name} is not installed in ${join(depsCache, 'bin')}: run \`npm run test:deps\``;
  if (process.env.CI) throw new Error(why);
  console.warn(`skipping tests that need ${why}`);
  return false;
}
