#!/usr/bin/env node
/**
 * The `infergate` command. Each subcommand lives in its own file under src/cli/ and only parses
 * flags before calling into its room (config, gateway, sim, bench).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerDemo } from './demo-command.js';
import { registerEnvoyConfig } from './envoy-config.js';
import { registerEpp } from './epp.js';
import { registerServe } from './serve-command.js';
import { registerSim } from './sim.js';
import { registerValidate } from './validate.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('infergate')
    .description(
      'An inference-aware gateway for self-hosted LLM serving. It reads the Kubernetes resources ' +
        'you already write (Gateway, HTTPRoute, InferencePool, InferenceModel / InferenceObjective), ' +
        'serves the OpenAI API, and picks a model-server replica per request from live metrics and ' +
        'prefix-cache locality.',
    )
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerDemo(program);
  registerServe(program);
  registerEpp(program);
  registerEnvoyConfig(program);
  registerValidate(program);
  registerSim(program);
  registerBench(program);
  program.addHelpText(
    'after',
    '\nStart here:\n' +
      '  infergate demo                      simulated vLLM replicas + the gateway, no cluster needed\n' +
      '  infergate validate -f manifests/    check manifests and print the plan that would be served\n' +
      '  infergate serve -f manifests/       run the gateway\n' +
      '\nDocs: README.md, docs/architecture.md, docs/configuration.md (manifests and validate)',
  );
  return program;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`infergate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
