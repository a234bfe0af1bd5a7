import type { Command } from 'commander';

/** `infergate sim` — not built yet (see the issue tracker). */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('infergate sim: not implemented yet\n');
      process.exitCode = 2;
    });
}
