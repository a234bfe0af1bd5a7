import type { Command } from 'commander';
import { runServe } from '../app/index.js';
import { formatDiagnostic, loadPlan } from '../config/index.js';
import type { ServiceLbPolicy } from '../config/plan.js';
import type { PeerLoadOptions } from '../datastore/peer-load.js';
import { defaultGatewayOptions, type GatewayOptions, parseByteSize, parsePortMap } from '../gateway/index.js';
import { DEFAULT_CONTROLLER_NAME, KubernetesMode } from '../k8s/index.js';
import {
  createLeastRequestPoolRegistry,
  createSchedulerRegistry,
  type PoolRouterRegistryFactory,
} from '../requestcontrol/index.js';
import { validatePickerConfig } from '../scheduling/index.js';
import { BUILT_IN_PICKER_CONFIGS } from '../scheduling/profiles.js';
import { createLogger } from '../util/log.js';
import { SeededRng } from '../util/rng.js';
import {
  collect,
  duration,
  FlagError,
  integer,
  labelSet,
  peerLoadFlags,
  positiveDuration,
  registerPeerOptions,
} from './flags.js';

interface ServeFlags {
  file?: string[];
  kubernetes?: boolean;
  kubeconfig?: string;
  namespace?: string[];
  controllerName: string;
  istioGatewayLabels?: string;
  status: boolean;
  leaseNamespace?: string;
  leaseName: string;
  gatewayAddress?: string[];
  host: string;
  portMap?: string;
  portOffset: string;
  adminPort: string;
  serviceLb: string;
  scheduler: string;
  scrapeInterval: string;
  peerListen?: string;
  peer?: string[];
  peerSelector?: string;
  peerSettle?: string;
  peerSettleTokens?: string;
  flowControl?: boolean;
  queueTimeout: string;
  maxBodySize: string;
  requestTimeout?: string;
  idleTimeout: string;
  drainTimeout: string;
  maxAttempts: string;
  mirrorConcurrency: string;
  mirrorTimeout: string;
  mirrorFollowClientAbort?: boolean;
  watch: boolean;
  accessLog?: string;
  strict?: boolean;
  seed?: string;
  debugHeaders?: boolean;
  adminHost: string;
  adminToken?: string;
  headerTimeout: string;
  bodyTimeout: string;
  keepAliveTimeout: string;
  maxConnections: string;
}

const LB_POLICIES: readonly ServiceLbPolicy[] = ['least-request', 'round-robin', 'random'];

/** `infergate serve`: the gateway. Flags map onto GatewayOptions (src/gateway/options.ts). */
export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .summary('run the gateway for your manifests')
    .description(
      'Run the gateway for Gateway / HTTPRoute / InferencePool / InferenceModel manifests: one listener ' +
        'per Gateway listener, an admin port with /metrics, /healthz, /readyz, /admin/mirrors, /admin/plan.',
    );

  cmd.optionsGroup('Manifests:');
  cmd
    .option(
      '-f, --file <path>',
      'manifest file or folder; repeatable; - reads stdin (or --kubernetes)',
      collect,
    )
    .option('--strict', 'unresolved references are errors instead of warnings')
    .option('--no-watch', 'do not reload when the manifest files change (SIGHUP still reloads)');

  cmd.optionsGroup('Kubernetes (instead of -f):');
  cmd
    .option(
      '--kubernetes',
      'watch Gateways, HTTPRoutes, InferencePools, InferenceModels/Objectives/Rewrites, Services, ' +
        'EndpointSlices and Pods through the API server, and write their status',
    )
    .option('--kubeconfig <file>', 'kubeconfig to use (default: the in-cluster service account)')
    .option('--namespace <ns>', 'watch only this namespace; repeatable (default: all namespaces)', collect)
    .option(
      '--controller-name <name>',
      'serve Gateways whose GatewayClass has this spec.controllerName',
      DEFAULT_CONTROLLER_NAME,
    )
    .option(
      '--istio-gateway-labels <k=v,...>',
      'also serve Istio Gateways whose spec.selector matches these labels (e.g. istio=ingressgateway), ' +
        'with the VirtualServices and LLMRoutes bound to them (default: Istio kinds are not watched)',
    )
    .option('--no-status', 'do not write status to the API server')
    .option('--lease-namespace <ns>', 'namespace of the leader-election Lease (default: own namespace)')
    .option(
      '--lease-name <name>',
      'name of the Lease; the replica holding it writes status',
      'infergate-status-writer',
    )
    .option(
      '--gateway-address <address>',
      'address written to Gateway status (default: $POD_IP); repeatable',
      collect,
    );

  cmd.optionsGroup('Listeners:');
  cmd
    .option('--host <address>', 'bind address of the listeners', '0.0.0.0')
    .option('--port-map <map>', 'declared=actual listener ports, e.g. 80=8080,8081=0 (0: any free port)')
    .option('--port-offset <n>', 'add N to every declared port not in --port-map (80 → 80+N)', '0')
    .option('--admin-port <port>', 'admin port (0: any free port; -1: none)', '9090')
    .option(
      '--admin-host <address>',
      'bind address of the admin port; other than 127.0.0.1 / ::1 / localhost needs --admin-token',
      '127.0.0.1',
    )
    .option(
      '--admin-token <token>',
      'bearer token every admin request must carry (default: env INFERGATE_ADMIN_TOKEN)',
    );

  cmd.optionsGroup('Balancing:');
  cmd
    .option(
      '--service-lb <policy>',
      'Service balancing: least-request | round-robin | random',
      'least-request',
    )
    .option(
      '--scheduler <name>',
      'InferencePool endpoint picking: config (each pool’s own picker config), default, ' +
        'prefix-cache, load-aware (the default before issue 16), round-robin, least-request, or interim ' +
        '(the gateway’s own least-request router)',
      'config',
    )
    .option(
      '--scrape-interval <duration>',
      'mean time between two /metrics scrapes of one pool endpoint (simulators at a time scale: scale it too)',
      '50ms',
    )
    .option('--seed <n>', 'seed for weighted draws and balancing (repeatable runs)')
    .option(
      '--flow-control',
      'while every endpoint of a pool is saturated, hold non-sheddable requests in a gateway queue ' +
        '(default: pass them to the model servers; sheddable ones are refused either way)',
    )
    .option(
      '--queue-timeout <duration>',
      'with --flow-control, longest wait in the gateway queue (then 429)',
      '30s',
    );

  registerPeerOptions(cmd);

  cmd.optionsGroup('Limits and timeouts:');
  cmd
    .option('--max-body-size <size>', 'largest request body read (413 beyond), e.g. 32MiB', '32MiB')
    .option(
      '--request-timeout <duration>',
      'request timeout when the route and policies set none (default: none)',
    )
    .option('--idle-timeout <duration>', 'longest wait for the next byte from upstream (0: none)', '5m')
    .option('--drain-timeout <duration>', 'on SIGTERM, how long in-flight requests may finish', '30s')
    .option(
      '--max-attempts <n>',
      'upstream attempts per request (retries only before any response byte)',
      '3',
    )
    .option(
      '--header-timeout <duration>',
      'a client must send its request headers within this (0: none)',
      '10s',
    )
    .option(
      '--body-timeout <duration>',
      'a client must send its whole request, headers and body, within this (0: none)',
      '60s',
    )
    .option(
      '--keep-alive-timeout <duration>',
      'close a client connection idle this long between requests',
      '5s',
    )
    .option(
      '--max-connections <n>',
      'open client connections per listener; more are closed at once (0: no limit)',
      '10000',
    );

  cmd.optionsGroup('Mirroring:');
  cmd
    .option('--mirror-concurrency <n>', 'mirror copies in flight per mirror backend; more are dropped', '64')
    .option('--mirror-timeout <duration>', 'a mirror copy is abandoned after this long (0: never)', '5m')
    .option('--mirror-follow-client-abort', 'abort mirror copies when the primary’s client disconnects');

  cmd.optionsGroup('Logs and debugging:');
  cmd
    .option('--access-log <file>', 'write the JSON access log to FILE instead of stderr')
    .option(
      '--debug-headers',
      'add x-infergate-endpoint and x-infergate-decision (the scheduling decision: profile, pick, scores) to every response, and record every decision in /admin/decisions',
    );

  cmd
    .addHelpText(
      'after',
      '\nPorts: a Gateway listener declared on port 80 is privileged on most machines; serve it on 8080 with\n' +
        '  --port-map 80=8080   or   --port-offset 8000\n' +
        'stdout gets one line per listener, `listener <ns>/<gateway>/<listener> ready http://host:port`, and\n' +
        '`admin ready http://host:port`; logs and the access log go to stderr.\n' +
        '\nExamples:\n' +
        '  infergate serve -f manifests/ --port-offset 8000\n' +
        '  infergate serve -f gateway.yaml -f pool.yaml --port-map 80=8080,8081=8081 --admin-port 0\n' +
        '  infergate sim --replicas 3 --port 0 --emit-pods pods.yaml --pod-labels app=vllm &\n' +
        '  infergate serve -f manifests/ -f pods.yaml --port-offset 8000   # the simulators as the pool\n' +
        '  infergate serve --kubernetes --kubeconfig ~/.kube/config --namespace llm   # follow a cluster\n' +
        '\nDocs: docs/gateway.md, docs/configuration.md (manifests), docs/scheduling.md (--scheduler), docs/kubernetes.md',
    )
    .action(async (flags: ServeFlags) => {
      let code: number;
      try {
        code = await serve(flags);
      } catch (err) {
        if (!(err instanceof FlagError)) throw err;
        process.stderr.write(`infergate serve: ${err.message}\n`);
        code = 2;
      }
      process.exitCode = code;
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  const sources = flags.file ?? [];
  if (flags.kubernetes && sources.length > 0)
    throw new FlagError('give either -f FILE|DIR or --kubernetes, not both');
  if (!flags.kubernetes && (flags.kubeconfig !== undefined || flags.namespace !== undefined))
    throw new FlagError('--kubeconfig and --namespace need --kubernetes');
  if (flags.istioGatewayLabels !== undefined && !flags.kubernetes)
    throw new FlagError(
      '--istio-gateway-labels needs --kubernetes (with -f, every Istio Gateway in the files is served)',
    );
  const istioGatewayLabels =
    flags.istioGatewayLabels !== undefined
      ? labelSet('--istio-gateway-labels', flags.istioGatewayLabels)
      : undefined;
  if (sources.length === 0 && !flags.kubernetes)
    throw new FlagError('give the manifests with -f FILE|DIR (repeatable; - reads stdin), or --kubernetes');
  const logger = createLogger('serve');
  const gateway = gatewayOptions(flags, logger);
  const seed = gateway.seed;
  const peers = peerLoadFlags(flags);
  const poolRouters = poolRegistryFactory(flags.scheduler, seed, {
    scrapeIntervalMs: positiveDuration('--scrape-interval', flags.scrapeInterval),
    peerLoad: peers.peerLoad,
    flowControl: flags.flowControl === true,
    queueTimeoutMs: positiveDuration('--queue-timeout', flags.queueTimeout),
  });
  const fromStdin = sources.includes('-');
  let source: KubernetesMode | undefined;
  if (flags.kubernetes) {
    try {
      source = await KubernetesMode.create({
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        logger,
        ...(flags.namespace !== undefined ? { namespaces: flags.namespace } : {}),
        controllerName: flags.controllerName,
        ...(istioGatewayLabels !== undefined ? { istioGatewayLabels } : {}),
        writeStatus: flags.status,
        ...(flags.leaseNamespace !== undefined ? { leaseNamespace: flags.leaseNamespace } : {}),
        leaseName: flags.leaseName,
        ...(flags.gatewayAddress !== undefined ? { addresses: flags.gatewayAddress } : {}),
        ...(peers.kubePeers ? { peers: peers.kubePeers } : {}),
        load: { strict: flags.strict === true, validatePickerConfig },
      });
    } catch (err) {
      process.stderr.write(`infergate serve: cannot reach the Kubernetes API: ${(err as Error).message}\n`);
      return 1;
    }
  }
  return runServe({
    ...(source !== undefined ? { source } : {}),
    load: () => loadPlan(sources, { strict: flags.strict === true, validatePickerConfig }),
    formatDiagnostic,
    watchPaths: sources.filter((s) => s !== '-'),
    watch: flags.watch && !fromStdin,
    drainTimeoutMs: duration('--drain-timeout', flags.drainTimeout),
    gateway,
    poolRouters,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

function gatewayOptions(flags: ServeFlags, logger: GatewayOptions['logger']): GatewayOptions {
  const d = defaultGatewayOptions(logger);
  let map: Map<number, number>;
  try {
    map = flags.portMap !== undefined ? parsePortMap(flags.portMap) : new Map();
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  if (!LB_POLICIES.includes(flags.serviceLb as ServiceLbPolicy)) {
    throw new FlagError(`--service-lb must be one of ${LB_POLICIES.join(', ')} (got "${flags.serviceLb}")`);
  }
  const maxBody = parseByteSize(flags.maxBodySize);
  if (maxBody === undefined || maxBody <= 0) {
    throw new FlagError(`--max-body-size must be a size such as 32MiB (got "${flags.maxBodySize}")`);
  }
  const seed = flags.seed !== undefined ? integer('--seed', flags.seed, 0) : undefined;
  return {
    ...d,
    host: flags.host,
    ports: { map, offset: integer('--port-offset', flags.portOffset, -65535) },
    adminPort: integer('--admin-port', flags.adminPort, -1),
    serviceLb: flags.serviceLb as ServiceLbPolicy,
    maxBodyBytes: maxBody,
    requestTimeoutMs:
      flags.requestTimeout !== undefined ? duration('--request-timeout', flags.requestTimeout) : 0,
    idleTimeoutMs: duration('--idle-timeout', flags.idleTimeout),
    maxAttempts: integer('--max-attempts', flags.maxAttempts, 1),
    mirrorConcurrency: integer('--mirror-concurrency', flags.mirrorConcurrency, 0),
    mirrorTimeoutMs: duration('--mirror-timeout', flags.mirrorTimeout),
    mirrorFollowsClientAbort: flags.mirrorFollowClientAbort === true,
    seed,
    accessLog: flags.accessLog !== undefined ? { kind: 'file', path: flags.accessLog } : { kind: 'stderr' },
    debugHeaders: flags.debugHeaders === true,
    adminHost: flags.adminHost,
    adminToken: flags.adminToken ?? (process.env.INFERGATE_ADMIN_TOKEN || undefined),
    headersTimeoutMs: duration('--header-timeout', flags.headerTimeout),
    bodyTimeoutMs: duration('--body-timeout', flags.bodyTimeout),
    keepAliveTimeoutMs: duration('--keep-alive-timeout', flags.keepAliveTimeout),
    maxConnections: integer('--max-connections', flags.maxConnections, 0),
  };
}

const SCHEDULERS: readonly string[] = ['config', ...BUILT_IN_PICKER_CONFIGS.keys(), 'interim'];

function poolRegistryFactory(
  name: string,
  seed: number | undefined,
  tuning: {
    scrapeIntervalMs: number;
    flowControl: boolean;
    queueTimeoutMs: number;
    peerLoad: PeerLoadOptions | undefined;
  },
): PoolRouterRegistryFactory {
  if (!SCHEDULERS.includes(name)) {
    throw new FlagError(`--scheduler must be one of ${SCHEDULERS.join(', ')} (got "${name}")`);
  }
  if (name === 'interim') {
    if (tuning.peerLoad) throw new FlagError('--peer-listen and --peer need a scheduler other than interim');
    return createLeastRequestPoolRegistry;
  }
  return (o) =>
    createSchedulerRegistry({
      ...o,
      rng: seed !== undefined ? new SeededRng(seed).fork('scheduler') : undefined,
      strategy: name === 'config' ? undefined : name,
      ...tuning,
    });
}
