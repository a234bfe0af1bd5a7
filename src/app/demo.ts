/**
 * `infergate demo`: simulated vLLM replicas (`infergate sim`, as child processes) behind the gateway
 * (in this process), with a configuration modelled on the user's documents:
 *
 *   Gateway demo-gateway
 *     listener http      :8080  HTTPRoute standard  → Service qwen:8000            (the plain path)
 *     listener inference :8081  HTTPRoute inference → InferencePool qwen-pool      (endpoint picking)
 *                                                      + RequestMirror → Service qwen-candidate:8000
 *   InferenceModel travel-helper → LoRA adapters travel-helper-v1 (90) / travel-helper-v2 (10)
 *   InferenceModel /model/qwen   (the base model)
 *
 * The production replicas serve /model/qwen with the two LoRA adapters of seed 003; the candidate
 * replica serves /model/qwen and answers for `travel-helper` itself (a candidate deployment under
 * the public name), on a different hardware profile so that the mirror comparison shows something.
 * Pod manifests written by `sim --emit-pods` resolve both selectors to the simulated replicas.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '../config/plan.js';
import { displayHost } from '../gateway/gateway.js';
import type { GatewayOptions } from '../gateway/options.js';
import type { PoolRouterRegistryFactory } from '../requestcontrol/least-request-router.js';
import type { Logger } from '../util/log.js';
import { type PlanLoadResult, type ServeHandle, startServe } from './serve.js';

export interface DemoOptions {
  /** Production replicas of the InferencePool (the candidate is one more). */
  replicas: number;
  /** Simulator time scale (1 = real time; 0.1 = ten times faster). */
  timeScale: number;
  host: string;
  /** Preferred ports; a busy one is replaced by a free one (and said so). */
  httpPort: number;
  inferencePort: number;
  adminPort: number;
  /** How to start `infergate <args>` as a child process. */
  cli: { command: string; args: readonly string[] };
  load: (files: string[]) => Promise<PlanLoadResult>;
  formatDiagnostic: (d: Diagnostic) => string;
  gateway: GatewayOptions;
  /** Builds the pool routers (the demo uses the scheduler). */
  poolRouters?: PoolRouterRegistryFactory;
  logger: Logger;
  out: (line: string) => void;
  err: (line: string) => void;
}

const MODEL = '/model/qwen';
const LORAS = [
  'travel-helper-v1=/models/Qwen-TravelHelper-Lora',
  'travel-helper-v2=/models/Qwen-TravelHelper-Lora-v2',
];

export function demoManifests(): string {
  return `# Written by \`infergate demo\`: modelled on the user's documents (seeds 000 and 003).
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: demo-gateway
  namespace: default
spec:
  gatewayClassName: infergate
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
  - name: inference
    port: 8081
    protocol: HTTP
---
apiVersion: v1
kind: Service
metadata:
  name: qwen
  namespace: default
spec:
  selector:
    app: qwen
  ports:
  - protocol: TCP
    port: 8000
    targetPort: 8000
---
apiVersion: v1
kind: Service
metadata:
  name: qwen-candidate
  namespace: default
spec:
  selector:
    app: qwen-candidate
  ports:
  - protocol: TCP
    port: 8000
    targetPort: 8000
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: qwen-pool
  namespace: default
spec:
  targetPortNumber: 8000
  selector:
    app: qwen
  extensionRef:
    name: qwen-pool-epp
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata:
  name: travel-helper
  namespace: default
spec:
  modelName: travel-helper
  criticality: Critical
  poolRef:
    name: qwen-pool
  targetModels:
  - name: travel-helper-v1
    weight: 90
  - name: travel-helper-v2
    weight: 10
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata:
  name: qwen
  namespace: default
spec:
  modelName: ${MODEL}
  criticality: Standard
  poolRef:
    name: qwen-pool
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: standard
  namespace: default
spec:
  parentRefs:
  - name: demo-gateway
    sectionName: http
  rules:
  - backendRefs:
    - name: qwen
      port: 8000
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: inference
  namespace: default
spec:
  parentRefs:
  - name: demo-gateway
    sectionName: inference
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - group: inference.networking.x-k8s.io
      kind: InferencePool
      name: qwen-pool
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          kind: Service
          name: qwen-candidate
          port: 8000
`;
}

/** True when `port` can be bound on `host` now. */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

interface SimChild {
  child: ChildProcess;
  ready: Promise<void>;
}

function startSim(o: DemoOptions, args: string[]): SimChild {
  const child = spawn(o.cli.command, [...o.cli.args, 'sim', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'warn' },
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^sim ready \d+ replicas$/m.test(out)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`infergate sim exited (${code}) before it was ready:\n${err}`)),
    );
  });
  return { child, ready };
}

/** Runs the demo until SIGINT / SIGTERM. Resolves with the exit code. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-demo-'));
  const sims: SimChild[] = [];
  const stopSims = () => {
    for (const s of sims) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  };
  const onExit = () => {
    for (const s of sims) s.child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  try {
    const common = [
      '--port',
      '0',
      '--host',
      o.host === '0.0.0.0' ? '127.0.0.1' : o.host,
      '--time-scale',
      String(o.timeScale),
    ];
    o.err(
      `infergate demo: starting ${o.replicas} simulated vLLM replicas and 1 candidate (time scale ${o.timeScale})…`,
    );
    sims.push(
      startSim(o, [
        ...common,
        '--replicas',
        String(o.replicas),
        '--profile',
        'qwen2.5-7b-l20',
        '--served-model-name',
        MODEL,
        '--enable-lora',
        '--max-loras',
        '2',
        '--max-cpu-loras',
        '4',
        '--lora-modules',
        ...LORAS,
        '--emit-pods',
        join(dir, 'pods-qwen.yaml'),
        '--pod-labels',
        'app=qwen',
        '--pod-name-prefix',
        'qwen',
      ]),
      startSim(o, [
        ...common,
        '--replicas',
        '1',
        '--seed',
        '1000',
        '--profile',
        'llama2-7b-a10',
        '--served-model-name',
        MODEL,
        'travel-helper',
        '--emit-pods',
        join(dir, 'pods-candidate.yaml'),
        '--pod-labels',
        'app=qwen-candidate',
        '--pod-name-prefix',
        'qwen-candidate',
      ]),
    );
    await Promise.all(sims.map((s) => s.ready));

    const config = join(dir, 'demo.yaml');
    writeFileSync(config, demoManifests());
    const files = [config, join(dir, 'pods-qwen.yaml'), join(dir, 'pods-candidate.yaml')];

    const map = new Map<number, number>();
    const notes: string[] = [];
    for (const [declared, wanted] of [
      [8080, o.httpPort],
      [8081, o.inferencePort],
    ] as const) {
      const free = await portFree(o.host, wanted);
      map.set(declared, free ? wanted : 0);
      if (!free) notes.push(`port ${wanted} is busy: using a free port instead`);
    }
    let adminPort = o.adminPort;
    if (adminPort > 0 && !(await portFree(o.host, adminPort))) {
      notes.push(`admin port ${adminPort} is busy: using a free port instead`);
      adminPort = 0;
    }

    const handle = await startServe({
      load: () => o.load(files),
      formatDiagnostic: o.formatDiagnostic,
      watchPaths: [],
      watch: false,
      drainTimeoutMs: 5_000,
      gateway: { ...o.gateway, host: o.host, ports: { map, offset: 0 }, adminPort },
      poolRouters: o.poolRouters,
      out: o.out,
      err: o.err,
    });
    if (typeof handle === 'number') return handle;
    for (const n of notes) o.err(`infergate demo: ${n}`);
    printGuide(handle, o);
    return await waitForSignal(handle, o);
  } finally {
    stopSims();
    await Promise.all(
      sims.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) resolve();
            else s.child.once('exit', () => resolve());
          }),
      ),
    );
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForSignal(h: ServeHandle, o: DemoOptions): Promise<number> {
  let signals = 0;
  const onStop = () => {
    signals++;
    if (signals > 1) process.exit(1);
    o.err('\ninfergate demo: stopping…');
    void h.shutdown();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  try {
    return await h.done;
  } finally {
    process.removeListener('SIGINT', onStop);
    process.removeListener('SIGTERM', onStop);
  }
}

function printGuide(h: ServeHandle, o: DemoOptions): void {
  const url = (declared: number) =>
    h.process.gateway.listeners().find((l) => l.declaredPort === declared)?.url ?? '?';
  const std = url(8080);
  const inf = url(8081);
  const admin = h.process.adminUrl ?? `http://${displayHost(o.host)}:?`;
  const json = (v: unknown) => `'${JSON.stringify(v)}'`;
  const ask = { role: 'user', content: 'Plan a weekend in Kyoto.' };
  const lines = [
    '',
    'infergate demo is running (Ctrl-C to stop).',
    `  standard port   ${std}   HTTPRoute standard → Service qwen (least-request, as kube-proxy/Envoy would)`,
    `  inference port  ${inf}   HTTPRoute inference → InferencePool qwen-pool (endpoint picking),`,
    '                                           mirrored to Service qwen-candidate',
    `  admin           ${admin}   live page: open ${admin}/ in a browser`,
    '',
    'Try:',
    '  # chat through the pool; travel-helper is a canary split: travel-helper-v1 90% / v2 10%',
    `  curl -s ${inf}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -d ${json({ model: 'travel-helper', messages: [ask], max_tokens: 64 })}`,
    '  # streaming, chunk by chunk',
    `  curl -sN ${inf}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -d ${json({ model: 'travel-helper', messages: [ask], max_tokens: 64, stream: true })}`,
    '  # completions on the base model',
    `  curl -s ${inf}/v1/completions -H 'content-type: application/json' \\`,
    `    -d ${json({ model: MODEL, prompt: 'The capital of Japan is', max_tokens: 16 })}`,
    '  # the same replicas through the standard port (no endpoint picking, no canary split)',
    `  curl -s ${std}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -d ${json({ model: MODEL, messages: [ask], max_tokens: 64 })}`,
    '  # what the gateway measured, why it picked each endpoint, and how the candidate compares',
    `  curl -s '${admin}/admin/decisions?limit=1'`,
    `  curl -s ${admin}/metrics | grep '^infergate_'`,
    `  curl -s '${admin}/admin/mirrors?format=text'`,
    `  curl -s ${admin}/admin/plan`,
    '',
  ];
  o.err(lines.join('\n'));
}
