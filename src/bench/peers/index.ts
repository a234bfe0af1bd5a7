/**
 * Peer routers: other projects' routers run as benchmark targets in front of the same fresh
 * simulated fleet as infergate's own targets, so a scenario compares them side by side. A peer is an
 * outside program installed by the project's own script (scripts/deps/60-sglang-router.sh); when it
 * is not installed, `peerAvailability` says why and the scenario skips that target (never a failed
 * run).
 *
 * Only SGLang's router so far (PyPI `sglang-router`, pinned in the install script): `launch
 * --worker-urls URL… --policy cache_aware|power_of_two|round_robin|random`.
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

/** A peer router target: which program and how it is configured. */
export interface PeerSpec {
  kind: 'sglang-router';
  policy: SglangRouterPolicy;
  /** Further `sglang-router launch` flags in their CLI spelling (thresholds …). */
  extraArgs?: readonly string[] | undefined;
}

/** The version scripts/deps/60-sglang-router.sh installs (the figures are for this one). */
export const SGLANG_ROUTER_VERSION = '0.3.2';

/** `policy=cache_aware` → its CLI default thresholds, for reports. */
export function describePeer(spec: PeerSpec): string {
  const base = `sglang-router ${SGLANG_ROUTER_VERSION} --policy ${spec.policy}`;
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
 * Where the peer's program is: `$INFERGATE_SGLANG_ROUTER`, else `<cache>/bin/sglang-router`, else
 * `sglang-router` on PATH. Undefined when none exists.
 */
export function peerProgram(spec: PeerSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = spec.kind;
  const explicit = env.INFERGATE_SGLANG_ROUTER;
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
    why: `${spec.kind} is not installed (looked for $INFERGATE_SGLANG_ROUTER, ${join(toolsBin(), spec.kind)} and PATH): run \`npm run test:deps\` (scripts/deps/60-sglang-router.sh) to install it`,
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

/** `sglang-router launch` arguments (loopback only; metrics on their own loopback port). */
export function sglangRouterArgs(
  spec: PeerSpec,
  port: number,
  metricsPort: number,
  workerUrls: readonly string[],
): string[] {
  return [
    'launch',
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
    'warn',
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
