/**
 * Envoy in front, `infergate epp` picking, `infergate sim` serving — all real processes on loopback:
 * - `startSims` runs `infergate sim` and writes Pod manifests for its replicas;
 * - `startEpp` runs `infergate epp` on a known gRPC port (the bootstrap must name it);
 * - `startEnvoy` writes the bootstrap with `infergate envoy-config` and runs the Envoy binary that
 *   scripts/deps/20-envoy.sh installed, waiting until its listener answers.
 * Every process is stopped by `stopAll` (and killed at exit of the worker if a test forgets).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { parsePrometheusText, sumSamples } from '../../src/scraping/promtext.js';
import { reservePort } from '../../src/util/ports.js';
import { type CliProcess, runCli, startCli } from '../helpers/cli.js';
import { toolPath } from '../helpers/deps.js';
import { type Fleet, fleet, type Sims } from '../helpers/fleet.js';

export type { Sims };

/** A test fleet (sims, files) plus `infergate epp` and Envoy. */
export interface Harness extends Pick<Fleet, 'dir' | 'file' | 'startSims'> {
  startEpp(files: string[], pool: string, extra?: string[], grpcPort?: number): Promise<Epp>;
  /** `ports`: the Gateway listener ports declared in the manifests (each gets a free port). */
  startEnvoy(files: string[], opts?: { ports?: number[]; extra?: string[] }): Promise<Envoy>;
  stopAll(): Promise<void>;
}

export interface Epp {
  proc: CliProcess;
  grpcPort: number;
  metricsUrl: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface Envoy {
  /** The first declared listener's URL. */
  url: string;
  /** URL by declared listener port. */
  urls: Map<number, string>;
  adminUrl: string;
  config: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function harness(prefix: string): Harness {
  const rig = fleet(prefix);
  const dir = rig.dir;
  const envoys: Envoy[] = [];
  return {
    dir,
    file: rig.file,
    startSims: rig.startSims,
    async startEpp(files, pool, extra = [], grpcPort) {
      const port = grpcPort ?? (await reservePort());
      const proc = rig.track(
        startCli([
          'epp',
          ...files.flatMap((f) => ['-f', f]),
          '--pool',
          pool,
          '--host',
          '127.0.0.1',
          '--grpc-port',
          String(port),
          '--health-port',
          '0',
          '--metrics-port',
          '0',
          ...extra,
        ]),
      );
      await proc.waitForLine(/^epp ready /, 30_000);
      const metricsUrl = (await proc.waitForLine(/^metrics ready (\S+)/))[1]!;
      return {
        proc,
        grpcPort: port,
        metricsUrl,
        async metric(name, labels) {
          const text = await (await fetch(`${metricsUrl}/metrics`)).text();
          return sumSamples(parsePrometheusText(text).families, name, labels) ?? 0;
        },
      };
    },
    async startEnvoy(files, opts = {}) {
      const envoy = toolPath('envoy');
      if (!envoy) throw new Error('envoy is not installed: run `npm run test:deps`');
      const declared = opts.ports ?? [80];
      const urls = new Map<number, string>();
      for (const p of declared) urls.set(p, `http://127.0.0.1:${await reservePort()}`);
      const portMap = [...urls].map(([d, u]) => `${d}=${u.slice(u.lastIndexOf(':') + 1)}`).join(',');
      const adminPort = await reservePort();
      const config = join(dir, `envoy-${envoys.length}.yaml`);
      const gen = await runCli([
        'envoy-config',
        ...files.flatMap((f) => ['-f', f]),
        '--host',
        '127.0.0.1',
        '--port-map',
        portMap,
        '--admin-port',
        String(adminPort),
        '-o',
        config,
        ...(opts.extra ?? []),
      ]);
      if (gen.code !== 0) throw new Error(`envoy-config failed (${gen.code}): ${gen.stderr}`);
      const child = spawn(
        envoy,
        ['-c', config, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      running.add(child);
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err = (err + d).slice(-20_000);
      });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      const adminUrl = `http://127.0.0.1:${adminPort}`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`envoy exited (${child.exitCode}): ${err}`);
        const ok = await fetch(`${adminUrl}/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`envoy did not get ready: ${err}`);
        await sleep(100);
      }
      const handle: Envoy = {
        url: urls.get(declared[0]!)!,
        urls,
        adminUrl,
        config,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          }
          running.delete(child);
        },
      };
      envoys.push(handle);
      return handle;
    },
    async stopAll() {
      await Promise.all(envoys.map((e) => e.stop()));
      await rig.stopAll();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sum of one metric over simulated replicas' /metrics. */
export async function replicaMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return sumSamples(parsePrometheusText(text).families, name) ?? 0;
}
