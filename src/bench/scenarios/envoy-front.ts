/**
 * "Envoy in front, infergate picking" as a scenario target's front (docs/extproc.md): `infergate
 * epp` picks for the target's InferencePool, `infergate envoy-config` writes Envoy's bootstrap from
 * the same manifests, and the Envoy binary scripts/deps/20-envoy.sh installs serves the listeners
 * (one worker thread, loopback only). The workload then goes through Envoy exactly as it goes
 * through `infergate serve` for the other targets, so routing quality is compared side by side.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { reservePort } from '../../util/ports.js';
import { BenchError } from '../errors.js';
import { type PeerAvailability, toolsBin } from '../peers/index.js';
import { ChildCli, fileTail, infergateEntry } from './processes.js';

/** Where Envoy is: `$INFERGATE_ENVOY`, else `<cache>/bin/envoy` (scripts/deps/20-envoy.sh). */
export function envoyAvailability(env: NodeJS.ProcessEnv = process.env): PeerAvailability {
  const program = env.INFERGATE_ENVOY || join(toolsBin(), 'envoy');
  if (existsSync(program)) return { ok: true, program };
  return {
    ok: false,
    why: `envoy is not installed (looked for $INFERGATE_ENVOY and ${program}): run \`npm run test:deps\` (scripts/deps/20-envoy.sh) to install it`,
  };
}

export interface EnvoyFrontOptions {
  envoy: string;
  /** Manifests (`-f` each), the simulator's Pods included. */
  files: readonly string[];
  /** The InferencePool the picker serves (`ns/name`). */
  pool: string;
  /** The Gateway listener port the workload goes to (declared in the manifests). */
  declaredPort: number;
  /** Every declared listener port (each gets an OS-chosen port). */
  declaredPorts: readonly number[];
  /** `infergate epp` flags besides the manifests, pool and ports (scheduler, seed, scrape interval). */
  eppFlags: readonly string[];
  /** Log files are `<logPrefix>.epp.log`, `<logPrefix>.envoy.log`, the bootstrap `<logPrefix>.envoy.yaml`. */
  logPrefix: string;
  readyTimeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface RunningEnvoyFront {
  /** Base URL of the declared listener. */
  url: string;
  epp: ChildCli;
  envoy: ChildCli;
  stop(): Promise<void>;
}

/** Starts the picker, writes the bootstrap, starts Envoy and waits until its admin says ready. */
export async function startEnvoyFront(o: EnvoyFrontOptions): Promise<RunningEnvoyFront> {
  const grpcPort = await reservePort();
  const fileArgs = o.files.flatMap((f) => ['-f', f]);
  const epp = new ChildCli(
    'infergate epp',
    [
      'epp',
      ...fileArgs,
      '--pool',
      o.pool,
      '--host',
      '127.0.0.1',
      '--grpc-port',
      String(grpcPort),
      '--health-port',
      '-1',
      '--metrics-port',
      '0',
      '--no-watch',
      '--drain-timeout',
      '1s',
      ...o.eppFlags,
    ],
    `${o.logPrefix}.epp.log`,
  );
  let envoy: ChildCli | undefined;
  try {
    await epp.waitForLine(/^epp ready /, o.readyTimeoutMs, o.signal);
    const ports = new Map<number, number>();
    for (const p of o.declaredPorts) ports.set(p, await reservePort());
    const adminPort = await reservePort();
    const config = `${o.logPrefix}.envoy.yaml`;
    execFileSync(
      process.execPath,
      [
        ...infergateEntry(),
        'envoy-config',
        ...fileArgs,
        '--host',
        '127.0.0.1',
        '--port-map',
        [...ports].map(([d, a]) => `${d}=${a}`).join(','),
        '--admin-port',
        String(adminPort),
        '--epp',
        `127.0.0.1:${grpcPort}`,
        '-o',
        config,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: o.readyTimeoutMs },
    );
    envoy = new ChildCli(
      'envoy',
      ['-c', config, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn'],
      `${o.logPrefix}.envoy.log`,
      o.envoy,
    );
    await waitReady(
      envoy,
      `http://127.0.0.1:${adminPort}/ready`,
      performance.now() + o.readyTimeoutMs,
      o.signal,
    );
    const started = envoy;
    return {
      url: `http://127.0.0.1:${ports.get(o.declaredPort)}`,
      epp,
      envoy: started,
      async stop() {
        await started.stop();
        await epp.stop();
      },
    };
  } catch (err) {
    await envoy?.stop();
    await epp.stop();
    throw err instanceof BenchError
      ? err
      : new BenchError('SCENARIO_FAILED', `Envoy + infergate epp did not start: ${(err as Error).message}`);
  }
}

async function waitReady(
  envoy: ChildCli,
  readyUrl: string,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    if (signal?.aborted) throw new BenchError('SCENARIO_FAILED', 'interrupted while envoy was starting');
    if (!envoy.running) {
      throw new BenchError(
        'SCENARIO_FAILED',
        `envoy exited; its log (${envoy.logFile}) ends:\n${fileTail(envoy.logFile, 2000)}`,
      );
    }
    const ok = await request(readyUrl, { headersTimeout: 1000, bodyTimeout: 1000 }).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      },
      () => false,
    );
    if (ok) return;
    if (performance.now() > deadline) {
      throw new BenchError(
        'SCENARIO_FAILED',
        `envoy did not get ready; its log (${envoy.logFile}) ends:\n${fileTail(envoy.logFile, 2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
