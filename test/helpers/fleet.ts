/**
 * A test fleet on loopback: `infergate sim` replicas that write Pod manifests for themselves, and
 * `infergate serve` started on manifest files, all real processes in one temporary directory.
 * - `file` writes a manifest into the directory;
 * - `startSims` runs `infergate sim` (its replicas' Pods go to a new file in the directory);
 * - `startServe` runs `infergate serve -f …` on loopback with OS-chosen listener and admin ports and
 *   waits for both ready lines.
 * `stopAll` stops every process it started and removes the directory (the CLI helper also kills
 * them at exit of the test worker if a test forgets).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliProcess, startCli } from './cli.js';

/** Names in {@link onePoolManifests}; each defaults to the value ONE_POOL_MANIFESTS uses. */
export interface OnePoolNames {
  /** Gateway `spec.gatewayClassName`: `infergate` for serve, `envoy` for the Envoy + epp tests. */
  gatewayClass?: string;
  /** InferencePool name (in `default`). */
  pool?: string;
  /** The Pods' `app` label the pool selects. */
  app?: string;
}

/**
 * The smallest InferencePool setup: Gateway `default/gw` (listener `http` on port 80), HTTPRoute `r`
 * to InferencePool `pool` (target port 8000) selecting Pods labelled `app=sim` — start the sims with
 * `{ labels: 'app=sim' }`. Append documents (objectives, picker configs) after a `---`.
 */
export function onePoolManifests(names: OnePoolNames = {}): string {
  const { gatewayClass = 'infergate', pool = 'pool', app = 'sim' } = names;
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: ${gatewayClass}
  listeners:
  - { name: http, port: 80, protocol: HTTP }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs: [{ group: inference.networking.x-k8s.io, kind: InferencePool, name: ${pool} }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: ${pool}, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: ${app} }
`;
}

/** {@link onePoolManifests} with every default. */
export const ONE_POOL_MANIFESTS = onePoolManifests();

export interface Sims {
  proc: CliProcess;
  /** Each replica's base URL, in replica order. */
  urls: string[];
  /** The Pod manifests `--emit-pods` wrote. */
  podsFile: string;
}

/** How the sims' Pods look to the gateway. */
export interface PodOptions {
  /** `--pod-labels`, e.g. `app=sim`. */
  labels: string;
  namePrefix?: string;
  targetPort?: number;
}

export interface Serve {
  proc: CliProcess;
  /** The listener's base URL. */
  url: string;
  /** The admin server's base URL. */
  admin: string;
}

export interface ServeOptions {
  /** `--port-map` of the manifests' listener port; default `80=0`. */
  portMap?: string;
  /** The listener whose ready line is awaited; default `default/gw/http`. */
  listener?: string;
  /** How long to wait for each ready line, ms; default 30 s. */
  readyTimeoutMs?: number;
}

export interface Fleet {
  dir: string;
  /** Writes `text` to `name` in the fleet's directory; returns its path. */
  file(name: string, text: string): string;
  startSims(args: string[], pods: PodOptions, readyTimeoutMs?: number): Promise<Sims>;
  startServe(files: string[], extra?: string[], opts?: ServeOptions): Promise<Serve>;
  /** Stops `proc` with the fleet's own processes (for processes started elsewhere). */
  track(proc: CliProcess): CliProcess;
  /** Stops every process started here, then removes the directory. */
  stopAll(): Promise<void>;
}

/** A fleet whose directory is a new `infergate-<prefix>-*` under the system's temporary directory. */
export function fleet(prefix: string): Fleet {
  const dir = mkdtempSync(join(tmpdir(), `infergate-${prefix}-`));
  const procs: CliProcess[] = [];
  let simRuns = 0;
  return {
    dir,
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    async startSims(args, pods, readyTimeoutMs = 30_000) {
      const podsFile = join(dir, `pods-${simRuns++}.yaml`);
      const proc = startCli([
        'sim',
        '--port',
        '0',
        '--emit-pods',
        podsFile,
        '--pod-labels',
        pods.labels,
        ...(pods.namePrefix ? ['--pod-name-prefix', pods.namePrefix] : []),
        ...(pods.targetPort ? ['--target-port', String(pods.targetPort)] : []),
        ...args,
      ]);
      procs.push(proc);
      await proc.waitForLine(/^sim ready \d+ replicas$/, readyTimeoutMs);
      const urls = [...proc.stdout().matchAll(/^replica \d+ ready (http:\S+) /gm)].map((m) => m[1]!);
      return { proc, urls, podsFile };
    },
    async startServe(files, extra = [], opts = {}) {
      const proc = startCli([
        'serve',
        ...files.flatMap((f) => ['-f', f]),
        '--host',
        '127.0.0.1',
        '--port-map',
        opts.portMap ?? '80=0',
        '--admin-port',
        '0',
        ...extra,
      ]);
      procs.push(proc);
      const timeout = opts.readyTimeoutMs ?? 30_000;
      const listener = (opts.listener ?? 'default/gw/http').replaceAll('/', '\\/');
      const ready = new RegExp(`^listener ${listener} ready (http:\\S+)$`);
      const url = (await proc.waitForLine(ready, timeout))[1]!;
      const admin = (await proc.waitForLine(/^admin ready (http:\S+)$/, timeout))[1]!;
      return { proc, url, admin };
    },
    track(proc) {
      procs.push(proc);
      return proc;
    },
    async stopAll() {
      await Promise.all(procs.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
