/**
 * `infergate sim`: N simulated vLLM replicas in one process. Flags use vLLM's spelling where vLLM
 * has one. stdout carries only the contract lines, in replica order, once each replica accepts
 * connections:
 *   replica <i> kv-events <pub endpoint> replay <router endpoint | none>   (with --kv-events-config)
 *   replica <i> ready http://<host>:<port> model=<served-model-name>
 *   sim ready <N> replicas
 * Logs and warnings go to stderr. SIGINT/SIGTERM stop every replica and exit 0.
 */
import { rename, writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_PROFILE,
  FAILURE_TYPES,
  type FailureType,
  parseLabels,
  parseLoraModule,
  podManifestsYaml,
  profileNames,
  type SimClusterOptions,
  type SimReplicaOptions,
  startSimCluster,
} from '../sim/index.js';
import { KvEventsConfigError, parseKvEventsConfig } from '../sim/kv/kv-events-config.js';
import { createLogger } from '../util/log.js';

function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

function numArg(min: number, max = Number.POSITIVE_INFINITY) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number in [${min}, ${max}]`);
    return n;
  };
}

function listArg(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

interface SimFlags {
  replicas: number;
  host: string;
  port: number;
  profile?: string;
  replicaProfiles?: string[];
  engine: 'v0' | 'v1';
  preemptionMode?: 'recompute' | 'swap';
  swapSpace?: number;
  trace?: string;
  model?: string;
  servedModelName?: string[];
  maxNumSeqs?: number;
  maxModelLen?: number;
  maxNumBatchedTokens?: number;
  blockSize?: number;
  numGpuBlocks?: number;
  kvCacheBlocks?: number;
  numGpuBlocksOverride?: number;
  gpuMemoryUtilization?: number;
  enablePrefixCaching?: boolean;
  enableChunkedPrefill?: boolean;
  enableLora?: boolean;
  maxLoras?: number;
  maxCpuLoras?: number;
  loraModules?: string[];
  enablePromptTokensDetails?: boolean;
  seed: number;
  timeScale: number;
  metricsVersion?: 'v0' | 'v1';
  metricsRefresh?: 'step' | 'live';
  naturalOutputLen?: number;
  naturalOutputRange?: number;
  failureRate: number;
  failureTypes?: string[];
  hangRate: number;
  disconnectRate: number;
  slowStart: number;
  slowStartMode: 'refuse' | 'unavailable';
  lagWarnMs?: number;
  maxEmitLagMs?: number;
  writeIntervalMs?: number;
  maxWriteIntervalMs?: number;
  spinWait?: boolean;
  emitPods?: string;
  podLabels?: string;
  podNamePrefix: string;
  podNamespace: string;
  targetPort: number;
  kvEventsConfig?: string;
  kvEventsLayout?: 'map' | 'array';
  tokenizer?: string;
  chatTemplate?: string;
}

/** Maps parsed flags to cluster options (exported for tests of the flag mapping). */
export function simOptionsFromFlags(f: SimFlags): SimClusterOptions {
  const failureTypes = f.failureTypes?.map((t) => {
    if (!(FAILURE_TYPES as readonly string[]).includes(t)) {
      throw new InvalidArgumentError(`unknown failure type "${t}" (known: ${FAILURE_TYPES.join(', ')})`);
    }
    return t as FailureType;
  });
  const shared: Partial<SimReplicaOptions> = {
    profile: f.profile,
    engine: f.engine,
    preemptionMode: f.preemptionMode,
    swapSpaceGiB: f.swapSpace,
    model: f.model,
    servedModelNames: f.servedModelName,
    maxNumSeqs: f.maxNumSeqs,
    maxModelLen: f.maxModelLen,
    maxNumBatchedTokens: f.maxNumBatchedTokens,
    blockSize: f.blockSize,
    numGpuBlocks: f.numGpuBlocks ?? f.kvCacheBlocks ?? f.numGpuBlocksOverride,
    gpuMemoryUtilization: f.gpuMemoryUtilization,
    enablePrefixCaching: f.enablePrefixCaching,
    enableChunkedPrefill: f.enableChunkedPrefill,
    enableLora: f.enableLora,
    maxLoras: f.maxLoras,
    maxCpuLoras: f.maxCpuLoras,
    loraModules: f.loraModules?.map(parseLoraModule),
    enablePromptTokensDetails: f.enablePromptTokensDetails,
    seed: f.seed,
    timeScale: f.timeScale,
    metricsVersion: f.metricsVersion,
    metricsRefresh: f.metricsRefresh,
    naturalOutputLen: f.naturalOutputLen,
    naturalOutputRange: f.naturalOutputRange,
    failureRate: f.failureRate,
    failureTypes,
    hangRate: f.hangRate,
    disconnectRate: f.disconnectRate,
    slowStartSeconds: f.slowStart,
    slowStartMode: f.slowStartMode,
    lagWarnMs: f.lagWarnMs,
    maxEmitLagMs: f.maxEmitLagMs,
    spinWait: f.spinWait,
    kvEventsConfig: f.kvEventsConfig === undefined ? undefined : kvEventsConfigArg(f.kvEventsConfig),
    kvEventsLayout: f.kvEventsLayout,
    tokenizer: f.tokenizer,
    chatTemplate: f.chatTemplate,
  };
  // Drop unset keys so the replica defaults (often profile-dependent) apply.
  for (const k of Object.keys(shared) as (keyof SimReplicaOptions)[])
    if (shared[k] === undefined) delete shared[k];
  const perReplica = f.replicaProfiles
    ? Array.from({ length: f.replicas }, (_, i) => ({
        profile: f.replicaProfiles![i % f.replicaProfiles!.length]!,
      }))
    : undefined;
  return {
    ...shared,
    replicas: f.replicas,
    host: f.host,
    port: f.port,
    perReplica,
    writeIntervalMs: f.writeIntervalMs,
    maxWriteIntervalMs: f.maxWriteIntervalMs,
    trace: f.trace,
  };
}

function kvEventsConfigArg(text: string) {
  try {
    return parseKvEventsConfig(text);
  } catch (err) {
    if (err instanceof KvEventsConfigError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function registerSim(program: Command): void {
  const cmd = program
    .command('sim')
    .summary('run simulated vLLM replicas')
    .description(
      'Run simulated vLLM replicas: the OpenAI API, vLLM metrics, continuous batching, a paged KV cache ' +
        'with prefix caching, LoRA adapters and failure injection, with timing presets for real hardware.',
    );

  cmd.optionsGroup('Replicas:');
  cmd
    .option('--replicas <n>', 'number of independent replicas', intArg(1, 1024), 1)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option(
      '--port <port>',
      'first port: replica i listens on port+i; 0 = OS-chosen ports',
      intArg(0, 65535),
      8000,
    )
    .option('--profile <name>', `timing preset: ${profileNames().join(' | ')} (default: ${DEFAULT_PROFILE})`)
    .option('--replica-profiles <list>', 'comma-separated profiles by replica index (cycled)', listArg)
    .option('--seed <n>', 'seed (replica i uses seed+i): tokens, jitter, failures', intArg(0, 2 ** 32 - 1), 0)
    .option(
      '--time-scale <f>',
      'wall seconds per engine second; 0.01 runs 100× faster',
      numArg(1e-6, 1e6),
      1,
    );

  cmd.optionsGroup('Model and API (vLLM spelling):');
  cmd
    .option('--model <path>', 'model path (default: the profile’s, as in the documents)')
    .option(
      '--served-model-name <names...>',
      'names the API accepts; the first labels metrics (default: --model)',
    )
    .option('--max-model-len <n>', 'context length (default: the profile’s)', intArg(2))
    .addOption(
      new Option('--metrics-version <v>', 'vLLM metric names (default: the engine’s)').choices(['v0', 'v1']),
    )
    .addOption(
      new Option(
        '--metrics-refresh <when>',
        '/metrics engine values: as of the last completed step, as vLLM reports them, or live at each scrape',
      )
        .choices(['step', 'live'])
        .default('step'),
    )
    .option('--enable-prompt-tokens-details', 'report usage.prompt_tokens_details.cached_tokens')
    .option(
      '--natural-output-len <n>',
      'mean tokens before the simulated EOS, 0 = never (default: 256)',
      numArg(0),
    )
    .option(
      '--natural-output-range <r>',
      'EOS point uniform in len × [1−r, 1+r] (default: 0.5)',
      numArg(0, 0.99),
    );

  cmd.optionsGroup('Engine (vLLM spelling):');
  cmd
    .addOption(
      new Option(
        '--engine <v>',
        'scheduler modelled: v1 (vLLM 0.10.x) or v0 (vLLM 0.7.x default: prefill-only steps, no chunked ' +
          'prefill, prefix caching off, V0 metric names)',
      )
        .choices(['v0', 'v1'])
        .default('v1'),
    )
    .addOption(
      new Option(
        '--preemption-mode <mode>',
        'v0: recompute (vLLM’s choice for n=1) or swap to CPU memory',
      ).choices(['recompute', 'swap']),
    )
    .option('--swap-space <GiB>', 'v0: CPU swap space per GPU (default: 4)', numArg(0))
    .option('--max-num-seqs <n>', 'max running requests per step (default: 256)', intArg(1))
    .option(
      '--max-num-batched-tokens <n>',
      'token budget per step (default: 2048 with chunked prefill, else max(max-model-len, 2048))',
      intArg(1),
    )
    .option('--block-size <n>', 'tokens per KV block (default: 16)', intArg(1, 256))
    .option('--num-gpu-blocks <n>', 'KV cache blocks (default: derived from the profile’s memory)', intArg(1))
    .option('--kv-cache-blocks <n>', 'alias of --num-gpu-blocks', intArg(1))
    .addOption(
      new Option('--num-gpu-blocks-override <n>', 'vLLM spelling of --num-gpu-blocks')
        .argParser(intArg(1))
        .hideHelp(),
    )
    .option(
      '--gpu-memory-utilization <f>',
      'fraction of GPU memory for weights + KV (default: 0.9)',
      numArg(0.01, 1),
    )
    .option('--enable-prefix-caching', 'automatic prefix caching (default: on with v1, off with v0)')
    .option('--no-enable-prefix-caching', 'disable prefix caching')
    .option('--enable-chunked-prefill', 'chunked prefill (default: on with v1; v0 does not model it)')
    .option('--no-enable-chunked-prefill', 'disable chunked prefill');

  cmd.optionsGroup('KV events and tokenizer:');
  cmd
    .option(
      '--kv-events-config <json>',
      'publish KV cache events as vLLM does, e.g. \'{"enable_kv_cache_events":true,"endpoint":"tcp://*:5557",' +
        '"replay_endpoint":"tcp://*:5657","topic":"kv"}\'; replica i adds i to the ports (as DP ranks); port * = OS-chosen',
    )
    .addOption(
      new Option('--kv-events-layout <layout>', 'event encoding: current vLLM (map) or vLLM ≤ 0.23 (array)')
        .choices(['map', 'array'])
        .default('map'),
    )
    .option(
      '--tokenizer <path>',
      'a local Hugging Face tokenizer.json (or its directory, with tokenizer_config.json for the chat template); ' +
        'default: the stand-in tokenizer',
    )
    .option(
      '--chat-template <file>',
      'a Jinja chat template overriding the tokenizer’s (as vLLM’s --chat-template)',
    );

  cmd.optionsGroup('LoRA:');
  cmd
    .option('--enable-lora', 'serve LoRA adapters and the load/unload endpoints')
    .option('--max-loras <n>', 'distinct adapters per batch (default: 1)', intArg(1))
    .option('--max-cpu-loras <n>', 'adapters kept loaded in CPU memory (default: --max-loras)', intArg(1))
    .option('--lora-modules <specs...>', 'adapters as name=path (or JSON {"name","path"})');

  cmd.optionsGroup('Failure injection:');
  cmd
    .option('--failure-rate <p>', 'fraction of requests answered with an error', numArg(0, 1), 0)
    .option(
      '--failure-types <list>',
      `error kinds: ${FAILURE_TYPES.join(', ')} (default: server-error,unavailable)`,
      listArg,
    )
    .option('--hang-rate <p>', 'fraction of requests accepted and never answered', numArg(0, 1), 0)
    .option(
      '--disconnect-rate <p>',
      'fraction of requests whose connection drops mid-stream',
      numArg(0, 1),
      0,
    )
    .option('--slow-start <seconds>', 'wall seconds before serving (model loading)', numArg(0), 0)
    .addOption(
      new Option(
        '--slow-start-mode <mode>',
        'refuse: not listening until ready; unavailable: 503 until ready',
      )
        .choices(['refuse', 'unavailable'])
        .default('refuse'),
    );

  cmd.optionsGroup('Timing fidelity (wall clock):');
  cmd
    .option(
      '--lag-warn-ms <ms>',
      'warn when first tokens are written, or stalls add up to, more than this (default: 10)',
      numArg(0.001),
    )
    .option(
      '--max-emit-lag-ms <ms>',
      'wall ms the engine may run ahead of the tokens written before its time is stretched (default: 2)',
      numArg(0.001),
    )
    .option(
      '--write-interval-ms <ms>',
      'fixed wall ms a token that is not a first or last one may wait to share a write (default: adaptive)',
      numArg(0),
    )
    .option('--max-write-interval-ms <ms>', 'ceiling of the adaptive write interval (default: 16)', numArg(0))
    .option(
      '--spin-wait',
      'poll for first and last tokens due in under 1 ms of wall time (precise TTFT, busy core; default: off)',
    )
    .option('--no-spin-wait', 'wait for 1 ms timers (default)');

  cmd.optionsGroup('Trace:');
  cmd.option(
    '--trace <file>',
    'write each replica’s queues (every 0.5 s of engine time) and every finished request as JSON lines',
  );

  cmd.optionsGroup('Pod manifests (for infergate serve -f):');
  cmd
    .option('--emit-pods <file>', 'write Kubernetes Pod manifests for the replicas')
    .option('--pod-labels <k=v,...>', 'labels of the emitted Pods (your pool/Service selector)')
    .option('--pod-name-prefix <prefix>', 'Pod names: <prefix>-<i>', 'sim')
    .option('--pod-namespace <ns>', 'namespace of the emitted Pods', 'default')
    .option(
      '--target-port <port>',
      'containerPort the manifests target (mapped to each replica by hostPort)',
      intArg(1, 65535),
      8000,
    );

  cmd
    .addHelpText(
      'after',
      '\nstdout gets `replica <i> ready http://host:port model=<name>` per replica, then `sim ready <N> replicas`;\n' +
        'logs go to stderr. SIGINT / SIGTERM stop every replica.\n' +
        '\nExamples:\n' +
        '  infergate sim --replicas 3 --port 8000 --profile llama2-7b-a10\n' +
        '  infergate sim --replicas 5 --port 0 --time-scale 0.1 --emit-pods pods.yaml --pod-labels app=vllm\n' +
        '  infergate sim --enable-lora --lora-modules travel=/adapters/travel --max-loras 2\n' +
        '  infergate sim --failure-rate 0.05 --failure-types unavailable,rate-limit --slow-start 5\n' +
        '  infergate sim --replicas 5 --profile qwq-32b-4xa10-tp4 --engine v0 --gpu-memory-utilization 0.95\n' +
        '\nDocs: docs/simulator.md',
    )
    .action(async (flags: SimFlags) => {
      await runSim(flags);
    });
}

async function runSim(flags: SimFlags): Promise<void> {
  const log = createLogger('sim');
  const cluster = await startSimCluster({ ...simOptionsFromFlags(flags), logger: log });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping simulated replicas');
    cluster.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The Pod file is complete (written, then renamed into place) before any ready line is printed:
  // a script that waits for `sim ready` (the README tour) never reads a missing or partial file.
  if (flags.emitPods) {
    const labels = flags.podLabels ? parseLabels(flags.podLabels) : { app: 'infergate-sim' };
    const partial = `${flags.emitPods}.${process.pid}.partial`;
    await writeFile(
      partial,
      podManifestsYaml(cluster.replicas, {
        labels,
        namePrefix: flags.podNamePrefix,
        namespace: flags.podNamespace,
        targetPort: flags.targetPort,
      }),
    );
    await rename(partial, flags.emitPods);
    log.info({ file: flags.emitPods, labels }, 'wrote Pod manifests');
  }
  let out = '';
  for (const r of cluster.replicas) {
    if (r.kvEvents)
      out += `replica ${r.index} kv-events ${r.kvEvents.endpoint} replay ${r.kvEvents.replayEndpoint ?? 'none'}\n`;
    out += `replica ${r.index} ready ${r.url} model=${r.model}\n`;
  }
  process.stdout.write(out);
  process.stdout.write(`sim ready ${cluster.replicas.length} replicas\n`);
}
