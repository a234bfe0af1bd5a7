import type { Command } from 'commander';

/** `infergate demo` — not built yet (see the issue tracker). */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('infergate demo: not implemented yet\n');
      process.exitCode = 2;
    });
}
