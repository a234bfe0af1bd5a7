/**
 * Builders for scheduling tests: endpoints with metrics, requests, plans, a plugin host.
 * Shared by the unit tests beside the code (src/pool, src/scheduling) and the e2e tests here.
 */
import { type Logger, pino } from 'pino';
import type { EndpointAddress, Plan, PoolPlan, SourceRef } from '../../src/config/plan.js';
import { EndpointState } from '../../src/datastore/endpoint-state.js';
import type { InferenceRequest } from '../../src/requestcontrol/types.js';
import { SchedulingContext } from '../../src/scheduling/framework/context.js';
import type { PluginHost } from '../../src/scheduling/framework/types.js';
import { DEFAULT_SATURATION } from '../../src/scheduling/saturation.js';
import type { ModelServerMetrics } from '../../src/scraping/model-server-metrics.js';
import { vllmMapping } from '../../src/scraping/vllm.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRng } from '../../src/util/rng.js';

export const source = (kind: string, name: string): SourceRef => ({
  file: 'test.yaml',
  doc: 1,
  apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
  kind,
  name,
  namespace: 'default',
});

export function metrics(m: Partial<ModelServerMetrics> = {}): ModelServerMetrics {
  return {
    waiting: 0,
    running: 0,
    kvUsage: 0,
    activeLoras: [],
    waitingLoras: [],
    maxLoras: undefined,
    blockSize: undefined,
    numBlocks: undefined,
    models: [],
    ...m,
  };
}

export interface StateOpts {
  /** Metrics snapshot; omit for an endpoint never scraped. */
  m?: Partial<ModelServerMetrics>;
  /** Age of the snapshot in ms (default 0: fresh). */
  ageMs?: number;
  inflight?: number;
  ready?: boolean;
  labels?: Record<string, string>;
}

/** Endpoint `10.0.0.<i>:8000` with the given state; `now` defaults to performance.now(). */
export function state(i: number, opts: StateOpts = {}, now = performance.now()): EndpointState {
  const address = `10.0.0.${i}`;
  const s = new EndpointState(
    { id: `${address}:8000`, address, port: 8000, labels: opts.labels ?? {}, podName: `pod-${i}` },
    vllmMapping,
    opts.ready ?? true,
  );
  if (opts.m) {
    s.beginScrape();
    s.applyScrape(metrics(opts.m), now - (opts.ageMs ?? 0));
  }
  for (let k = 0; k < (opts.inflight ?? 0); k++) s.acquire(100);
  return s;
}

export interface RequestOpts {
  model?: string;
  prompt?: string;
  messages?: { role: string; content: string }[];
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
  id?: string;
}

let seq = 0;

export function request(opts: RequestOpts = {}): InferenceRequest {
  const json: Record<string, unknown> = {};
  if (opts.model !== undefined) json.model = opts.model;
  if (opts.messages) json.messages = opts.messages;
  else json.prompt = opts.prompt ?? 'Hello';
  Object.assign(json, opts.extra);
  const body = Buffer.from(JSON.stringify(json));
  return {
    id: opts.id ?? `req-${++seq}`,
    pool: 'default/pool',
    path: opts.messages ? '/v1/chat/completions' : '/v1/completions',
    headers: opts.headers ?? {},
    body,
    json,
    model: opts.model,
    stream: false,
    receivedAt: performance.now(),
  };
}

export function context(
  req: InferenceRequest,
  opts: { target?: string; priority?: number; promptChars?: number } = {},
) {
  return new SchedulingContext(
    req,
    opts.target ?? req.model,
    opts.priority ?? 0,
    opts.promptChars ?? 64 * 256,
  );
}

export function host(seed = 1, logger = silentLogger()): PluginHost & { store: Map<string, object> } {
  const store = new Map<string, object>();
  return {
    poolKey: 'default/pool',
    logger,
    rng: new SeededRng(seed),
    saturation: DEFAULT_SATURATION,
    store,
    shared<T extends object>(key: string, create: () => T): T {
      let v = store.get(key) as T | undefined;
      if (!v) {
        v = create();
        store.set(key, v);
      }
      return v;
    },
  };
}

/** A chat-like prompt of about `chars` characters, distinct per `seed`. */
export function text(chars: number, seed = 0): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
  const rng = new SeededRng(seed);
  let out = '';
  while (out.length < chars) out += `${words[Math.floor(rng.next() * words.length)]} `;
  return out.slice(0, chars);
}

export function address(i: number, port = 8000, labels: Record<string, string> = {}): EndpointAddress {
  return { address: `10.0.0.${i}`, port, ready: true, labels, from: 'Pod', podName: `pod-${i}` };
}

export function pool(p: Partial<PoolPlan> & { endpoints: EndpointAddress[] }): PoolPlan {
  return {
    key: 'default/pool',
    namespace: 'default',
    name: 'pool',
    apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
    selector: { matchLabels: { app: 'vllm' } },
    targetPorts: [8000],
    appProtocol: 'http',
    workloads: [],
    models: [],
    objectives: [],
    rewrites: [],
    source: source('InferencePool', 'pool'),
    ...p,
  };
}

export function plan(...pools: PoolPlan[]): Plan {
  return {
    listeners: [],
    routes: [],
    services: new Map(),
    pools: new Map(pools.map((p) => [p.key, p])),
    ignored: [],
    diagnostics: [],
  };
}

/** Polls `check` until it returns true (or a value), failing after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A pino logger whose JSON lines are collected in memory. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void raw.push(s) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
