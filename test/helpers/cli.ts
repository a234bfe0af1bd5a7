/**
 * Helpers for end-to-end tests: start the real `infergate` CLI as a child process on loopback, wait
 * for its ready lines, and always stop it. Tests run the TypeScript sources through tsx so they do
 * not depend on a prior build.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (already-seen lines included). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

const running = new Set<CliProcess>();

/** Starts `infergate <args>`; the process is killed at exit of the test worker if a test forgets. */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, INFERGATE_LOG_LEVEL: process.env.INFERGATE_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: 'pipe',
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      for (const line of out.split('\n')) {
        const m = line.match(w.re);
        if (m) {
          waiters.splice(i, 1);
          w.resolve(m);
          break;
        }
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const proc: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLine(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`timed out waiting for ${re} — stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const w = {
          re,
          resolve: (m: RegExpMatchArray) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        waiters.push(w);
        check();
        void exited.then((code) => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`process exited (${code}) before ${re} — stdout:\n${out}\nstderr:\n${err}`));
          }
        });
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      running.delete(proc);
      return exited;
    },
  };
  running.add(proc);
  return proc;
}

/** Runs `infergate <args>` to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startCli(args, opts);
  if (opts.stdin === undefined) p.child.stdin.end();
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await p.exited;
  clearTimeout(timer);
  running.delete(p);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});
