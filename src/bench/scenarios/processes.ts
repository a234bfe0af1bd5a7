/**
 * Child `infergate` processes for scenarios: the simulator and the gateway each run in their own
 * process (their event loops must not share the load generator's), started with this process's
 * Node binary and the same CLI entry point (dist when built, the TypeScript source through tsx in a
 * checkout), read for their ready lines, and always stopped: by `stop()`, and — should this process
 * exit first (an error, a second Ctrl-C) — by an exit hook that kills whatever is still running.
 * A child's stderr goes straight to a log file (no CPU in this process); stdout is read for the
 * ready lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../errors.js';

/** Node arguments that run the infergate CLI (dist build, or the TypeScript source through tsx). */
export function infergateEntry(): string[] {
  const js = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  if (existsSync(js)) return [js];
  const ts = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
  // An absolute loader URL, so the child finds tsx whatever its working directory.
  return ['--import', import.meta.resolve('tsx'), ts];
}

/**
 * `serve` / `epp` flags for gateway `self` of a group sharing load on loopback: it publishes on its
 * own port of `ports` and listens to every other one.
 */
export function peerLoadArgs(ports: readonly number[], self: number): string[] {
  return [
    '--peer-listen',
    `tcp://127.0.0.1:${ports[self]}`,
    ...ports.flatMap((p, i) => (i === self ? [] : ['--peer', `tcp://127.0.0.1:${p}`])),
  ];
}

/** Children still running; killed synchronously if this process exits before stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** The last `maxChars` characters of a file ('' when it cannot be read). */
export function fileTail(path: string, maxChars = 4000): string {
  try {
    const size = statSync(path).size;
    const length = Math.min(size, maxChars);
    const buf = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** Most stdout kept: children print a few ready lines, then little. */
const MAX_STDOUT_CHARS = 64 * 1024;

export class ChildCli {
  private readonly child: ChildProcess;
  private out = '';
  private readonly exited: Promise<number | string>;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  /**
   * Starts `infergate <args>`; stderr is appended to `logFile`. `label` names the process in
   * errors (`infergate sim`). With `program` (an outside executable such as a peer router) that
   * program runs `args` instead, and its stdout goes to the log file too (no ready lines are read).
   */
  constructor(
    readonly label: string,
    args: readonly string[],
    readonly logFile: string,
    program?: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.child =
        program === undefined
          ? spawn(process.execPath, [...infergateEntry(), ...args], {
              stdio: ['ignore', 'pipe', fd],
              env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'warn' },
            })
          : spawn(program, args, { stdio: ['ignore', fd, fd], env: { ...process.env, NO_COLOR: '1' } });
    } finally {
      closeSync(fd);
    }
    track(this.child);
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (this.out.length < MAX_STDOUT_CHARS) this.out += d;
      this.check();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
      this.child.once('error', (err) => resolve(err.message));
    });
  }

  /**
   * CPU seconds (user + system) the process has used so far, from /proc (Linux); undefined where
   * that is not readable.
   */
  cpuSeconds(): number | undefined {
    const pid = this.child.pid;
    if (pid === undefined) return undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
      return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
    } catch {
      return undefined;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Every stdout line seen so far. */
  lines(): string[] {
    return this.out.split('\n');
  }

  /**
   * The first stdout line matching `re`. Rejects with SCENARIO_FAILED (quoting the end of the log)
   * if the process exits first or after `timeoutMs`; rejects at once when `signal` aborts.
   */
  waitForLine(re: RegExp, timeoutMs: number, signal?: AbortSignal): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const fail = (why: string): void => {
        settle();
        reject(
          new BenchError(
            'SCENARIO_FAILED',
            `${this.label} ${why} before printing ${re}; its log (${this.logFile}) ends:\n${fileTail(this.logFile, 2000)}`,
          ),
        );
      };
      const onAbort = (): void => {
        settle();
        reject(new BenchError('SCENARIO_FAILED', `interrupted while ${this.label} was starting`));
      };
      const timer = setTimeout(() => fail(`did not get ready in ${timeoutMs / 1000} s`), timeoutMs);
      const waiter = {
        re,
        resolve: (m: RegExpMatchArray) => {
          settle();
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) {
        onAbort();
        return;
      }
      this.check();
      void this.exited.then((code) => {
        if (this.waiters.includes(waiter)) fail(`exited (${code})`);
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
  }

  private check(): void {
    if (this.waiters.length === 0) return;
    const lines = this.lines();
    for (const w of [...this.waiters]) {
      for (const line of lines) {
        const m = line.match(w.re);
        if (m) {
          w.resolve(m);
          break;
        }
      }
    }
  }
}
