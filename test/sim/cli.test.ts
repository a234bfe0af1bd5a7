/**
 * `infergate sim` as a real process: ready lines (the contract other rooms parse), consecutive and
 * OS-chosen ports, Pod manifests, simulator-only flags, clean exit on SIGTERM, flag errors.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type CliProcess, runCli, startCli } from '../helpers/cli.js';
import { postJson, scrape } from './helpers.js';

const READY = /^replica (\d+) ready (http:\/\/127\.0\.0\.1:(\d+)) model=(.+)$/;
const started: CliProcess[] = [];
let tmp: string | undefined;

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function readyLines(stdout: string): RegExpMatchArray[] {
  return stdout
    .split('\n')
    .map((l) => l.match(READY))
    .filter((m): m is RegExpMatchArray => m !== null);
}

describe('infergate sim (CLI)', () => {
  it('starts replicas on OS-chosen ports, writes Pod manifests, prints ready lines, exits 0 on SIGTERM', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'infergate-sim-'));
    const pods = join(tmp, 'pods.yaml');
    const p = startCli([
      'sim',
      '--replicas',
      '3',
      '--port',
      '0',
      '--profile',
      'qwq-32b-4xa10-tp4',
      '--time-scale',
      '0.01',
      '--emit-pods',
      pods,
      '--pod-labels',
      'app=qwq-32b,tier=gpu',
      '--write-interval-ms',
      '10000',
      '--max-emit-lag-ms',
      '3',
    ]);
    started.push(p);
    await p.waitForLine(/^sim ready 3 replicas$/);
    const lines = readyLines(p.stdout());
    expect(lines.map((m) => m[1])).toEqual(['0', '1', '2']);
    expect(lines.map((m) => m[4])).toEqual(['qwq-32b', 'qwq-32b', 'qwq-32b']);
    const ports = lines.map((m) => Number(m[3]));
    expect(new Set(ports).size).toBe(3);
    // stdout holds only the contract lines.
    expect(p.stdout().trim().split('\n')).toHaveLength(4);

    const docs = parseAllDocuments(await readFile(pods, 'utf8')).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string; labels: Record<string, string> };
          spec: { containers: { ports: { containerPort: number; hostPort: number }[] }[] };
          status: { podIP: string; hostIP: string; phase: string };
        },
    );
    expect(docs.map((d) => d.kind)).toEqual(['Pod', 'Pod', 'Pod']);
    expect(docs.map((d) => d.spec.containers[0]!.ports[0]!.hostPort)).toEqual(ports);
    for (const d of docs) {
      expect(d.metadata.labels).toEqual({ app: 'qwq-32b', tier: 'gpu' });
      expect(d.spec.containers[0]!.ports[0]!.containerPort).toBe(8000);
      expect(d.status).toMatchObject({ podIP: '127.0.0.1', hostIP: '127.0.0.1', phase: 'Running' });
    }

    for (const m of lines) {
      const res = await postJson(`${m[2]}/v1/completions`, { model: 'qwq-32b', prompt: 'hi', max_tokens: 2 });
      expect(res.status).toBe(200);
      await res.json();
    }
    // The simulator-only flags reach every replica (one write pacer per process).
    for (const m of lines) expect((await scrape(m[2]!)).value('sim_write_interval_seconds')).toBe(10);
    expect(await p.stop()).toBe(0);
  });

  it('uses consecutive ports P … P+N−1 with --port P', async () => {
    // A free run of ports cannot be reserved ahead; retry on a few random bases.
    for (let attempt = 0; attempt < 5; attempt++) {
      const base = 20_000 + Math.floor(Math.random() * 30_000);
      const p = startCli(['sim', '--replicas', '2', '--port', String(base), '--time-scale', '0.01']);
      started.push(p);
      try {
        await p.waitForLine(/^sim ready 2 replicas$/);
      } catch {
        await p.stop();
        continue;
      }
      expect(readyLines(p.stdout()).map((m) => Number(m[3]))).toEqual([base, base + 1]);
      expect((await fetch(`http://127.0.0.1:${base + 1}/health`)).status).toBe(200);
      expect(await p.stop()).toBe(0);
      return;
    }
    throw new Error('no free pair of consecutive ports found');
  });

  it('--engine v0 serves as vLLM 0.7.2 (V0 names, swap gauges, defaults) and --trace records the engine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infergate-sim-v0-'));
    const trace = join(dir, 'trace.jsonl');
    try {
      const p = startCli([
        'sim',
        '--port',
        '0',
        '--profile',
        'qwq-32b-4xa10-tp4',
        '--engine',
        'v0',
        '--gpu-memory-utilization',
        '0.95',
        '--time-scale',
        '0.01',
        '--trace',
        trace,
      ]);
      started.push(p);
      const [, , url] = (await p.waitForLine(READY)) as RegExpMatchArray;
      await p.waitForLine(/^sim ready 1 replicas$/);
      const res = await postJson(`${url}/v1/completions`, {
        model: 'qwq-32b',
        prompt: 'hello',
        max_tokens: 3,
      });
      expect(res.status).toBe(200);
      await res.json();
      expect(await (await fetch(`${url}/version`)).json()).toEqual({ version: '0.7.2' });
      const m = await scrape(url!);
      expect(m.value('vllm:num_requests_swapped')).toBe(0);
      expect(m.value('vllm:cpu_cache_usage_perc')).toBe(0);
      expect(m.value('vllm:gpu_cache_usage_perc')).toBe(0);
      expect(
        m.value('vllm:cache_config_info', { enable_prefix_caching: 'False', num_cpu_blocks: '4096' }),
      ).toBe(1);
      expect(m.families.has('vllm:kv_cache_usage_perc')).toBe(false);
      expect(await p.stop()).toBe(0);
      const lines = (await readFile(trace, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const done = lines.filter((l) => l.k === 'r');
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ r: 0, o: 3, pre: 0 });
      expect(done[0].ft).toBeGreaterThan(done[0].arr);
      expect(lines.some((l) => l.k === 's' && l.pfSteps >= 1)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown profile with a message and a non-zero exit', async () => {
    const r = await runCli(['sim', '--port', '0', '--profile', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown profile "nope"/);
    expect(r.stdout).toBe('');
  });
});
