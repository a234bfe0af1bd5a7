import type { Command } from 'commander';
import { runEpp } from '../app/index.js';
import { formatDiagnostic, loadPlan } from '../config/index.js';
import { parseByteSize } from '../gateway/index.js';
import { KubernetesMode } from '../k8s/index.js';
import { createSchedulerRegistry, type PoolRouterRegistryFactory } from '../requestcontrol/index.js';
import { validatePickerConfig } from '../scheduling/index.js';
import { createLogger } from '../util/log.js';
import { SeededRng } from '../util/rng.js';
import {
  collect,
  duration,
  FlagError,
  integer,
  peerLoadFlags,
  positiveDuration,
  registerPeerOptions,
} from './flags.js';

interface EppFlags {
  kubernetes?: boolean;
  kubeconfig?: string;
  file?: string[];
  pool?: string;
  strict?: boolean;
  watch: boolean;
  host: string;
  grpcPort: string;
  healthPort: string;
  metricsPort: string;
  scheduler: string;
  scrapeInterval: string;
  peerListen?: string;
  peer?: string[];
  peerSelector?: string;
  peerSettle?: string;
  peerSettleTokens?: string;
  seed?: string;
  flowControl?: boolean;
  queueTimeout: string;
  maxBodySize: string;
  streamUsage: boolean;
  responseBodies: string;
  drainTimeout: string;
  debugHeaders?: boolean;
}

const SCHEDULERS = ['config', 'default', 'prefix-cache', 'round-robin', 'least-request'];

/** `infergate epp`: the endpoint picker behind Envoy (ext_proc). */
export function registerEpp(program: Command): void {
  const cmd = program
    .command('epp')
    .summary('run the endpoint picker for Envoy (ext_proc) for one InferencePool')
    .description(
      'Run an Envoy external processor (envoy.service.ext_proc.v3.ExternalProcessor) that picks an ' +
        'endpoint of one InferencePool per request with the same scheduler, objectives, admission and ' +
        'model rewrite as `serve`. Envoy routes by the x-gateway-destination-endpoint it returns ' +
        '(header and envoy.lb metadata). `infergate envoy-config` writes a matching Envoy bootstrap.',
    );

  cmd.optionsGroup('Manifests:');
  cmd
    .option('-f, --file <path>', 'manifest file or folder; repeatable; - reads stdin (required)', collect)
    .option('--pool <[namespace/]name>', 'the InferencePool to pick for (namespace default: default)')
    .option('--strict', 'unresolved references are errors instead of warnings')
    .option('--no-watch', 'do not reload when the manifest files change (SIGHUP still reloads)')
    .option(
      '--kubernetes',
      'instead of -f: watch the API server for the pool, the Pods its selector matches and the ' +
        'InferenceModels / Objectives / Rewrites naming it (docs/kubernetes.md)',
    )
    .option(
      '--kubeconfig <file>',
      'with --kubernetes: kubeconfig to use (default: in-cluster service account)',
    );

  cmd.optionsGroup('Ports:');
  cmd
    .option('--host <address>', 'bind address of every port', '0.0.0.0')
    .option('--grpc-port <port>', 'ext_proc gRPC port (0: any free port)', '9002')
    .option(
      '--health-port <port>',
      'gRPC health port: liveness, readiness, the ExternalProcessor service (0: any; -1: none)',
      '9003',
    )
    .option('--metrics-port <port>', 'Prometheus /metrics, /healthz, /readyz (0: any; -1: none)', '9090');

  cmd.optionsGroup('Picking:');
  cmd
    .option(
      '--scheduler <name>',
      'config (the pool’s own picker config), default, prefix-cache, round-robin or least-request',
      'config',
    )
    .option('--scrape-interval <duration>', 'mean time between two /metrics scrapes of one endpoint', '50ms')
    .option('--seed <n>', 'seed for weighted draws and tie-breaks (repeatable runs)')
    .option(
      '--flow-control',
      'while every endpoint is saturated, hold non-sheddable requests in the picker’s queue',
    )
    .option('--queue-timeout <duration>', 'with --flow-control, longest wait in the queue (then 429)', '30s');

  registerPeerOptions(cmd);

  cmd.optionsGroup('Requests:');
  cmd
    .option('--max-body-size <size>', 'largest request body buffered (413 beyond), e.g. 32MiB', '32MiB')
    .option(
      '--no-stream-usage',
      'do not ask model servers for usage on streams whose client did not (token metrics then miss them)',
    )
    .option(
      '--response-bodies <when>',
      'as given to envoy-config: always, or when-needed (only rewritten requests send response bodies; ' +
        'the others end with the stream)',
      'always',
    )
    .option('--drain-timeout <duration>', 'on SIGTERM, how long open streams may finish', '30s');

  cmd.optionsGroup('Debugging:');
  cmd.option(
    '--debug-headers',
    'add x-infergate-endpoint (the serving endpoint’s address) and x-infergate-decision (profile, pick, ' +
      'scores) to every response, as serve --debug-headers; off, no client can get either',
  );

  cmd
    .addHelpText(
      'after',
      '\nstdout gets `epp ready <host:port>`, `health ready <host:port>` and `metrics ready <url>`;\n' +
        'logs go to stderr. File changes and SIGHUP reload the manifests; SIGTERM stops (streams get\n--drain-timeout).\n' +
        '\nEnvoy in front, two commands:\n' +
        '  infergate envoy-config -f manifests/ --epp 127.0.0.1:9002 > envoy.yaml && envoy -c envoy.yaml &\n' +
        '  infergate epp -f manifests/ --pool default/vllm-llama3-8b-instruct\n' +
        '\nDocs: docs/extproc.md',
    )
    .action(async (flags: EppFlags) => {
      let code: number;
      try {
        code = await epp(flags);
      } catch (err) {
        if (!(err instanceof FlagError)) throw err;
        process.stderr.write(`infergate epp: ${err.message}\n`);
        code = 2;
      }
      process.exitCode = code;
    });
}

/** `ns/name` or `name` (namespace `default`). */
export function poolKeyOf(text: string): string {
  const parts = text.split('/');
  if (parts.length === 1 && parts[0]) return `default/${parts[0]}`;
  if (parts.length === 2 && parts[0] && parts[1]) return text;
  throw new FlagError(`--pool must be NAME or NAMESPACE/NAME (got "${text}")`);
}

async function epp(flags: EppFlags): Promise<number> {
  const sources = flags.file ?? [];
  if (flags.kubernetes && sources.length > 0)
    throw new FlagError('give either -f FILE|DIR or --kubernetes, not both');
  if (sources.length === 0 && !flags.kubernetes)
    throw new FlagError('give the manifests with -f FILE|DIR (repeatable; - reads stdin), or --kubernetes');
  if (flags.pool === undefined) throw new FlagError('name the InferencePool with --pool [NAMESPACE/]NAME');
  const poolKey = poolKeyOf(flags.pool);
  if (!SCHEDULERS.includes(flags.scheduler)) {
    throw new FlagError(`--scheduler must be one of ${SCHEDULERS.join(', ')} (got "${flags.scheduler}")`);
  }
  const maxBody = parseByteSize(flags.maxBodySize);
  if (maxBody === undefined || maxBody <= 0) {
    throw new FlagError(`--max-body-size must be a size such as 32MiB (got "${flags.maxBodySize}")`);
  }
  const seed = flags.seed !== undefined ? integer('--seed', flags.seed, 0) : undefined;
  const peers = peerLoadFlags(flags);
  const tuning = {
    scrapeIntervalMs: positiveDuration('--scrape-interval', flags.scrapeInterval),
    peerLoad: peers.peerLoad,
    flowControl: flags.flowControl === true,
    queueTimeoutMs: positiveDuration('--queue-timeout', flags.queueTimeout),
  };
  const drainMs = duration('--drain-timeout', flags.drainTimeout);
  if (flags.responseBodies !== 'always' && flags.responseBodies !== 'when-needed') {
    throw new FlagError(`--response-bodies must be always or when-needed (got "${flags.responseBodies}")`);
  }
  const responseBodies: 'always' | 'when-needed' = flags.responseBodies;
  const opts = {
    poolKey,
    host: flags.host,
    grpcPort: integer('--grpc-port', flags.grpcPort, 0),
    healthPort: integer('--health-port', flags.healthPort, -1),
    metricsPort: integer('--metrics-port', flags.metricsPort, -1),
    maxBodyBytes: maxBody,
    injectStreamUsage: flags.streamUsage,
    responseBodies,
    debugHeaders: flags.debugHeaders === true,
    logger: createLogger('epp'),
  };
  const poolRouters: PoolRouterRegistryFactory = (o) =>
    createSchedulerRegistry({
      ...o,
      rng: seed !== undefined ? new SeededRng(seed).fork('scheduler') : undefined,
      strategy: flags.scheduler === 'config' ? undefined : flags.scheduler,
      ...tuning,
    });
  const fromStdin = sources.includes('-');
  let source: KubernetesMode | undefined;
  if (flags.kubernetes) {
    const [namespace, name] = poolKey.split('/') as [string, string];
    try {
      source = await KubernetesMode.create({
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        logger: opts.logger,
        pool: { namespace, name },
        writeStatus: false,
        ...(peers.kubePeers ? { peers: peers.kubePeers } : {}),
        load: { strict: flags.strict === true, validatePickerConfig },
      });
    } catch (err) {
      process.stderr.write(`infergate epp: cannot reach the Kubernetes API: ${(err as Error).message}\n`);
      return 1;
    }
  }
  return runEpp({
    ...(source !== undefined ? { source } : {}),
    load: () => loadPlan(sources, { strict: flags.strict === true, validatePickerConfig }),
    formatDiagnostic,
    watchPaths: sources.filter((f) => f !== '-'),
    watch: flags.watch && !fromStdin,
    epp: opts,
    poolRouters,
    drainTimeoutMs: drainMs,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
