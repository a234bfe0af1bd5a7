/**
 * `infergate bench` as a user runs it: the real CLI (through tsx) against fake servers on loopback.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../src/util/ports.js';
import { runCli } from '../helpers/cli.js';
import { type FakeOpenAi, startFakeOpenAi } from './fake-openai.js';

let a: FakeOpenAi;
let b: FakeOpenAi;
const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-cli-'));

beforeAll(async () => {
  a = await startFakeOpenAi(() => ({ ttftMs: 10, itlMs: 1 }));
  b = await startFakeOpenAi(() => ({ ttftMs: 2, itlMs: 1 }));
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const SMALL = ['--random-input-len', '32', '--random-output-len', '6', '--progress', 'lines'];

describe('infergate bench', () => {
  it('prints the vLLM table, discovers the model and writes JSON and HTML', async () => {
    const json = join(dir, 'one.json');
    const html = join(dir, 'one.html');
    const r = await runCli([
      'bench',
      '--url',
      a.url,
      '--num-prompts',
      '20',
      '--max-concurrency',
      '4',
      ...SMALL,
      '--scrape-metrics',
      a.url,
      '--json',
      json,
      '--html',
      html,
    ]);
    expect(r.stderr).not.toMatch(/Error|at \S+\.ts/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('============ Serving Benchmark Result ============');
    expect(r.stdout).toMatch(/^Successful requests:\s+20\s*$/m);
    expect(r.stdout).toMatch(/^Total generated tokens:\s+120\s*$/m);
    expect(r.stdout).toMatch(/^Prefix cache hit rate \(%\):\s+\d+\.\d\d\s*$/m);
    expect(r.stderr).toContain('model fake-model');
    expect(r.stderr).toMatch(/20\/20 done, 0 failed/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      targets: { completed: number; ttft: { p99: number } }[];
    };
    expect(report.targets[0]!.completed).toBe(20);
    expect(readFileSync(html, 'utf8')).toContain('<svg');
    expect(JSON.parse(a.received[0]!.body)).toMatchObject({
      model: 'fake-model',
      max_tokens: 6,
      ignore_eos: true,
    });
  });

  it('--compare runs the same requests against each target and prints them side by side', async () => {
    const before = [a.received.length, b.received.length];
    const r = await runCli([
      'bench',
      '--compare',
      `slow=${a.url}`,
      `fast=${b.url}`,
      '--num-prompts',
      '8',
      '--seed',
      '3',
      ...SMALL,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Target slow');
    expect(r.stdout).toContain('Target fast');
    expect(r.stdout).toMatch(/^\s+slow\s+fast\s+fast\/slow$/m);
    expect(r.stdout).toMatch(/^Mean TTFT \(ms\)\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\dx$/m);
    const sentA = a.received
      .slice(before[0])
      .map((x) => x.body)
      .sort();
    const sentB = b.received
      .slice(before[1])
      .map((x) => x.body)
      .sort();
    // 8 prompts plus the uncounted initial test request (vLLM's), which the CLI sends by default.
    expect(sentA).toHaveLength(9);
    expect(sentB).toEqual(sentA);
  });

  it('exits 1 with a warning when nothing could be measured', async () => {
    const port = await reservePort();
    const r = await runCli([
      'bench',
      '--url',
      `http://127.0.0.1:${port}`,
      '--model',
      'm',
      '--num-prompts',
      '2',
      '--progress',
      'none',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('WARNING: every request failed');
    expect(r.stdout).toContain('network:ECONNREFUSED×2');
  });

  it.each([
    {
      args: ['--url', 'http://127.0.0.1:1', '--model', 'm', '--num-prompts', 'many'],
      says: '--num-prompts must be an integer',
    },
    {
      args: ['--url', 'http://127.0.0.1:1', '--model', 'm', '--dataset-name', 'sonnet'],
      says: '--dataset-name must be one of',
    },
    { args: ['--model', 'm'], says: '--url is required' },
  ])('exits 2 naming the flag: $says', async ({ args, says }) => {
    const r = await runCli(['bench', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
  });

  it('--scenario NAME --dry-run prints the plan without starting anything', async () => {
    const r = await runCli(['bench', '--scenario', 'seed-002', '--quick', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('seed-002 (quick)');
    expect(r.stdout).toContain('--replicas 5 --host 127.0.0.1 --port 0 --profile qwq-32b-4xa10-tp4');
    expect(r.stdout).toContain('--no-spin-wait');
    expect(r.stdout).toContain('"rangeMode":"legacy"');
    expect(r.stdout).toMatch(/standard\s+port 8080/);
    expect(r.stdout).toMatch(/round-robin\s+port 8080/);
    expect(r.stdout).toMatch(/inference\s+port 8081/);
    expect(r.stdout).toContain('--service-lb round-robin');
    // --strategy keeps the named targets, in the scenario's order, and sets a pool target's profile.
    const some = await runCli([
      'bench',
      '--scenario',
      'quality-003',
      '--dry-run',
      '--strategy',
      'infergate=prefix-cache,least-request',
    ]);
    expect(some.code).toBe(0);
    expect(some.stdout).toMatch(/least-request\s+port 8080[\s\S]*infergate\s+port 8081/);
    expect(some.stdout).toContain('--scheduler prefix-cache');
    expect(some.stdout).not.toMatch(/round-robin\s+port/);
    const list = await runCli(['bench', '--list-scenarios']);
    expect(list.stdout).toMatch(/^seed-003\s/m);
    const bad = await runCli(['bench', '--scenario', 'seed-999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scenario must be one of seed-002, seed-003, seed-004');
  });

  it.each([
    { args: ['--random-input-len', '5'], says: '--random-input-len does not apply with --scenario' },
    { args: ['--strategy', 'nobody'], says: '--strategy names "nobody", which is not a target of seed-002' },
    { args: ['--strategy', 'inference=fastest'], says: 'the scheduler must be one of config, default' },
    { args: ['--strategy', 'standard=magic'], says: 'a Service route balances by least-request' },
  ])('a scenario refuses what it defines itself: $says', async ({ args, says }) => {
    const r = await runCli(['bench', '--scenario', 'seed-002', '--dry-run', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
  });
});
