import type { Command } from 'commander';
import { benchCommand } from '../bench/command.js';
import type { BenchFlags } from '../bench/flags.js';
import { SCENARIOS } from '../bench/scenarios/index.js';
import { collect } from './flags.js';
import { VERSION } from './version.js';

/** `infergate bench`: the load generator (flags named like vLLM's benchmark where it has them). */
export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .summary('benchmark OpenAI-compatible endpoints or run a scenario')
    .description(
      'Send a seeded workload to one or more OpenAI-compatible endpoints (streaming, with usage) and ' +
        "report TTFT, TPOT, ITL, E2E latency, throughput and goodput as vLLM's benchmark does, plus the " +
        "replicas' prefix-cache hit rate and per-replica load when their /metrics are given. With several " +
        'targets the same requests go to each in turn and the figures are compared side by side.',
    );

  cmd.optionsGroup('Targets:');
  cmd
    .option('--url <url>', 'base URL of the server or gateway (e.g. http://127.0.0.1:8080)')
    .option('--compare <url...>', 'several targets, each URL or NAME=URL; the first is the baseline')
    .option('--target <name=url>', 'a named target (repeatable)', collect)
    .option('--endpoint <path>', '/v1/completions (default) or /v1/chat/completions')
    .option('--model <name>', 'model to send (default: the first model GET /v1/models lists)')
    .option('--served-model-name <name>', 'model name sent in requests (overrides --model, as in vLLM)')
    .option('--api-key <key>', 'bearer token (default: $OPENAI_API_KEY)');

  cmd.optionsGroup('Workload:');
  cmd
    .option('--dataset-name <name>', 'random (default) | sharegpt | shared-prefix | multi-round | lora-mix')
    .option(
      '--dataset <file>',
      'ShareGPT JSON file for --dataset-name sharegpt (without it: built-in lengths)',
    )
    .option('--dataset-path <file>', 'same as --dataset (vLLM spelling)')
    .option('--seed <n>', 'seed of every random choice; same seed and flags = same requests (default 0)')
    .option('--no-ignore-eos', 'let the server stop at end-of-sequence (default: ignore_eos, exact lengths)');

  cmd.optionsGroup('random / lora-mix (as vllm bench serve):');
  cmd
    .option('--random-input-len <n>', 'input tokens per request, without the prefix (default 1024)')
    .option('--random-output-len <n>', 'output tokens per request (default 128)')
    .option('--random-range-ratio <r>', 'lengths drawn from [L(1-r), L(1+r)] (default 0)')
    .option('--random-range-mode <mode>', 'centered (default) | legacy: [L*r, L] as vLLM <= 0.8')
    .option('--random-prefix-len <n>', 'tokens shared by every request, in front (default 0)')
    .option(
      '--lora <split>',
      'model per request: adapter:weight,… ("base" = --model), e.g. a:0.5,b:0.3,base:0.2',
    )
    .option('--model-mix <split>', 'same as --lora for any model names (e.g. InferenceModels by criticality)')
    .option('--objective-mix <split>', 'x-gateway-inference-objective per request: name:weight,…');

  cmd.optionsGroup('sharegpt:');
  cmd.option('--sharegpt-output-len <n>', 'fixed output length instead of the conversation’s answer');

  cmd.optionsGroup('shared-prefix (as inference-perf):');
  cmd
    .option('--num-groups <n>', 'system prompts (default 10)')
    .option('--prompts-per-group <n>', 'questions per system prompt (default 10)')
    .option(
      '--group-zipf <s>',
      'draw each request’s group by Zipf(s) popularity (group 1 the most popular) instead of shuffled rounds',
    )
    .option('--system-prompt-len <n>', 'tokens per system prompt (default 100)')
    .option('--question-len <n>', 'tokens per question (default 50; multi-round: 16, or "sharegpt")')
    .option('--output-len <n>', 'output tokens per request (default 50)');

  cmd.optionsGroup('multi-round (as LMCache multi-round QA):');
  cmd
    .option('--num-users <n>', 'concurrent conversations (default 10)')
    .option('--num-rounds <n>', 'questions per conversation (default 5)')
    .option('--qps <r>', 'requests per second over all users (default 0.5)')
    .option('--shared-system-prompt <n>', 'tokens of the system prompt every user shares (default 1000)')
    .option('--user-history-prompt <n>', 'tokens of each user’s own context (default 2000)')
    .option('--answer-len <n>', 'max tokens per answer (default 100)');

  cmd.optionsGroup('Load:');
  cmd
    .option('--request-rate <r>', 'requests/s, Poisson arrivals; inf = all at once (default inf)')
    .option('--max-concurrency <n>', 'most requests in flight (closed loop with --request-rate inf)')
    .option('--num-prompts <n>', 'requests to send (default 1000 unless --duration)')
    .option('--duration <s>', 'stop sending after this many seconds')
    .option('--time <s>', 'same as --duration (LMCache spelling)')
    .option(
      '--grace <s>',
      'after a bound, in-flight requests get this long before being aborted (default 60 after --duration)',
    )
    .option('--request-timeout <s>', 'per-request limit (default 21600)')
    .option(
      '--no-initial-test',
      'skip the uncounted first request vLLM sends before the run (default: sent, random/sharegpt/shared-prefix)',
    )
    .option(
      '--time-scale <s>',
      'the targets are simulators at this --time-scale: rates and times are converted',
    )
    .option('--max-connections <n>', 'sockets per target (default: --max-concurrency, else 512)');

  cmd.optionsGroup('Statistics:');
  cmd
    .option('--goodput <slo...>', 'SLOs for goodput, e.g. ttft:500 tpot:50 e2el:10000 (ms)')
    .option('--metric-percentiles <list>', 'percentiles in the table, e.g. 90,99 (default 99)')
    .option('--percentile-metrics <list>', 'table sections: ttft,tpot,itl,e2el (default ttft,tpot,itl)')
    .option(
      '--scrape-metrics <url...>',
      'the replicas’ /metrics (prefix-cache hit rate, per-replica load); NAME=URL for one target only',
    )
    .option('--sample-interval <s>', 'how often the replicas are sampled during the run (default 1)')
    .option(
      '--gateway-admin <url...>',
      'the infergate gateway’s admin port (e.g. http://127.0.0.1:9090): its live page is printed while the run goes; NAME=URL for one target only',
    );

  cmd.optionsGroup('Output:');
  cmd
    .option('--json <file>', 'write every figure as JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--save-detailed', 'keep per-request records in the JSON')
    .option('--progress <mode>', 'auto (default: bar on a terminal) | bar | lines | none');

  cmd.optionsGroup(
    'Scenarios (start simulators and the gateway; compare with a document or issue 5’s goals):',
  );
  cmd
    .option('--scenario <name>', SCENARIOS.map((s) => s.name).join(' | '))
    .option('--quick', 'the scenario’s short form (under a minute; indicative numbers)')
    .option('--full', 'the document’s own size where the default run is smaller (seed-002: 3000 prompts)')
    .option(
      '--strategy <targets>',
      'run only these targets, e.g. standard,inference; NAME=PROFILE sets a pool target’s scheduler (default, prefix-cache …) or a Service target’s balancing',
    )
    .option(
      '--sim-arg <arg>',
      'an extra `infergate sim` argument for the scenario’s fleet, e.g. --sim-arg=--metrics-refresh=live (repeatable)',
      collect,
    )
    .option('--dry-run', 'print what the scenario would start and send, start nothing')
    .option('--list-scenarios', 'list the scenarios');
  cmd.addHelpText(
    'after',
    '\nWith --scenario, only --quick, --full, --strategy, --sim-arg, --time-scale, --seed, --num-prompts, --duration/--time,\n' +
      '--json, --html, --progress and --save-detailed apply: the scenario defines the rest.',
  );

  cmd.addHelpText(
    'after',
    '\nExamples:\n' +
      '  infergate bench --url http://127.0.0.1:8000 --model m --random-input-len 512 --num-prompts 200 --max-concurrency 16\n' +
      '  infergate bench --compare standard=http://127.0.0.1:8080 inference=http://127.0.0.1:8081 \\\n' +
      '      --random-prefix-len 1000 --random-input-len 4000 --random-output-len 300 --json out.json --html out.html\n' +
      '  infergate bench --url http://127.0.0.1:8081 --endpoint /v1/chat/completions --dataset-name multi-round \\\n' +
      '      --num-users 8 --num-rounds 15 --qps 0.1 --duration 600\n' +
      '  infergate bench --scenario seed-002 --quick --json out.json\n' +
      '\nDocs: docs/benchmark.md',
  );

  cmd.action(async (flags: BenchFlags) => {
    process.exitCode = await benchCommand(flags, { stdout: process.stdout, stderr: process.stderr }, VERSION);
  });
}
