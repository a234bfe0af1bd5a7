import type { Command } from 'commander';
import { runDemo } from '../app/index.js';
import { formatDiagnostic, loadPlan } from '../config/index.js';
import { defaultGatewayOptions } from '../gateway/index.js';
import { createSchedulerRegistry } from '../requestcontrol/index.js';
import { validatePickerConfig } from '../scheduling/index.js';
import { createLogger } from '../util/log.js';

interface DemoFlags {
  replicas: string;
  timeScale: string;
  host: string;
  port: string;
  inferencePort: string;
  adminPort: string;
}

/** `infergate demo`: simulated replicas + the gateway, no cluster and no flags needed. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .summary('try the gateway on simulated replicas, no cluster needed')
    .description(
      'Start simulated vLLM replicas and the gateway with a configuration modelled on the documents: a ' +
        'standard port (Service) and an inference port (InferencePool), a model with a canary split, and a ' +
        'mirror to a candidate. Prints what to curl; runs until Ctrl-C.',
    )
    .option('--replicas <n>', 'simulated production replicas', '3')
    .option('--time-scale <f>', 'simulator time scale: 1 = real time, 0.1 = ten times faster', '1')
    .option('--host <address>', 'bind address', '127.0.0.1')
    .option('--port <port>', 'standard (Service) port; a free one is chosen if busy', '8080')
    .option('--inference-port <port>', 'inference (InferencePool) port; a free one is chosen if busy', '8081')
    .option('--admin-port <port>', 'admin port; a free one is chosen if busy', '9090')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  infergate demo                          real-time replicas on 8080 (Service) and 8081 (InferencePool)\n' +
        '  infergate demo --time-scale 0.1         ten times faster simulated hardware\n' +
        '  infergate demo --replicas 5 --port 18080 --inference-port 18081 --admin-port 19090\n' +
        '\nDocs: README.md (quick start), docs/gateway.md',
    )
    .action(async (flags: DemoFlags) => {
      const replicas = Number(flags.replicas);
      const timeScale = Number(flags.timeScale);
      const ports = [flags.port, flags.inferencePort, flags.adminPort].map(Number);
      const bad =
        !Number.isInteger(replicas) || replicas < 1
          ? `--replicas must be an integer ≥ 1 (got "${flags.replicas}")`
          : !(timeScale > 0)
            ? `--time-scale must be a positive number (got "${flags.timeScale}")`
            : ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)
              ? 'ports must be integers in 0–65535'
              : undefined;
      if (bad) {
        process.stderr.write(`infergate demo: ${bad}\n`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger('demo');
      const script = process.argv[1]!;
      process.exitCode = await runDemo({
        replicas,
        timeScale,
        host: flags.host,
        httpPort: ports[0]!,
        inferencePort: ports[1]!,
        adminPort: ports[2]!,
        cli: { command: process.execPath, args: [...process.execArgv, script] },
        load: (files) => loadPlan(files, { validatePickerConfig }),
        formatDiagnostic,
        gateway: defaultGatewayOptions(logger),
        poolRouters: (o) => createSchedulerRegistry(o),
        logger,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
      });
    });
}
