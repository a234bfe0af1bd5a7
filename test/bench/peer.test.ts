/**
 * Peer routers as benchmark targets (issue 16): SGLang's router and the vLLM project's, installed by
 * scripts/deps/60-peer-routers.sh, run in front of a fresh `infergate sim` fleet inside a scenario,
 * beside an infergate target, and produce results; a peer that is not installed is skipped with a
 * message and the run still succeeds. Bounded: 30 requests per target.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { hasTool, toolPath } from '../helpers/deps.js';

const dir = mkdtempSync(join(tmpdir(), 'infergate-peer-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function finish(p: CliProcess, timeoutMs: number): Promise<number | string> {
  const timer = setTimeout(() => void p.stop(15_000), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** True when nothing accepts connections at the URL's port any more. */
function closed(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(Number(new URL(url).port), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** `infergate bench --scenario quality-zipf --quick` for `strategy`, quiet, with `env` for the child. */
function zipfQuick(strategy: string, extra: string[], env: NodeJS.ProcessEnv): CliProcess {
  return startCli(
    [
      'bench',
      '--scenario',
      'quality-zipf',
      '--quick',
      '--strategy',
      strategy,
      '--progress',
      'none',
      ...extra,
    ],
    { env },
  );
}

function dropKeptLogs(p: CliProcess): void {
  const logDir = p.stderr().match(/logs of the simulator and the gateway: (\S+)/)?.[1];
  if (logDir) rmSync(logDir, { recursive: true, force: true });
}

interface TailJson {
  p99_ttft_ms: number;
  requests: { index: number; ttft_ms: number; endpoint?: string; reason?: string }[];
}

interface ReportJson {
  scenario: { peers: { target: string; router: string }[]; skipped: unknown[] };
  targets: {
    name: string;
    url: string;
    completed: number;
    failed: number;
    prefix_cache: { replicas: { requests: number | null }[] } | null;
    tail?: TailJson;
    requests?: { index: number; endpoint?: string; reason?: string; floor_ms?: number }[];
    ttft_floor?: { requests: number; ttft_mean_ms: number; floor_mean_ms: number; floor_p99_ms: number };
  }[];
}

describe.skipIf(!hasTool('sglang-router'))('sglang-router as a scenario target', () => {
  it('serves the same seeded requests as infergate on its own fresh fleet', async () => {
    const json = join(dir, 'zipf.json');
    const p = zipfQuick(
      'infergate,sglang-cache-aware',
      ['--num-prompts', '30', '--json', json, '--save-detailed'],
      { INFERGATE_SGLANG_ROUTER: toolPath('sglang-router') },
    );
    const code = await finish(p, 110_000);
    dropKeptLogs(p);
    expect(code, p.stderr()).toBe(0);
    expect(p.stdout()).toContain('Target sglang-cache-aware');
    const report = JSON.parse(readFileSync(json, 'utf8')) as ReportJson;
    expect(report.scenario.peers).toEqual([
      { target: 'sglang-cache-aware', router: expect.stringContaining('--policy cache_aware') },
    ]);
    expect(report.scenario.skipped).toEqual([]);
    const [infergate, peer] = report.targets;
    expect(peer!.name).toBe('sglang-cache-aware');
    for (const t of [infergate!, peer!]) {
      expect(t.completed).toBe(30);
      expect(t.failed).toBe(0);
      // The requests reached the simulated replicas behind the router.
      const served = t.prefix_cache!.replicas.reduce((a, r) => a + (r.requests ?? 0), 0);
      expect(served).toBe(30);
      expect(t.tail!.requests.length).toBeGreaterThan(0);
      // Every request compared with its floor on an idle replica; none beat it by more than the
      // profile's step jitter (3 %, clamped at 3σ).
      const floor = t.ttft_floor!;
      expect(floor.requests).toBe(30);
      expect(floor.floor_mean_ms).toBeGreaterThan(0);
      expect(floor.ttft_mean_ms).toBeGreaterThan(floor.floor_mean_ms * 0.91);
    }
    // infergate's tail requests carry the gateway's reason with the load seen at the pick.
    expect(infergate!.tail!.requests[0]!.reason).toMatch(/seen there: waiting ~\d+/);
    expect(peer!.tail!.requests[0]!.reason).toBeUndefined();
    // --save-detailed: every request's record carries the same evidence (the gateway's line for
    // infergate's, the floor for both).
    expect(infergate!.requests).toHaveLength(30);
    for (const r of infergate!.requests!) {
      expect(r.endpoint, `request ${r.index}`).toMatch(/^127\.0\.0\.\d+:\d+$/);
      expect(r.reason, `request ${r.index}`).toMatch(/→ .*seen there: waiting ~\d+/);
      expect(r.floor_ms, `request ${r.index}`).toBeGreaterThan(0);
    }
    expect(peer!.requests!.every((r) => r.endpoint === undefined && r.floor_ms! > 0)).toBe(true);
    // The router was stopped with its fleet.
    expect(peer!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(await closed(peer!.url)).toBe(true);
  }, 120_000);
});

describe.skipIf(!hasTool('vllm-router'))('vllm-router as a scenario target', () => {
  it('serves the seeded requests on its own fresh fleet, and is stopped with it', async () => {
    const json = join(dir, 'zipf-vllm.json');
    const p = zipfQuick('vllm-cache-aware', ['--num-prompts', '30', '--json', json], {
      INFERGATE_VLLM_ROUTER: toolPath('vllm-router'),
    });
    const code = await finish(p, 110_000);
    dropKeptLogs(p);
    expect(code, p.stderr()).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ReportJson;
    expect(report.scenario.peers).toEqual([
      {
        target: 'vllm-cache-aware',
        router: expect.stringMatching(/^vllm-router 0\.1\.17 --policy cache_aware/),
      },
    ]);
    const [peer] = report.targets;
    expect(peer!.completed).toBe(30);
    expect(peer!.failed).toBe(0);
    const served = peer!.prefix_cache!.replicas.reduce((a, r) => a + (r.requests ?? 0), 0);
    expect(served).toBe(30);
    expect(await closed(peer!.url)).toBe(true);
  }, 120_000);
});

describe('a peer router that is not installed', () => {
  it('is skipped with a message; the run succeeds', async () => {
    const p = zipfQuick('sglang-power-of-two', [], { INFERGATE_SGLANG_ROUTER: join(dir, 'no-such-router') });
    const code = await finish(p, 60_000);
    expect(code, p.stderr()).toBe(0);
    expect(p.stderr()).toMatch(/sglang-power-of-two: skipped — sglang-router is not installed/);
    expect(p.stdout()).toMatch(/Skipped target sglang-power-of-two: .*npm run test:deps/);
  }, 70_000);
});
