/**
 * Issue 12 (1): the file plan source reloads only on manifest files, coalesces a burst of writes into
 * one reload, and does not hand over a plan equal to the last one — so `serve -f dir/ 2>dir/serve.err`
 * does not reload itself forever.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FilePlanSource } from '../../src/config/file-plan-source.js';
import { type LoadResult, loadPlan } from '../../src/config/index.js';
import type { PlanUpdate } from '../../src/config/plan-source.js';
import { silentLogger } from '../../src/util/log.js';
import { gatewayYaml, routeYaml, serviceYaml } from '../gateway/helpers/manifests.js';
import { sleep, waitFor } from '../gateway/helpers/upstream.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function manifestDir(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-watch-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml('gw', [{ name: 'http', port }]));
  writeFileSync(join(dir, 'app.yaml'), `${serviceYaml('app', [9])}---\n${routeYaml('r', 'gw', 'app')}`);
  return dir;
}

async function watchedSource(dir: string) {
  let loads = 0;
  const updates: PlanUpdate[] = [];
  const source = new FilePlanSource({
    load: async (): Promise<LoadResult> => {
      loads++;
      return loadPlan([dir]);
    },
    watchPaths: [dir],
    watch: true,
    logger: silentLogger(),
    debounceMs: 100,
  });
  await source.start((u) => {
    updates.push(u);
  });
  cleanups.push(() => source.close());
  return { source, updates, loads: () => loads };
}

describe('FilePlanSource', () => {
  it('ignores writes to files that are not manifests in a watched folder', async () => {
    const dir = manifestDir(8080);
    const s = await watchedSource(dir);
    expect(s.loads()).toBe(1);
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, 'serve.err'), `line ${i}\n`, { flag: 'a' });
      writeFileSync(join(dir, 'notes.txt'), `note ${i}\n`);
      await sleep(30);
    }
    await sleep(600);
    expect(s.loads()).toBe(1);
    expect(s.updates).toHaveLength(1);
  });

  it('coalesces a burst of manifest writes into one reload and delivers the last content', async () => {
    const dir = manifestDir(8080);
    const s = await watchedSource(dir);
    for (let i = 1; i <= 5; i++)
      writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml('gw', [{ name: 'http', port: 20000 + i }]));
    await waitFor(() => s.updates.length >= 2, 'the reload', 5000);
    await sleep(600);
    expect(s.updates).toHaveLength(2);
    expect(s.updates[1]!.plan?.listeners.map((l) => l.port)).toEqual([20005]);
  });

  it('does not deliver a plan equal to the last one (rewrite with the same content, SIGHUP-style reload)', async () => {
    const dir = manifestDir(8080);
    const s = await watchedSource(dir);
    writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml')));
    await waitFor(() => s.loads() >= 2, 'the reload', 5000);
    expect(await s.source.reload()).toBe(true);
    expect(s.loads()).toBe(3);
    expect(s.updates).toHaveLength(1);
  });
});

describe('serve -f dir/ 2>dir/serve.err', () => {
  it('does not reload itself from its own log file', { timeout: 90_000 }, async () => {
    const dir = manifestDir(8080);
    const errPath = join(dir, 'serve.err');
    const fd = openSync(errPath, 'a');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'serve',
        '-f',
        dir,
        '--admin-port',
        '0',
        '--host',
        '127.0.0.1',
        '--port-map',
        '8080=0',
      ],
      {
        env: { ...process.env, INFERGATE_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', fd],
      },
    );
    closeSync(fd);
    const exited = new Promise((r) => child.on('exit', r));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    await waitFor(() => /listener \S+ ready/.test(out), 'ready', 45_000);
    // Anything written to the log (here: by hand, once) must not start a reload — whose own log line
    // would start the next one.
    writeFileSync(errPath, 'operator note\n', { flag: 'a' });
    await sleep(2000);
    const log = readFileSync(errPath, 'utf8');
    expect(log.match(/configuration reloaded/g) ?? []).toHaveLength(0);
  });
});
