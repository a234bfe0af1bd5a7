import type { Command } from 'commander';

/** `infergate bench` — not built yet (see the issue tracker). */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('infergate bench: not implemented yet\n');
      process.exitCode = 2;
    });
}
