/**
 * What the live page costs the requests (issue 13): added latency at 200 req/s with the page open vs
 * closed, on `infergate demo` (the real CLI: simulated vLLM replicas + the gateway, its InferencePool
 * route mirrored to a candidate).
 *
 *   npx tsx bench/page-cost.ts [--rounds 3] [--seconds 20] [--rate 200]
 *     [--time-scale 0.05]
 *
 * Each round runs two arms of `--seconds` at a fixed rate (open loop, evenly spaced arrivals) to the
 * inference port, in alternating order:
 *   closed  nobody looks at the page: no metrics sampling, no decision recording;
 *   open    a viewer polls GET /admin/snapshot once a second, as the page does (it loads the page and
 *           its scripts first): the metrics window samples every second and every decision is
 *           recorded in the ring.
 * The viewer is this process, not a browser: the browser's own CPU is not the gateway's cost (and on
 * two cores would only add noise). Latency is the client's wall time per request (non-streamed chat,
 * 16 output tokens), so it includes the simulated replicas' time at `--time-scale`.
 * Writes bench/results/page-cost.json and page-cost.md.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    'time-scale': { type: 'string', default: '0.05' },
  },
});
const ROUNDS = Number(flags.rounds);
const SECONDS = Number(flags.seconds);
const RATE = Number(flags.rate);
const TIME_SCALE = Number(flags['time-scale']);

interface ArmResult {
  arm: 'open' | 'closed';
  round: number;
  sent: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  snapshotPolls: number;
}

async function startDemo(): Promise<{ admin: string; inference: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'demo',
      '--replicas',
      '3',
      '--time-scale',
      String(TIME_SCALE),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--inference-port',
      '0',
      '--admin-port',
      '0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INFERGATE_LOG_LEVEL: 'error' } },
  );
  child.stderr.resume();
  let out = '';
  const lines = await new Promise<{ admin: string; inference: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 180_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const admin = /^admin ready (\S+)$/m.exec(out)?.[1];
      const inference = /^listener default\/demo-gateway\/inference ready (\S+)$/m.exec(out)?.[1];
      if (admin && inference) {
        clearTimeout(timer);
        resolve({ admin, inference });
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited (${code}):\n${out}`)));
  });
  return {
    ...lines,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

async function arm(
  demo: { admin: string; inference: string },
  which: 'open' | 'closed',
  round: number,
  seconds: number,
): Promise<ArmResult> {
  const pool = new Pool(demo.inference, { connections: 64 });
  let polls = 0;
  let viewing = which === 'open';
  const viewer = (async () => {
    if (!viewing) return;
    for (const path of ['/', '/page/app.js', '/page/style.css', '/page/uplot.js', '/page/uplot.css']) {
      await (await request(`${demo.admin}${path}`)).body.text();
    }
    while (viewing) {
      await (await request(`${demo.admin}/admin/snapshot`)).body.text();
      polls++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  if (viewing) await new Promise((r) => setTimeout(r, 1500)); // the page is open before the load starts

  const total = Math.round(RATE * seconds);
  const latencies = new Float64Array(total);
  let ok = 0;
  let failed = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    const body = JSON.stringify({
      model: i % 4 === 3 ? '/model/qwen' : 'travel-helper',
      messages: [{ role: 'user', content: `Question ${i % 50} about a week in Kyoto.` }],
      max_tokens: 16,
    });
    inflight.push(
      pool
        .request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        })
        .then(async (res) => {
          await res.body.text();
          latencies[i] = performance.now() - t0;
          if (res.statusCode === 200) ok++;
          else failed++;
        })
        .catch(() => {
          latencies[i] = performance.now() - t0;
          failed++;
        }),
    );
  }
  await Promise.all(inflight);
  viewing = false;
  await viewer;
  await pool.close();
  const sorted = latencies.slice().sort();
  return {
    arm: which,
    round,
    sent: total,
    ok,
    failed,
    p50Ms: round2(quantile(sorted, 0.5)),
    p90Ms: round2(quantile(sorted, 0.9)),
    p99Ms: round2(quantile(sorted, 0.99)),
    maxMs: round2(sorted[sorted.length - 1] ?? Number.NaN),
    snapshotPolls: polls,
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg().map(round2);
  const demo = await startDemo();
  const arms: ArmResult[] = [];
  try {
    // Warm-up: JIT, connections, the replicas' prefix caches.
    process.stderr.write('warm-up (5 s)…\n');
    await arm(demo, 'closed', -1, 5);
    for (let r = 0; r < ROUNDS; r++) {
      const order: ('open' | 'closed')[] = r % 2 === 0 ? ['closed', 'open'] : ['open', 'closed'];
      for (const which of order) {
        process.stderr.write(`round ${r + 1}/${ROUNDS}: page ${which}…\n`);
        const a = await arm(demo, which, r, SECONDS);
        process.stderr.write(`  p50 ${a.p50Ms} ms, p99 ${a.p99Ms} ms, ok ${a.ok}/${a.sent}\n`);
        arms.push(a);
      }
    }
  } finally {
    await demo.stop();
  }
  const byRound = Array.from({ length: ROUNDS }, (_, r) => {
    const open = arms.find((a) => a.round === r && a.arm === 'open')!;
    const closed = arms.find((a) => a.round === r && a.arm === 'closed')!;
    return {
      round: r,
      addedP50Ms: round2(open.p50Ms - closed.p50Ms),
      addedP99Ms: round2(open.p99Ms - closed.p99Ms),
    };
  });
  const p99Closed = arms.filter((a) => a.arm === 'closed').map((a) => a.p99Ms);
  const result = {
    startedAt,
    rate: RATE,
    seconds: SECONDS,
    rounds: ROUNDS,
    timeScale: TIME_SCALE,
    environment: {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavgBefore: loadBefore,
      loadavgAfter: loadavg().map(round2),
      note: 'two-core machine shared with other engineers’ work; the demo (gateway + simulated replicas) and the load generator share it',
    },
    arms,
    byRound,
  };
  const lines = [
    `Page open vs closed: ${RATE} req/s for ${SECONDS} s per arm, ${ROUNDS} rounds (alternating order), infergate demo at time scale ${TIME_SCALE} (simulated replicas); client latency in ms (wall time)`,
    '',
    `Run ${startedAt}: \`npx tsx bench/page-cost.ts --rounds ${ROUNDS} --seconds ${SECONDS} --rate ${RATE} --time-scale ${TIME_SCALE}\`. Machine: ${cpus().length} cores, shared with other engineers' work; load average (1/5/15 min) before ${loadBefore.join(' / ')}, after ${result.environment.loadavgAfter.join(' / ')}.`,
    '',
    '| round | arm | ok / sent | p50 | p90 | p99 | max | snapshot polls |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
    ...arms.map(
      (a) =>
        `| ${a.round + 1} | ${a.arm} | ${a.ok} / ${a.sent} | ${a.p50Ms} | ${a.p90Ms} | ${a.p99Ms} | ${a.maxMs} | ${a.snapshotPolls} |`,
    ),
    '',
    '| round | added p50 (open − closed) | added p99 (open − closed) |',
    '|---:|---:|---:|',
    ...byRound.map((b) => `| ${b.round + 1} | ${b.addedP50Ms} | ${b.addedP99Ms} |`),
    '',
    `Spread of p99 between the closed arms alone: ${Math.min(...p99Closed)}–${Math.max(...p99Closed)} ms.`,
    '',
  ];
  writeFileSync(join(ROOT, 'bench/results/page-cost.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(ROOT, 'bench/results/page-cost.md'), lines.join('\n'));
  process.stdout.write(lines.join('\n'));
}

await main();
