/**
 * How much wall latency each router adds to a request's TTFT, measured at low rate, so the issue-16
 * comparison can run at a time scale where that overhead is a small share of the simulated TTFT
 * (a router's own overhead is multiplied by 1/time-scale in simulated time).
 *
 *   npx tsx bench/peer-overhead.ts [--requests 60] [--time-scale 0.5] [--reference-ttft-ms 300]
 *
 * One simulated replica (qwen2.5-7b-l20), one request at a time, 200-token chat prompts with
 * 4-token answers, streamed, every prompt new (no prefix-cache hit). Each round sends one request
 * directly to the replica, one through `infergate serve` (InferencePool route, default profile) and
 * one through `sglang-router` (cache_aware), in turn, so machine-load drift hits all three alike.
 * Added latency = median TTFT through the
 * router − median TTFT direct (wall ms); the simulated-time cost at time scale s is that ÷ s, shown
 * against `--reference-ttft-ms` (the smallest mean TTFT compared in the issue-16 results) for
 * several time scales. Writes bench/results/peer-overhead.{json,md}.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { peerAvailability, startPeer } from '../src/bench/peers/index.js';
import { ChildCli } from '../src/bench/scenarios/processes.js';
import { percentile } from '../src/bench/stats.js';
import { streamRng, textOf } from '../src/bench/workload/text.js';

interface Args {
  requests: number;
  timeScale: number;
  referenceTtftMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { requests: 60, timeScale: 0.5, referenceTtftMs: 300 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} needs a positive number`);
    if (flag === '--requests') a.requests = Math.min(1000, Math.floor(v));
    else if (flag === '--time-scale') a.timeScale = v;
    else if (flag === '--reference-ttft-ms') a.referenceTtftMs = v;
    else throw new Error(`unknown flag ${flag}`);
  }
  return a;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const MODEL = '/model/qwen';

/** TTFT (wall ms) of one streamed chat request: until the first chunk with content. */
async function ttft(pool: Pool, body: string): Promise<number> {
  const t0 = performance.now();
  const res = await pool.request({
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${await res.body.text()}`);
  let first = Number.NaN;
  for await (const chunk of res.body) {
    if (Number.isNaN(first) && (chunk as Buffer).includes('"content":"')) {
      const s = (chunk as Buffer).toString();
      if (/"content":"[^"]/.test(s)) first = performance.now() - t0;
    }
  }
  return first;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'infergate-peer-overhead-'));
  const pods = join(dir, 'pods.yaml');
  const children: ChildCli[] = [];
  try {
    const sim = new ChildCli(
      'infergate sim',
      [
        'sim',
        '--replicas',
        '1',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--profile',
        'qwen2.5-7b-l20',
        '--time-scale',
        String(args.timeScale),
        '--served-model-name',
        MODEL,
        '--emit-pods',
        pods,
        '--pod-labels',
        'app=qwen',
      ],
      join(dir, 'sim.log'),
    );
    children.push(sim);
    await sim.waitForLine(/^sim ready/, 60_000);
    const replica = sim
      .lines()
      .map((l) => l.match(/^replica \d+ ready (\S+)/)?.[1])
      .find((u) => u !== undefined)!;
    const manifests = [
      'examples/seeds/003-vllm-service.yaml',
      'examples/seeds/003-inference-pool.yaml',
      'examples/seeds/003-inference-gateway.yaml',
    ].flatMap((m) => ['-f', join(ROOT, m)]);
    const gw = new ChildCli(
      'infergate serve',
      [
        'serve',
        ...manifests,
        '-f',
        pods,
        '--port-map',
        '8080=0,8081=0',
        '--host',
        '127.0.0.1',
        '--admin-port',
        '0',
        '--no-watch',
        '--scheduler',
        'default',
        '--scrape-interval',
        `${Math.max(5, 50 * args.timeScale)}ms`,
      ],
      join(dir, 'serve.log'),
    );
    children.push(gw);
    const listener = await gw.waitForLine(
      /^listener default\/qwen-inference-gateway\/llm-gw ready (\S+)/,
      60_000,
    );
    const targets: { name: string; url: string }[] = [
      { name: 'direct', url: replica },
      { name: 'infergate', url: listener[1]! },
    ];
    const peerSpec = { kind: 'sglang-router' as const, policy: 'cache_aware' as const };
    const avail = peerAvailability(peerSpec);
    if (avail.ok) {
      const peer = await startPeer(peerSpec, {
        program: avail.program,
        workerUrls: [replica],
        logFile: join(dir, 'peer.log'),
      });
      children.push(peer.child);
      targets.push({ name: 'sglang-cache-aware', url: peer.url });
    } else process.stderr.write(`sglang-router skipped: ${avail.why}\n`);

    const pools = targets.map((t) => new Pool(t.url, { connections: 1 }));
    const samples = targets.map(() => [] as number[]);
    const warmup = 5;
    for (let i = 0; i < args.requests + warmup; i++) {
      for (let t = 0; t < targets.length; t++) {
        // A fresh prompt of the same length for every request: all targets share the one replica,
        // so a prompt repeated across targets would hit the prefix cache for all but the first.
        const body = JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: textOf(streamRng(7, `overhead-${t}`, i), 200) }],
          max_tokens: 4,
          stream: true,
        });
        const v = await ttft(pools[t]!, body);
        if (i >= warmup && Number.isFinite(v)) samples[t]!.push(v);
      }
    }
    await Promise.all(pools.map((p) => p.close()));

    const med = samples.map((s) =>
      percentile(
        [...s].sort((a, b) => a - b),
        50,
      ),
    );
    const p90 = samples.map((s) =>
      percentile(
        [...s].sort((a, b) => a - b),
        90,
      ),
    );
    const scales = [0.05, 0.1, 0.2, 0.5, 1];
    const rows = targets.slice(1).map((t, k) => {
      const added = med[k + 1]! - med[0]!;
      return {
        router: t.name,
        median_ttft_wall_ms: round(med[k + 1]!),
        p90_ttft_wall_ms: round(p90[k + 1]!),
        added_wall_ms: round(added),
        share_of_reference_by_time_scale: Object.fromEntries(
          scales.map((s) => [String(s), round((added / s / args.referenceTtftMs) * 100)]),
        ),
      };
    });
    const json = {
      command: `npx tsx bench/peer-overhead.ts ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} (shared with other work)`,
      requests: args.requests,
      sim_time_scale: args.timeScale,
      reference_ttft_ms: args.referenceTtftMs,
      direct: { median_ttft_wall_ms: round(med[0]!), p90_ttft_wall_ms: round(p90[0]!) },
      routers: rows,
    };
    writeFileSync(join(RESULTS, 'peer-overhead.json'), `${JSON.stringify(json, null, 2)}\n`);
    const md = [
      '# Router overhead (issue 16: a fair time scale)',
      '',
      `Command: \`${json.command}\` · ${json.date} · ${json.machine}.`,
      '',
      `One simulated replica, ${args.requests} streamed 200-token chat requests per target, one at a time, interleaved; TTFT in wall ms.`,
      '',
      '| target | median TTFT (wall ms) | P90 | added vs direct (wall ms) | ' +
        scales.map((s) => `share of ${args.referenceTtftMs} ms at time scale ${s}`).join(' | ') +
        ' |',
      `|---|---|---|---|${scales.map(() => '---').join('|')}|`,
      `| direct | ${json.direct.median_ttft_wall_ms} | ${json.direct.p90_ttft_wall_ms} | – | ${scales.map(() => '–').join(' | ')} |`,
      ...rows.map(
        (r) =>
          `| ${r.router} | ${r.median_ttft_wall_ms} | ${r.p90_ttft_wall_ms} | ${r.added_wall_ms} | ${scales
            .map((s) => `${r.share_of_reference_by_time_scale[String(s)]} %`)
            .join(' | ')} |`,
      ),
      '',
    ].join('\n');
    writeFileSync(join(RESULTS, 'peer-overhead.md'), md);
    process.stdout.write(md);
  } finally {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;

main().catch((err: unknown) => {
  process.stderr.write(`bench/peer-overhead.ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
