/**
 * Shared pieces of the Kubernetes tests: simulated model servers as "Pods" (created in the API
 * server with their status set as a kubelet would: podIP, hostIP 127.0.0.1 and a hostPort that
 * maps the manifest's container port to the simulator's real port), `serve --kubernetes` as a child
 * process, and a small request helper.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { parsePrometheusText, sumSamples } from '../../src/scraping/promtext.js';
import { type CliProcess, startCli } from '../helpers/cli.js';
import type { KubeEnv } from '../helpers/kube.js';

export interface Sims {
  proc: CliProcess;
  /** Real ports, by replica index. */
  ports: number[];
  stop(): Promise<void>;
}

/** `infergate sim --replicas n` with fast timing; resolves once every replica is ready. */
export async function startSims(n: number, models: readonly string[], extra: string[] = []): Promise<Sims> {
  const proc = startCli([
    'sim',
    '--replicas',
    String(n),
    '--port',
    '0',
    '--served-model-name',
    ...models,
    '--time-scale',
    '0.05',
    ...extra,
  ]);
  await proc.waitForLine(/sim ready/, 120_000);
  const ports = [...proc.stdout().matchAll(/replica (\d+) ready http:\/\/[\d.]+:(\d+)/g)]
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => Number(m[2]));
  return { proc, ports, stop: async () => void (await proc.stop()) };
}

/** A Pod of a simulated replica: container port `containerPort` mapped to `hostPort` on 127.0.0.1. */
export function simPod(o: {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  containerPort: number;
  hostPort: number;
}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace ?? 'default', labels: o.labels },
    spec: {
      // A node name makes deletion graceful (the Pod is Terminating until removed), as with a kubelet.
      nodeName: 'sim-node',
      containers: [
        {
          name: 'vllm',
          image: 'vllm/vllm-openai:latest',
          ports: [{ name: 'http', containerPort: o.containerPort, hostPort: o.hostPort }],
        },
      ],
    },
  };
}

/** Creates the Pod and sets its status (Running, Ready, podIP 10.244.0.<n>) as a kubelet would. */
export async function runPod(env: KubeEnv, pod: Parameters<typeof simPod>[0], n: number): Promise<void> {
  await env.apply([simPod(pod)]);
  await env.setPodStatus(pod.namespace ?? 'default', pod.name, { podIP: `10.244.0.${n}`, ready: true });
}

/** Deletes a Pod as a scale-down does: Terminating first (deletionTimestamp), then gone. */
export async function terminatePod(
  env: KubeEnv,
  namespace: string,
  name: string,
  gapMs = 300,
): Promise<void> {
  await env.api.json('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}?gracePeriodSeconds=30`);
  await new Promise((r) => setTimeout(r, gapMs));
  await env.api
    .json('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}?gracePeriodSeconds=0`)
    .catch(() => undefined);
}

export interface Serve {
  proc: CliProcess;
  /** Listener URL by `ns/gateway/listener` key, once ready. */
  url(key: string, timeoutMs?: number): Promise<string>;
  /** The admin server's URL, once it answers. */
  admin(timeoutMs?: number): Promise<string>;
  /** The sum of a metric's samples on the admin /metrics page (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  accessLog: string;
  /** Access-log records written so far. */
  access(): { status: number; target_model?: string; model?: string; endpoint?: string }[];
  stop(): Promise<void>;
}

/** `infergate serve --kubernetes` against the test API server; every declared port OS-chosen. */
export function startServe(
  env: KubeEnv,
  ports: number[],
  extra: string[] = [],
  name = 'serve',
  childEnv: NodeJS.ProcessEnv = {},
): Serve {
  const accessLog = `${env.kubeconfig}.${name}.access.jsonl`;
  writeFileSync(accessLog, '');
  const proc = startCli(
    [
      'serve',
      '--kubernetes',
      '--kubeconfig',
      env.kubeconfig,
      '--host',
      '127.0.0.1',
      '--admin-port',
      '0',
      '--port-map',
      ports.map((p) => `${p}=0`).join(','),
      '--scrape-interval',
      '50ms',
      '--access-log',
      accessLog,
      '--drain-timeout',
      '2s',
      ...extra,
    ],
    { env: childEnv },
  );
  return {
    proc,
    accessLog,
    async url(key, timeoutMs = 120_000) {
      const escaped = key.replace(/[/.]/g, (c) => `\\${c}`);
      const m = await proc.waitForLine(new RegExp(`listener ${escaped} ready (http://\\S+)`), timeoutMs);
      return m[1]!;
    },
    async admin(timeoutMs = 120_000) {
      return (await proc.waitForLine(/^admin ready (http:\/\/\S+)/, timeoutMs))[1]!;
    },
    async metric(name, labels) {
      const res = await request(`${await this.admin()}/metrics`);
      const text = await res.body.text();
      return sumSamples(parsePrometheusText(text).families, name, labels) ?? 0;
    },
    access() {
      return readFileSync(accessLog, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    },
    stop: async () => void (await proc.stop()),
  };
}

/** One small completion; resolves with status and body text (never throws on HTTP errors). */
export async function complete(
  url: string,
  model: string,
  opts: { path?: string; host?: string } = {},
): Promise<{ status: number; body: string; endpoint?: string }> {
  const res = await request(`${url}${opts.path ?? '/v1/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.host ? { host: opts.host } : {}) },
    body: JSON.stringify({ model, prompt: 'Hello from the cluster test', max_tokens: 3 }),
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const body = await res.body.text();
  const endpoint = res.headers['x-infergate-endpoint'];
  return { status: res.statusCode, body, ...(typeof endpoint === 'string' ? { endpoint } : {}) };
}

/** Polls until `check` resolves true (every 100 ms, bounded). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** The condition of `type` in a list of conditions. */
export function conditionOf(
  conditions: unknown,
  type: string,
): { status: string; reason: string; observedGeneration?: number } | undefined {
  return (Array.isArray(conditions) ? conditions : []).find((c: { type: string }) => c.type === type);
}
