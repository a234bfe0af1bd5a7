/**
 * What `infergate bench` does once its flags are parsed: run the benchmark (or a scenario), print
 * vLLM-style tables on stdout, progress and warnings on stderr, and write the JSON / HTML reports.
 * Returns the exit code: 0 when every target served at least one request, 1 when a target served
 * none (nothing was measured), 2 for usage errors.
 */
import { discoverModel, runBench } from './bench.js';
import { BenchError } from './errors.js';
import { type BenchFlags, optionsFromFlags, requireModel } from './flags.js';
import type { BenchOptions } from './options.js';
import { type CommandIo, printComparison, printTarget, writeReports } from './output.js';
import { describeScenarioPlan, listScenarios, runScenario, scenarioByName } from './scenarios/index.js';

function summary(o: BenchOptions): string {
  const l = o.load;
  const load =
    o.dataset.name === 'multi-round'
      ? `qps ${o.dataset.qps}, ${o.dataset.numUsers} users × ${o.dataset.numRounds} rounds`
      : `${Number.isFinite(l.requestRate) ? `rate ${l.requestRate}/s` : 'rate inf'}${l.maxConcurrency ? `, concurrency ${l.maxConcurrency}` : ''}`;
  const bounds = [
    l.numPrompts !== undefined ? `${l.numPrompts} requests` : '',
    l.durationS !== undefined ? `${l.durationS} s` : '',
  ]
    .filter(Boolean)
    .join(' / ');
  const scale = o.timeScale !== 1 ? `, time scale ${o.timeScale}` : '';
  return `infergate bench: ${o.dataset.name} on ${o.endpoint}, model ${o.model}, ${load}, ${bounds}, seed ${o.seed}${scale}\n`;
}

export type { CommandIo };

export async function benchCommand(flags: BenchFlags, io: CommandIo, version: string): Promise<number> {
  try {
    if (flags.listScenarios) {
      io.stdout.write(listScenarios());
      return 0;
    }
    const stop = new AbortController();
    let interrupts = 0;
    // Ctrl-C or SIGTERM: stop sending, report what finished, stop any simulator / gateway children
    // (scenarios). A second signal exits at once; the children are then killed by an exit hook.
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      io.stderr.write(
        '\ninterrupted: aborting in-flight requests, reporting what finished (Ctrl-C again to quit)\n',
      );
      stop.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      if (flags.scenario !== undefined) {
        const scenario = scenarioByName(flags.scenario);
        if (flags.dryRun) {
          io.stdout.write(describeScenarioPlan(scenario, flags.quick === true, flags));
          return 0;
        }
        return await runScenario(scenario, {
          quick: flags.quick === true,
          flags,
          io,
          version,
          signal: stop.signal,
        });
      }
      const { options: partial, outputs } = optionsFromFlags(flags);
      const firstUrl = partial.targets[0]!.url;
      const model = requireModel(partial.model ?? (await discoverModel(firstUrl, partial.apiKey)), firstUrl);
      const options: BenchOptions = { ...partial, model, signal: stop.signal };
      io.stderr.write(summary(options));
      const several = options.targets.length > 1;
      const report = await runBench(options, {
        progressStream: io.stderr,
        onTargetDone: (r) => printTarget(options, r, io, several),
      });
      printComparison(report, io);
      writeReports(report, io, outputs, version);
      return report.targets.every((t) => t.metrics.completed > 0) ? 0 : 1;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  } catch (err) {
    if (err instanceof BenchError) {
      io.stderr.write(`infergate bench: ${err.message}\n`);
      return err.isUsage ? 2 : 1;
    }
    throw err;
  }
}
