/**
 * The load generator of bench/gateway-overhead.ts, in its own process. Two modes:
 *   --mode rate   --rate R --duration S   open loop: request i is due at start + i/R; latency is
 *                                         measured from the due time (no coordinated omission)
 *   --mode closed --concurrency C --duration S   C workers back to back: maximum throughput
 * Every request: POST a small chat-completion JSON, read the whole answer. Prints one JSON line:
 *   {"mode","sent","ok","errors","seconds","rps","p50","p90","p99","max"}   (latencies in ms)
 * Bounded by --duration (and the open loop also by R × duration requests); stops by itself.
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    mode: { type: 'string', default: 'rate' },
    rate: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
  },
});
const target = new URL(values.url ?? '');
const durationMs = Number(values.duration) * 1000;
const BODY = JSON.stringify({
  model: 'bench-model',
  messages: [{ role: 'user', content: 'Say ok.' }],
  max_tokens: 1,
});
const HEADERS = { 'content-type': 'application/json', host: 'bench.example' };
const pool = new Pool(target.origin, {
  connections: Number(values.connections),
  pipelining: 1,
  keepAliveTimeout: 60_000,
});

const latencies: number[] = [];
let ok = 0;
let errors = 0;

async function one(dueAt: number): Promise<void> {
  try {
    const r = await pool.request({ method: 'POST', path: target.pathname, headers: HEADERS, body: BODY });
    await r.body.dump();
    if (r.statusCode === 200) ok++;
    else errors++;
  } catch {
    errors++;
  }
  latencies.push(performance.now() - dueAt);
}

async function openLoop(rate: number): Promise<number> {
  const total = Math.floor((rate * durationMs) / 1000);
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
      while (sent < due) {
        const p = one(start + (sent * 1000) / rate);
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  return (performance.now() - start) / 1000;
}

async function closedLoop(concurrency: number): Promise<number> {
  const start = performance.now();
  const end = start + durationMs;
  const worker = async () => {
    while (performance.now() < end) await one(performance.now());
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - start) / 1000;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const mode = values.mode === 'closed' ? 'closed' : 'rate';
const seconds =
  mode === 'rate' ? await openLoop(Number(values.rate)) : await closedLoop(Number(values.concurrency));
const sorted = Float64Array.from(latencies).sort();
const r3 = (x: number) => Math.round(x * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify({
    mode,
    sent: latencies.length,
    ok,
    errors,
    seconds: r3(seconds),
    rps: Math.round(latencies.length / seconds),
    p50: r3(quantile(sorted, 0.5)),
    p90: r3(quantile(sorted, 0.9)),
    p99: r3(quantile(sorted, 0.99)),
    max: r3(sorted[sorted.length - 1] ?? Number.NaN),
  })}\n`,
);
await pool.close();
