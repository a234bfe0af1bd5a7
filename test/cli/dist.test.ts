/**
 * Smoke test of what users install: the built `dist/` entry named by package.json's `bin`, run by
 * plain node (no tsx). `npm ci` builds dist/ (the `prepare` script); when dist/ is missing or older
 * than a source file, this test builds it first with `npm run build`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};
const BIN = join(REPO_ROOT, pkg.bin.infergate!);

/** Newest modification time (ms) of the non-test .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function runBin(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    input,
    timeout: 30_000,
    env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the built binary (dist/)', () => {
  beforeAll(() => {
    if (!existsSync(BIN) || statSync(BIN).mtimeMs < newestSource(join(REPO_ROOT, 'src'))) {
      execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'pipe', timeout: 240_000 });
    }
  }, 250_000);

  it('is an executable node script that reports the package version', () => {
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const r = runBin(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('validates a user document and prints the plan; a broken one exits non-zero naming the field', () => {
    const seeds = join(REPO_ROOT, 'examples/seeds');
    const ok = runBin([
      'validate',
      '-f',
      join(seeds, '002-gateway.yaml'),
      '-f',
      join(seeds, '002-inference-pool.yaml'),
      '-f',
      join(seeds, '002-inference-model.yaml'),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('InferencePool default/reasoning-pool');
    const broken = runBin(
      ['validate', '-f', '-'],
      'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\n' +
        'spec:\n  gatewayClassName: c\n  listeners:\n  - {name: http, port: "80", protocol: HTTP}\n',
    );
    expect(broken.code).toBe(1);
    expect(broken.stdout + broken.stderr).toContain('spec.listeners[0].port');
  });
});
