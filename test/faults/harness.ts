/**
 * The fault suite's fixture: real `infergate sim` processes (with their failure injection) and a real
 * `infergate serve` in front of them, on loopback with OS-chosen ports, plus readers for what a
 * client and an operator see (/metrics samples, RSS). Every process is stopped by `close()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../gateway/helpers/http.js';
import { type CliProcess, startCli } from '../helpers/cli.js';

/**
 * Gateway `gw` (listener `http` on declared 8080) → HTTPRoute → InferencePool `pool` (app=sim, 8000);
 * with `mirrorPort`, the rule mirrors every request to Service `mirror` (one Pod at that port).
 */
export function manifests(extraEndpoints: string, mirrorPort?: number): string {
  const mirror =
    mirrorPort === undefined
      ? ''
      : `    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          kind: Service
          name: mirror
          port: 8000
---
apiVersion: v1
kind: Service
metadata:
  name: mirror
spec:
  selector:
    app: mirror
  ports:
  - port: 8000
    targetPort: 8000
${podYaml('mirror-0', mirrorPort, 'mirror')}`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: infergate
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: pool
spec:
  targetPortNumber: 8000
  selector:
    app: sim
  extensionRef:
    name: none
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs:
  - name: gw
  rules:
  - backendRefs:
    - group: inference.networking.x-k8s.io
      kind: InferencePool
      name: pool
${mirror}${extraEndpoints}`;
}

/** A Pod (of the pool unless `app` says otherwise) at 127.0.0.1:`port`, for endpoints the test serves. */
export function podYaml(name: string, port: number, app = 'sim'): string {
  return `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ${app}
spec:
  containers:
  - name: server
    image: test
    ports:
    - containerPort: 8000
      hostPort: ${port}
status:
  phase: Running
  podIP: 127.0.0.1
  hostIP: 127.0.0.1
  conditions:
  - type: Ready
    status: "True"
`;
}

export interface FaultRig {
  dir: string;
  sim: CliProcess | undefined;
  serve: CliProcess;
  /** The listener's base URL. */
  url: string;
  admin: string;
  metrics(): Promise<string>;
  /** Sum of the samples of `family` whose labels contain every `labels` pair. */
  sample(text: string, family: string, labels?: Record<string, string>): number;
  rssBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Flags for `infergate sim` (its --emit-pods file joins the manifests); none: no sim. */
  sim?: string[];
  /** Extra manifest text (e.g. podYaml for endpoints served by the test). */
  extra?: string;
  /** Extra flags for `infergate serve`. */
  serve?: string[];
  /** Mirror every request to an endpoint at this loopback port (see `manifests`). */
  mirrorPort?: number;
}

export async function startRig(o: RigOptions): Promise<FaultRig> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-faults-'));
  let sim: CliProcess | undefined;
  const files = [join(dir, 'gateway.yaml')];
  writeFileSync(files[0]!, manifests(o.extra ?? '', o.mirrorPort));
  try {
    if (o.sim !== undefined) {
      const pods = join(dir, 'pods.yaml');
      sim = startCli([
        'sim',
        '--port',
        '0',
        '--time-scale',
        '0.01',
        '--pod-labels',
        'app=sim',
        '--emit-pods',
        pods,
        '--served-model-name',
        'sim-model',
        ...o.sim,
      ]);
      await sim.waitForLine(/^sim ready/, 30_000);
      files.push(pods);
    }
    const serve = startCli([
      'serve',
      ...files.flatMap((f) => ['-f', f]),
      '--host',
      '127.0.0.1',
      '--port-map',
      '8080=0',
      '--admin-port',
      '0',
      '--scheduler',
      'default',
      '--seed',
      '1',
      ...(o.serve ?? []),
    ]);
    const url = (await serve.waitForLine(/^listener default\/gw\/http ready (http:\S+)$/, 30_000))[1]!;
    const admin = (await serve.waitForLine(/^admin ready (http:\S+)$/))[1]!;
    const metrics = async () => (await call(admin, '/metrics')).text;
    return {
      dir,
      sim,
      serve,
      url,
      admin,
      metrics,
      sample: sampleSum,
      async rssBytes() {
        return sampleSum(await metrics(), 'infergate_process_resident_memory_bytes');
      },
      async close() {
        await serve.stop();
        await sim?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function sampleSum(text: string, family: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const rest = line.slice(family.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A small chat request; `stream` streams. */
export function chat(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: 'sim-model',
    messages: [{ role: 'user', content: 'hello there' }],
    max_tokens: 8,
    ...extra,
  };
}
