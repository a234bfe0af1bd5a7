/**
 * Peer routers: other projects' routers run as benchmark targets in front of the same fresh
 * simulated fleet as infergate's own targets, so a scenario compares them side by side. A peer is an
 * outside program installed by the project's own script (scripts/deps/60-peer-routers.sh); when it
 * is not installed, `peerAvailability` says why and the scenario skips that target (never a failed
 * run).
 *
 * Two so far, both Rust routers shipped in Python wheels (pinned in the install script), with one
 * command line: SGLang's (PyPI `sglang-router`: `launch --worker-urls URL… --policy …`) and the vLLM
 * project's, which started as a fork of it (PyPI `vllm-router`: the same flags without `launch`).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
import { reservePort } from '../../util/ports.js';
import { BenchError } from '../errors.js';
import { ChildCli, fileTail } from '../scenarios/processes.js';

export const SGLANG_ROUTER_POLICIES = ['cache_aware', 'power_of_two', 'round_robin', 'random'] as const;
export type SglangRouterPolicy = (typeof SGLANG_ROUTER_POLICIES)[number];

export type PeerKind = 'sglang-router' | 'vllm-router';

/** A peer router target: which program and how it is configured. */
export interface PeerSpec {
  kind: PeerKind;
  policy: SglangRouterPolicy;
  /** Further router flags in their CLI spelling (thresholds …). */
  extraArgs?: readonly string[] | undefined;
}

/** The versions scripts/deps/60-peer-routers.sh installs (the figures are for these). */
export const SGLANG_ROUTER_VERSION = '0.3.2';
export const VLLM_ROUTER_VERSION = '0.1.17';
const VERSIONS: Record<PeerKind, string> = {
  'sglang-router': SGLANG_ROUTER_VERSION,
  'vllm-router': VLLM_ROUTER_VERSION,
};
/** The environment variable that names a peer's program explicitly. */
const PROGRAM_ENV: Record<PeerKind, string> = {
  'sglang-router': 'INFERGATE_SGLANG_ROUTER',
  'vllm-router': 'INFERGATE_VLLM_ROUTER',
};

/** `policy=cache_aware` → its CLI default thresholds (the same in both routers), for reports. */
export function describePeer(spec: PeerSpec): string {
  const base = `${spec.kind} ${VERSIONS[spec.kind]} --policy ${spec.policy}`;
  const extra = spec.extraArgs && spec.extraArgs.length > 0 ? ` ${spec.extraArgs.join(' ')}` : '';
  const defaults =
    spec.policy === 'cache_aware' && extra === ''
      ? ' (CLI defaults: cache_threshold 0.3, balance_abs_threshold 64, balance_rel_threshold 1.5)'
      : '';
  return `${base}${extra}${defaults}`;
}

/** Folder of installed outside programs: `$INFERGATE_CACHE/bin` (default ~/.cache/infergate/bin). */
export function toolsBin(): string {
  return join(process.env.INFERGATE_CACHE ?? join(homedir(), '.cache', 'infergate'), 'bin');
}

/**
 * Where the peer's program is: `$INFERGATE_SGLANG_ROUTER` / `$INFERGATE_VLLM_ROUTER`, else
 * `<cache>/bin/<kind>`, else `<kind>` on PATH. Undefined when none exists.
 */
export function peerProgram(spec: PeerSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = spec.kind;
  const explicit = env[PROGRAM_ENV[spec.kind]];
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const cached = join(toolsBin(), name);
  if (existsSync(cached)) return cached;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export type PeerAvailability = { ok: true; program: string } | { ok: false; why: string };

/** Whether the peer can run here; `why` is the message printed when its target is skipped. */
export function peerAvailability(spec: PeerSpec, env: NodeJS.ProcessEnv = process.env): PeerAvailability {
  const program = peerProgram(spec, env);
  if (program) return { ok: true, program };
  return {
    ok: false,
    why: `${spec.kind} is not installed (looked for $${PROGRAM_ENV[spec.kind]}, ${join(toolsBin(), spec.kind)} and PATH): run \`npm run test:deps\` (scripts/deps/60-peer-routers.sh) to install it`,
  };
}

/** A running peer router: where to send the workload, and how to stop it. */
export interface RunningPeer {
  /** Base URL of its OpenAI API. */
  url: string;
  child: ChildCli;
}

export interface StartPeerOptions {
  program: string;
  /** The replicas' base URLs (`http://127.0.0.1:PORT`). */
  workerUrls: readonly string[];
  logFile: string;
  /** How long to wait for every worker to be registered and healthy. */
  readyTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** The router's arguments (loopback only; metrics on their own loopback port). */
export function sglangRouterArgs(
  spec: PeerSpec,
  port: number,
  metricsPort: number,
  workerUrls: readonly string[],
): string[] {
  return [
    ...(spec.kind === 'sglang-router' ? ['launch'] : []),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--worker-urls',
    ...workerUrls,
    '--policy',
    spec.policy,
    '--prometheus-host',
    '127.0.0.1',
    '--prometheus-port',
    String(metricsPort),
    '--log-level',
    spec.kind === 'sglang-router' ? 'warn' : 'warning',
    ...(spec.extraArgs ?? []),
  ];
}

/**
 * Starts the peer in front of `workerUrls` and resolves once it lists every worker as healthy (it
 * registers them in the background after it starts listening). Retries twice on a port taken in
 * between. Throws SCENARIO_FAILED (quoting its log) when it does not get ready.
 */
export async function startPeer(spec: PeerSpec, opts: StartPeerOptions): Promise<RunningPeer> {
  const deadline = performance.now() + (opts.readyTimeoutMs ?? 30_000);
  let lastWhy = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await reservePort();
    const metricsPort = await reservePort();
    const child = new ChildCli(
      `${spec.kind} (${spec.policy})`,
      sglangRouterArgs(spec, port, metricsPort, opts.workerUrls),
      opts.logFile,
      opts.program,
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForWorkers(child, url, opts.workerUrls.length, deadline, opts.signal);
      return { url, child };
    } catch (err) {
      await child.stop(2000);
      lastWhy = err instanceof Error ? err.message : String(err);
      if (opts.signal?.aborted || performance.now() > deadline) break;
      if (!/in use|bind/i.test(fileTail(opts.logFile, 4000))) break;
    }
  }
  throw new BenchError(
    'SCENARIO_FAILED',
    `${spec.kind} did not get ready: ${lastWhy}; its log (${opts.logFile}) ends:\n${fileTail(opts.logFile, 2000)}`,
  );
}

interface WorkersPage {
  total?: number;
  workers?: { is_healthy?: boolean }[];
}

async function waitForWorkers(
  child: ChildCli,
  url: string,
  expected: number,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (;;) {
    if (signal?.aborted) throw new Error('interrupted');
    if (!child.running) throw new Error('it exited');
    try {
      const res = await request(`${url}/workers`, { headersTimeout: 1000, bodyTimeout: 1000 });
      if (res.statusCode === 200) {
        const page = (await res.body.json()) as WorkersPage;
        const healthy = (page.workers ?? []).filter((w) => w.is_healthy === true).length;
        if (healthy >= expected) return;
      } else {
        await res.body.dump();
      }
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) throw new Error(`not every one of ${expected} workers healthy in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
