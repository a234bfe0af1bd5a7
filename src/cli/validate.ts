/**
 * `infergate validate -f FILE|DIR|- …` — load the manifests, print every problem found and the plan
 * that `serve` would run. Exit 0 when there is no error (warnings allowed), 1 when there are errors,
 * 2 on a usage error (no -f, unknown --output).
 */
import type { Command } from 'commander';
import {
  type Diagnostic,
  formatDiagnostic,
  formatPlan,
  loadPlan,
  type PickerConfigValidator,
  planToJSON,
} from '../config/index.js';
import { validatePickerConfig } from '../scheduling/index.js';
import { collect } from './flags.js';

export interface ValidateDeps {
  /** Plugin type / parameter checks for EndpointPickerConfigs (the scheduling room's validator). */
  validatePickerConfig?: PickerConfigValidator;
}

export function registerValidate(program: Command, deps: ValidateDeps = { validatePickerConfig }): void {
  program
    .command('validate')
    .summary('check manifests and print the plan that would be served')
    .description(
      'Load Kubernetes manifests — Gateway API (Gateway, HTTPRoute), Inference Extension (InferencePool, ' +
        'InferenceModel, InferenceObjective, InferenceModelRewrite, EndpointPickerConfig), Istio / ASM ' +
        '(Gateway, VirtualService, LLMRoute), Envoy Gateway BackendTrafficPolicy, Services, Pods and ' +
        'EndpointSlices — check them, and print the plan `infergate serve` would run: listeners → routes → ' +
        'backends, pools with their selectors, endpoints and models, mirrors and timeouts.\n\n' +
        'Every problem is reported with its file, document, object, field path and a fix. Malformed objects ' +
        'are errors; references that do not resolve are warnings (a cluster would accept them and answer 500), ' +
        'and errors with --strict. Kinds that do not affect routing (Deployment, ConfigMap, …) are accepted and ' +
        'listed once.',
    )
    .option(
      '-f, --filename <path>',
      'a manifest file, a folder (every *.yaml / *.yml inside, recursively) or - for stdin; repeat -f for more',
      collect,
    )
    .option('--strict', 'treat references that do not resolve (Service, Gateway, pool, listener …) as errors')
    .option('-o, --output <format>', 'text: problems, then the plan; json: one object on stdout', 'text')
    .addHelpText(
      'after',
      '\nExit status: 0 valid (warnings allowed), 1 errors found, 2 usage error.\n' +
        '\nExamples:\n' +
        '  infergate validate -f examples/seeds/003-inference-gateway.yaml -f examples/seeds/003-inference-pool.yaml\n' +
        '  infergate validate -f manifests/ --strict\n' +
        '  kubectl get inferencepool,httproute -o yaml | infergate validate -f -\n' +
        '  infergate validate -f manifests/ -o json | jq .plan.listeners\n' +
        '\nStandalone endpoints: give Pod objects (status.podIP, optional hostPort) or EndpointSlices; see docs/configuration.md.',
    )
    .action(async function (this: Command, opts: { filename?: string[]; strict?: boolean; output: string }) {
      const sources = opts.filename ?? [];
      if (sources.length === 0) {
        this.error('error: validate needs at least one -f FILE|DIR|- (the manifests to check)', {
          exitCode: 2,
        });
      }
      if (opts.output !== 'text' && opts.output !== 'json') {
        this.error(`error: --output must be "text" or "json", not "${opts.output}"`, { exitCode: 2 });
      }
      const strict = opts.strict ?? false;
      const loadOpts = deps.validatePickerConfig
        ? { strict, validatePickerConfig: deps.validatePickerConfig }
        : { strict };
      const result = await loadPlan(sources, loadOpts);
      const counts = countBySeverity(result.diagnostics);
      if (opts.output === 'json') {
        const body = {
          valid: result.plan !== undefined,
          errors: counts.error,
          warnings: counts.warning,
          files: result.files,
          diagnostics: result.diagnostics,
          plan: result.plan ? planToJSON(result.plan) : null,
        };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      } else {
        const lines: string[] = [];
        for (const d of result.diagnostics) lines.push(formatDiagnostic(d));
        if (lines.length) lines.push('');
        if (result.plan) lines.push(formatPlan(result.plan));
        lines.push(summary(result.plan !== undefined, counts));
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      process.exitCode = result.plan ? 0 : 1;
    });
}

function countBySeverity(diagnostics: readonly Diagnostic[]): {
  error: number;
  warning: number;
  info: number;
} {
  const c = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) c[d.severity]++;
  return c;
}

function summary(valid: boolean, c: { error: number; warning: number; info: number }): string {
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  if (!valid) return `invalid: ${n(c.error, 'error')}, ${n(c.warning, 'warning')} — nothing would be served`;
  return `valid: ${n(c.warning, 'warning')}, ${n(c.info, 'note')}`;
}
