/**
 * `infergate bench --scenario` end to end through the real CLI: it starts `infergate sim` and
 * `infergate serve` per target, runs the document's workload, writes the JSON, and stops every child
 * — also when it is interrupted. Assertions are behavioural (requests served, cache hits by
 * placement), never timings.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'infergate-scenario-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves with the exit code; on `timeoutMs`, SIGTERM (the CLI then stops its children). */
async function finish(p: CliProcess, timeoutMs: number): Promise<number | string> {
  const timer = setTimeout(() => void p.stop(15_000), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** True when nothing accepts connections on 127.0.0.1:port any more. */
function closed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const portOf = (url: string): number => Number(new URL(url).port);

interface TargetJson {
  name: string;
  url: string;
  completed: number;
  failed: number;
  prefix_cache_hit_rate: number | null;
  prefix_cache: { replicas: { url: string; requests: number | null }[] } | null;
  request_cache: { hit_rate: number } | null;
  prefix_cache_ideal: { hit_rate: number; achieved_over_ideal: number } | null;
  generator: { event_loop_lag_ms: { p99: number } };
}

describe('infergate bench --scenario', () => {
  it('seed-003 (quick, shortened): prefix-aware routing hits the cache more than least-request', async () => {
    const json = join(dir, 'seed-003.json');
    // Two of the three targets and 240 s of simulated chat instead of 300: about 25 s of wall time.
    const p = startCli([
      'bench',
      '--scenario',
      'seed-003',
      '--quick',
      '--strategy',
      'standard,inference',
      '--time',
      '240',
      '--progress',
      'none',
      '--json',
      json,
    ]);
    const code = await finish(p, 110_000);
    // On a busy machine warnings fire and the logs are kept: this test removes them.
    const logDir = p.stderr().match(/logs of the simulator and the gateway: (\S+)/)?.[1];
    if (logDir) rmSync(logDir, { recursive: true, force: true });
    expect(p.stderr()).not.toMatch(/at \S+\.ts:\d+/);
    expect(code).toBe(0);
    const out = p.stdout();
    expect(out).toContain('Target standard');
    expect(out).toContain('Target inference');
    expect(out).toMatch(/seed-003 \(quick\)/);
    expect(out).toContain('document 003_9975f282a9b4e97c.txt');
    expect(out).toMatch(/^Checks: /m);

    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      scenario: { name: string; quick: boolean; targets: { name: string; serve_args: string[] }[] };
      baseline: string;
      targets: TargetJson[];
    };
    expect(report.scenario.name).toBe('seed-003');
    expect(report.scenario.quick).toBe(true);
    expect(report.baseline).toBe('standard');
    expect(report.scenario.targets.map((t) => t.name)).toEqual(['standard', 'inference']);
    const [standard, inference] = report.targets;
    for (const t of [standard!, inference!]) {
      expect(t.completed).toBeGreaterThan(10);
      expect(t.failed).toBe(0);
      expect(t.prefix_cache_hit_rate).toBeTypeOf('number');
      expect(t.request_cache?.hit_rate).toBeTypeOf('number');
      // Nothing can beat the ideal placement (a little slack: see ideal-prefix.ts on its caveats).
      expect(t.prefix_cache_ideal!.achieved_over_ideal).toBeLessThanOrEqual(1.02);
      expect(t.generator.event_loop_lag_ms.p99).toBeTypeOf('number');
    }
    // Same seeded conversations, fresh caches: placement alone makes the difference.
    expect(inference!.request_cache!.hit_rate).toBeGreaterThan(standard!.request_cache!.hit_rate + 0.15);
    expect(inference!.prefix_cache_hit_rate!).toBeGreaterThan(standard!.prefix_cache_hit_rate!);
    // Every child is gone: the gateways' listeners and the replicas refuse connections.
    const urls = report.targets.flatMap((t) => [
      t.url,
      ...(t.prefix_cache?.replicas.map((r) => r.url) ?? []),
    ]);
    expect(urls.length).toBe(12);
    for (const url of urls) expect(await closed(portOf(url)), url).toBe(true);
  }, 120_000);

  it('SIGTERM stops the run and every child, and keeps the logs', async () => {
    const p = startCli(['bench', '--scenario', 'seed-002', '--quick', '--progress', 'lines']);
    // Wait until the first target is being measured (its children are up), then interrupt.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line:\n${p.stderr()}`)), 60_000);
      const poll = setInterval(() => {
        if (/standard: \d+\/400 done/.test(p.stderr())) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
    });
    p.child.kill('SIGTERM');
    const code = await finish(p, 30_000);
    expect(code).toBe(130);
    const logDir = p.stderr().match(/logs of the simulator and the gateway: (\S+)/)?.[1];
    expect(logDir, p.stderr()).toBeDefined();
    try {
      const pods = readFileSync(join(logDir!, 'standard.pods.yaml'), 'utf8');
      const ports = [...pods.matchAll(/hostPort: (\d+)/g)].map((m) => Number(m[1]));
      expect(ports.length).toBe(5);
      for (const port of ports) expect(await closed(port), `replica port ${port}`).toBe(true);
      expect(readdirSync(logDir!)).toContain('standard.sim.log');
    } finally {
      rmSync(logDir!, { recursive: true, force: true });
    }
  }, 90_000);
});
