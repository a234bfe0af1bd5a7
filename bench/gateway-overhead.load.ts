/**
 * The load generator of bench/gateway-overhead.ts: one long-lived process (its connections and JIT
 * stay warm across runs, and the orchestrator can pin it to a core), driven by JSON lines on stdin,
 * answering one JSON line per run on stdout.
 *
 *   stdin:  {"url":"http://127.0.0.1:P/v1/chat/completions","mode":"rate","rate":1000,"seconds":20}
 *           {"url":…,"mode":"closed","concurrency":32,"seconds":5}
 *   stdout: {"mode","sent","ok","errors","seconds","rps","p50","p90","p99","p999","max"}   (ms)
 *
 * - rate: open loop; request i is due at start + i/rate and its latency is counted from that due
 *   time (a late send counts against the target: no coordinated omission). rate × seconds requests.
 * - closed: `concurrency` requests back to back for `seconds`: maximum throughput.
 * Every request POSTs a small chat-completion JSON (87 bytes) and reads the whole answer. Requests go
 * through undici's dispatch API (no streams, no promise per request) so that the generator itself is
 * cheap: on a 2-core machine its CPU competes with the processes it measures. Each run is bounded:
 * requests still open `seconds + 10` s after the start are counted as errors and the run ends.
 * The process exits when stdin closes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createInterface } from 'node:readline';
import { type Dispatcher, Pool } from 'undici';

interface RunCommand {
  url: string;
  mode: 'rate' | 'closed';
  rate?: number;
  concurrency?: number;
  seconds: number;
}

export interface LoadResult {
  mode: 'rate' | 'closed';
  sent: number;
  ok: number;
  errors: number;
  /** Wall time of the run, s. */
  seconds: number;
  /** Completed requests per second. */
  rps: number;
  /** Latency quantiles, ms. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const BODY = Buffer.from(
  JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Say ok.' }], max_tokens: 1 }),
);
const HEADERS = ['content-type', 'application/json', 'host', 'bench.example'];
/** Grace after the nominal end before open requests are given up. */
const GRACE_MS = 10_000;

const pools = new Map<string, Pool>();
function poolFor(origin: string): Pool {
  let p = pools.get(origin);
  if (p === undefined) {
    p = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 120_000 });
    pools.set(origin, p);
  }
  return p;
}

/** Latencies of one run (ms), in a growable typed array. */
class Samples {
  values = new Float64Array(1 << 16);
  n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.n * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  sorted(): Float64Array {
    return this.values.subarray(0, this.n).sort();
  }
}

/** Shared state of one run. */
class Run {
  readonly samples = new Samples();
  ok = 0;
  errors = 0;
  open = 0;
  onIdle: (() => void) | undefined;

  record(status: number, dueAt: number): void {
    this.samples.add(performance.now() - dueAt);
    if (status === 200) this.ok++;
    else this.errors++;
  }

  /** A request ended (after a closed-loop worker sent its next one). */
  release(): void {
    this.open--;
    if (this.open === 0) this.onIdle?.();
  }
}

/** One request in flight; reused by closed-loop workers. */
class Request implements Dispatcher.DispatchHandler {
  dueAt = 0;
  private status = 0;
  private settled = false;

  constructor(
    private readonly run: Run,
    private readonly pool: Pool,
    private readonly path: string,
    /** Called after the request ended (closed loop: send the next one). */
    private readonly after: ((r: Request) => void) | undefined,
  ) {}

  send(dueAt: number): void {
    this.dueAt = dueAt;
    this.status = 0;
    this.settled = false;
    this.run.open++;
    this.pool.dispatch({ method: 'POST', path: this.path, headers: HEADERS, body: BODY }, this);
  }

  onRequestStart(): void {}

  onResponseStart(_c: Dispatcher.DispatchController, status: number, _h: IncomingHttpHeaders): void {
    this.status = status;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.end(this.status);
  }

  onResponseError(): void {
    this.end(0);
  }

  private end(status: number): void {
    if (this.settled) return;
    this.settled = true;
    this.run.record(status, this.dueAt);
    this.after?.(this);
    this.run.release();
  }
}

function openLoop(cmd: RunCommand, run: Run, pool: Pool, path: string): Promise<void> {
  const rate = cmd.rate ?? 1000;
  const total = Math.floor(rate * cmd.seconds);
  const start = performance.now();
  const interval = 1000 / rate;
  let sent = 0;
  return new Promise((resolve) => {
    const deadline = setTimeout(finish, cmd.seconds * 1000 + GRACE_MS);
    let finished = false;
    function finish(): void {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      run.errors += run.open; // given up
      run.onIdle = undefined;
      resolve();
    }
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) {
        new Request(run, pool, path, undefined).send(start + sent * interval);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else if (run.open === 0) finish();
      else run.onIdle = finish;
    };
    tick();
  });
}

function closedLoop(cmd: RunCommand, run: Run, pool: Pool, path: string): Promise<void> {
  const end = performance.now() + cmd.seconds * 1000;
  return new Promise((resolve) => {
    const deadline = setTimeout(finish, cmd.seconds * 1000 + GRACE_MS);
    let finished = false;
    function finish(): void {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      run.errors += run.open; // given up
      run.onIdle = undefined;
      resolve();
    }
    run.onIdle = finish;
    const next = (r: Request): void => {
      const now = performance.now();
      if (now < end) r.send(now);
    };
    const workers = Math.max(1, cmd.concurrency ?? 32);
    for (let i = 0; i < workers; i++) new Request(run, pool, path, next).send(performance.now());
  });
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function execute(cmd: RunCommand): Promise<LoadResult> {
  const url = new URL(cmd.url);
  const pool = poolFor(url.origin);
  const run = new Run();
  const start = performance.now();
  if (cmd.mode === 'closed') await closedLoop(cmd, run, pool, url.pathname);
  else await openLoop(cmd, run, pool, url.pathname);
  const seconds = (performance.now() - start) / 1000;
  const sorted = run.samples.sorted();
  return {
    mode: cmd.mode,
    sent: run.samples.n,
    ok: run.ok,
    errors: run.errors,
    seconds: r3(seconds),
    rps: Math.round(run.samples.n / seconds),
    p50: r3(quantile(sorted, 0.5)),
    p90: r3(quantile(sorted, 0.9)),
    p99: r3(quantile(sorted, 0.99)),
    p999: r3(quantile(sorted, 0.999)),
    max: r3(sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN),
  };
}

// Runs one command at a time, in order.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim().length === 0) return;
  queue = queue.then(async () => {
    const result = await execute(JSON.parse(line) as RunCommand);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });
});
lines.on('close', () => {
  void queue.then(async () => {
    await Promise.all([...pools.values()].map((p) => p.close()));
  });
});
process.stdout.write('load ready\n');
