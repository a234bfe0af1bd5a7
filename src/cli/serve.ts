import type { Command } from 'commander';

/** `infergate serve` — not built yet (see the issue tracker). */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('infergate serve: not implemented yet\n');
      process.exitCode = 2;
    });
}
