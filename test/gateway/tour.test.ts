/**
 * Issue 12 (6) and (7): the README tour's `sim` → `serve` commands, run as written by bash (only the
 * ports are swapped for OS-chosen ones and loopback, so the test cannot collide with anything), then
 * the tour's request; and the /metrics page of that gateway: the reference picker's families beside
 * infergate's own, no doubled process prefix, no `model=""` label, `promtool check metrics` clean.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool, toolPath } from '../helpers/deps.js';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/upstream.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx's loader by path: the tour runs in a scratch folder where `--import tsx` would not resolve. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** The tour's lines from `infergate sim` through the `serve` command (continuations joined). */
function tourScript(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = readme.split('## A tour')[1]!.split('```sh\n')[1]!.split('```')[0]!;
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n');
  const from = lines.findIndex((l) => l.startsWith('npx infergate sim'));
  const to = lines.findIndex((l) => l.startsWith('npx infergate serve'));
  expect(from).toBeGreaterThanOrEqual(0);
  expect(to).toBeGreaterThan(from);
  // `infergate` runs this checkout; `sim` starts 3 s late, as on a slow or busy machine, so a tour
  // that does not wait for it fails every time instead of now and then.
  const cli = `${JSON.stringify(process.execPath)} --import ${TSX} ${JSON.stringify(MAIN)}`;
  const prelude = `infergate() { if [ "$1" = sim ]; then sleep 3; fi; ${cli} "$@"; }\n`;
  return (
    prelude +
    lines
      .slice(from, to + 1)
      .join('\n')
      .replaceAll('npx infergate', 'infergate')
      .replace('--port-offset 10000', '--port-map 8080=0,8081=0 --admin-port 0 --host 127.0.0.1')
  );
}

const REFERENCE_FAMILIES = [
  'inference_objective_request_total',
  'inference_objective_request_error_total',
  'inference_objective_input_tokens',
  'inference_objective_output_tokens',
  'inference_objective_request_duration_seconds',
  'inference_objective_running_requests',
  'inference_pool_average_kv_cache_utilization',
  'inference_pool_average_queue_size',
  'inference_pool_ready_pods',
  'inference_extension_scheduler_e2e_duration_seconds',
];

describe('README tour', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-tour-'));
  let shell: ChildProcess | undefined;
  let out = '';
  let err = '';

  afterAll(async () => {
    if (shell?.pid !== undefined && shell.exitCode === null) {
      const gone = new Promise((r) => shell!.once('exit', r));
      process.kill(-shell.pid, 'SIGTERM'); // the script's process group: sim and serve
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts serve only once pods.yaml is written, and answers the tour’s request', async () => {
    symlinkSync(join(REPO_ROOT, 'examples'), join(dir, 'examples'));
    shell = spawn('bash', ['-euc', tourScript()], {
      cwd: dir,
      detached: true,
      env: { ...process.env, INFERGATE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    shell.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    shell.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    await waitFor(() => /^admin ready/m.test(out) || shell!.exitCode !== null, 'serve ready', 60_000);
    expect(err).not.toMatch(/nothing is served|has no ready endpoint|error\[/);
    const urls = [...out.matchAll(/^listener \S+ ready (http:\S+)$/gm)].map((m) => m[1]!);
    expect(urls.length).toBe(2);
    let answered = false;
    for (const base of urls) {
      const r = await call(base, '/v1/completions', {
        json: { model: 'qwq', prompt: 'hello', max_tokens: 5 },
      });
      if (r.status === 200) {
        answered = true;
        const models = await call(base, '/v1/models');
        expect((models.json() as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['qwq']);
      }
    }
    expect(answered).toBe(true);
  });

  it('exports the reference picker’s metric families, names promtool accepts', async () => {
    const admin = /^admin ready (http:\S+)$/m.exec(out)?.[1];
    expect(admin).toBeDefined();
    const text = (await call(admin!, '/metrics')).text;
    for (const f of REFERENCE_FAMILIES) expect(text, f).toMatch(new RegExp(`^# TYPE ${f} `, 'm'));
    expect(text).toMatch(
      /^inference_objective_request_total\{model_name="qwq",target_model_name="qwq-32b",priority="0"\} 1$/m,
    );
    expect(text).toMatch(/^inference_pool_ready_pods\{name="\S+"\} 5$/m);
    expect(text).toMatch(/^infergate_process_cpu_seconds_total /m);
    expect(text).not.toMatch(/infergate_process_process_/);
    expect(text).not.toMatch(/model=""/);
    if (hasTool('promtool')) {
      const promtool = toolPath('promtool')!;
      // Exit status 0 = no problems; the lint output (if any) is shown on failure.
      const lint = (() => {
        try {
          execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
          return '';
        } catch (e) {
          const x = e as { stdout?: string; stderr?: string };
          return `${x.stdout ?? ''}${x.stderr ?? ''}` || 'promtool failed';
        }
      })();
      expect(lint).toBe('');
    }
  });
});
