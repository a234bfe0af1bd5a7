/**
 * Child `infergate` processes for scenarios: the simulator and the gateway each run in their own
 * process (their event loops must not share the load generator's), started from the same CLI entry
 * point as this process, read for their ready lines, and always stopped.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchError } from '../errors.js';

/** Node arguments that run the infergate CLI (dist build, or the TypeScript source through tsx). */
export function infergateEntry(): string[] {
  const js = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  if (existsSync(js)) return [js];
  const ts = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
  return ['--import', 'tsx', ts];
}

export class ChildCli {
  readonly child: ChildProcessWithoutNullStreams;
  private out = '';
  private err = '';
  private readonly exited: Promise<number | string>;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(
    readonly label: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, [...infergateEntry(), ...args], {
      stdio: 'pipe',
      env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'warn' },
    });
    this.child.stdin.end();
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      this.check();
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      // Keep the tail only: a long run logs a lot.
      this.err = (this.err + d).slice(-8000);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
  }

  /** Every stdout line seen so far. */
  lines(): string[] {
    return this.out.split('\n');
  }

  /** The first stdout line matching `re`; rejects if the process exits first or after `timeoutMs`. */
  waitForLine(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new BenchError(
            'SCENARIO_FAILED',
            `${this.label} ${why} before printing ${re}; its stderr ends:\n${this.err}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`did not get ready in ${timeoutMs / 1000} s`), timeoutMs);
      const waiter = {
        re,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
      this.check();
      void this.exited.then((code) => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          fail(`exited (${code})`);
        }
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
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
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(m);
          break;
        }
      }
    }
  }
}
