import type { Command } from 'commander';

/** `infergate validate` — not built yet (see the issue tracker). */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('infergate validate: not implemented yet\n');
      process.exitCode = 2;
    });
}
