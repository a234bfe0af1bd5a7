/**
 * The processes of the overhead benchmarks (bench/gateway-overhead.ts, bench/epp-overhead.ts): each
 * party started as its own Node process from the repository root, every child killed when the
 * benchmark exits, the long-lived load generator (bench/gateway-overhead.load.ts) driven over its
 * stdin / stdout, and a process's CPU time from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { podManifestsYaml } from '../src/sim/pods.js';
import type { LoadResult } from './gateway-overhead.load.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every child still running; all are killed (SIGKILL) when this process exits. */
export const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Started {
  child: ChildProcess;
  pid: number;
  match: RegExpMatchArray;
}

/**
 * Starts `node [nodeArgs] [--import tsx] args…` (tsx when the script is TypeScript) in the repository
 * root; resolves with the first stdout text matching `re`, rejects if the process exits first or
 * nothing matches within 90 s (the error carries the end of its stderr).
 */
export function start(args: string[], re: RegExp, nodeArgs: readonly string[] = []): Promise<Started> {
  const loader = args[0]!.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, ...args], {
    cwd: ROOT,
    env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out starting ${args.join(' ')}\n${err}`)), 90_000);
    const onData = (d: string) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeListener('data', onData);
        resolve({ child, pid: child.pid!, match: m });
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}\n${err}`));
    });
  });
}

/** What the load generator is told to do: one JSON line in, one LoadResult line out. */
export interface LoadCommand {
  url: string;
  mode: 'rate' | 'closed';
  rate?: number;
  concurrency?: number;
  seconds: number;
}

/** The long-lived load generator (started with `start(['bench/gateway-overhead.load.ts'], /load ready/)`). */
export class LoadGenerator {
  private lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private buffered = '';
  private exited: Error | undefined;
  private onExit: ((err: Error) => void) | undefined;

  constructor(readonly proc: Started) {
    proc.child.on('exit', (code) => {
      this.exited = new Error(`the load generator exited with ${code}`);
      this.onExit?.(this.exited);
    });
    proc.child.stdout!.on('data', (d: string) => {
      this.buffered += d;
      let nl = this.buffered.indexOf('\n');
      while (nl >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w(line);
        } else this.lines.push(line);
        nl = this.buffered.indexOf('\n');
      }
    });
  }

  /** Runs one command; rejects if the generator exits or does not answer within its seconds + 30. */
  run(cmd: LoadCommand): Promise<LoadResult> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    this.proc.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('load generator did not answer')),
        (cmd.seconds + 30) * 1000,
      );
      this.onExit = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      const take = (line: string) => {
        clearTimeout(timer);
        this.onExit = undefined;
        resolve(JSON.parse(line) as LoadResult);
      };
      const queued = this.lines.shift();
      if (queued !== undefined) take(queued);
      else this.waiting = take;
    });
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process (all threads), or NaN where /proc is not available. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  } catch {
    return Number.NaN;
  }
}

/** The one upstream Pod of the overhead benchmarks' manifests (ready, on loopback, `port` as its host port). */
export function upstreamPod(port: number): string {
  return podManifestsYaml([{ index: 0, host: '127.0.0.1', port }], {
    labels: { app: 'upstream' },
    namePrefix: 'upstream',
    containerName: 'upstream',
  });
}
