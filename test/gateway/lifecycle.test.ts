/**
 * Lifecycle of the real `infergate serve` process: ready lines, reload on file change without
 * dropping in-flight streams (an invalid change keeps the served config), SIGTERM drain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startCli } from '../helpers/cli.js';
import { call, chatBody } from './helpers/http.js';
import { gatewayYaml, routeYaml, serviceYaml } from './helpers/manifests.js';
import { fakeOpenAi, startUpstream, type TestUpstream, waitFor } from './helpers/upstream.js';

describe('infergate serve lifecycle', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  let dir: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    // 30 tokens, 40 ms apart: a stream lasting over a second, long enough to span a reload or a drain.
    blue = await startUpstream('blue', fakeOpenAi({ tokens: 30, chunkDelayMs: 40 }));
    green = await startUpstream('green', fakeOpenAi({ tokens: 30, chunkDelayMs: 40 }));
    dir = mkdtempSync(join(tmpdir(), 'infergate-lifecycle-'));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([blue, green].map((u) => u?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): void {
    writeFileSync(join(dir, name), text);
  }

  async function serve(
    sub: string,
    extra: string[] = [],
  ): Promise<{ proc: CliProcess; url: string; admin: string }> {
    const proc = startCli([
      'serve',
      '-f',
      join(dir, sub),
      '--host',
      '127.0.0.1',
      '--port-map',
      '80=0,81=0',
      '--admin-port',
      '0',
      ...extra,
    ]);
    procs.push(proc);
    const [, url] = (await proc.waitForLine(
      /^listener default\/gw\/http ready (http:\S+)$/,
    )) as RegExpMatchArray;
    const [, admin] = (await proc.waitForLine(/^admin ready (http:\S+)$/)) as RegExpMatchArray;
    return { proc, url: url!, admin: admin! };
  }

  it('reloads on file change without dropping an in-flight stream; an invalid change keeps the old config', async () => {
    const sub = 'reload';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, sub));
    const f = (n: string) => `${sub}/${n}`;
    write(f('gateway.yaml'), gatewayYaml('gw', [{ name: 'http', port: 80 }]));
    write(
      f('services.yaml'),
      `${serviceYaml('blue', [blue.port])}---\n${serviceYaml('green', [green.port])}`,
    );
    write(f('route.yaml'), routeYaml('r', 'gw', 'blue'));
    const { proc, url, admin } = await serve(sub);

    expect((await call(url, '/v1/models')).headers['x-upstream-name']).toBe('blue');
    // A stream in flight on blue while the route changes.
    const inflight = call(url, '/v1/chat/completions', { json: chatBody({ stream: true }) });
    await blue.waitFor(() => blue.open > 0, 'the stream to start');

    write(f('route.yaml'), routeYaml('r', 'gw', 'green'));
    await waitFor(
      () => false,
      'reload',
      15_000,
      async () => {
        if ((await call(url, '/v1/models')).headers['x-upstream-name'] === 'green') throw new Done();
      },
    ).catch((e: unknown) => {
      if (!(e instanceof Done)) throw e;
    });
    const streamed = await inflight;
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('data: [DONE]');
    expect(streamed.headers['x-upstream-name']).toBe('blue');

    // A broken change: still served by green, and the failure is logged and counted.
    write(
      f('route.yaml'),
      'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: 7}\n',
    );
    await waitFor(() => /reload failed/.test(proc.stderr()), 'the failed reload to be logged', 15_000);
    expect((await call(url, '/v1/models')).headers['x-upstream-name']).toBe('green');
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/infergate_config_reloads_total\{result="failure"\} [1-9]/);

    // A new listener appears with its own ready line.
    write(
      f('gateway.yaml'),
      gatewayYaml('gw', [
        { name: 'http', port: 80 },
        { name: 'extra', port: 81 },
      ]),
    );
    write(f('route.yaml'), routeYaml('r', 'gw', 'green'));
    const [, extra] = (await proc.waitForLine(
      /^listener default\/gw\/extra ready (http:\S+)$/,
      15_000,
    )) as RegExpMatchArray;
    expect((await call(extra!, '/v1/models')).headers['x-upstream-name']).toBe('green');
  });

  it('applies a change of endpoints only (pod churn) without rebuilding routes: Service targets follow', async () => {
    const sub = 'churn';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, sub));
    const f = (n: string) => `${sub}/${n}`;
    write(f('gateway.yaml'), gatewayYaml('gw', [{ name: 'http', port: 80 }]));
    write(f('route.yaml'), routeYaml('r', 'gw', 'blue'));
    write(f('services.yaml'), serviceYaml('blue', [blue.port]));
    const { url, admin } = await serve(sub);
    const metric = async (re: RegExp) =>
      Number(((await (await fetch(`${admin}/metrics`)).text()).match(re) ?? [])[1] ?? 0);
    const reloads = () => metric(/infergate_config_reloads_total\{result="success"\} (\d+)/);
    const updates = () => metric(/infergate_endpoint_updates_total (\d+)/);
    expect((await call(url, '/v1/models')).headers['x-upstream-name']).toBe('blue');
    const [reloadsBefore, updatesBefore] = [await reloads(), await updates()];

    // The Service's Pod now listens on green's port: same routes, another endpoint.
    write(f('services.yaml'), serviceYaml('blue', [green.port]));
    let upstream: unknown;
    await waitFor(
      () => upstream === 'green',
      'the endpoint to follow',
      15_000,
      async () => {
        upstream = (await call(url, '/v1/models')).headers['x-upstream-name'];
      },
    );
    expect(await updates()).toBe(updatesBefore + 1);
    expect(await reloads()).toBe(reloadsBefore);

    // A routing change (a second listener) is still a reload.
    write(
      f('gateway.yaml'),
      gatewayYaml('gw', [
        { name: 'http', port: 80 },
        { name: 'extra', port: 81 },
      ]),
    );
    let now = reloadsBefore;
    await waitFor(
      () => now === reloadsBefore + 1,
      'the reload',
      15_000,
      async () => {
        now = await reloads();
      },
    );
  });

  it('drains on SIGTERM: not ready, in-flight streams finish, then exit 0', async () => {
    const sub = 'drain';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, sub));
    write(
      `${sub}/all.yaml`,
      `${gatewayYaml('gw', [{ name: 'http', port: 80 }])}---\n${serviceYaml('blue', [blue.port])}---\n${routeYaml('r', 'gw', 'blue')}`,
    );
    const { proc, url, admin } = await serve(sub, ['--drain-timeout', '20s']);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);
    // 100 tokens 40 ms apart: the stream outlasts the checks below.
    const inflight = call(url, '/v1/chat/completions', { json: chatBody({ stream: true, max_tokens: 100 }) });
    await blue.waitFor(() => blue.open > 0, 'the stream to start');
    proc.child.kill('SIGTERM');
    // The admin port stays up while draining and says it is not ready.
    let readyz = 0;
    await waitFor(
      () => readyz === 503,
      '/readyz to answer 503',
      10_000,
      async () => {
        readyz = (await fetch(`${admin}/readyz`)).status;
      },
    );
    // New connections are refused while the stream finishes.
    await expect(call(url, '/v1/models')).rejects.toThrow();
    const streamed = await inflight;
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('data: [DONE]');
    expect(await proc.exited).toBe(0);
  });

  it('aborts what is left at the drain deadline and still exits 0', async () => {
    const sub = 'deadline';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, sub));
    write(
      `${sub}/all.yaml`,
      `${gatewayYaml('gw', [{ name: 'http', port: 80 }])}---\n${serviceYaml('blue', [blue.port])}---\n${routeYaml('r', 'gw', 'blue')}`,
    );
    const { proc, url } = await serve(sub, ['--drain-timeout', '300ms']);
    const before = blue.aborted;
    const hung = call(url, '/v1/chat/completions', { headers: { 'x-test': 'hang' }, json: chatBody() });
    await blue.waitFor(() => blue.open > 0, 'the request to arrive');
    proc.child.kill('SIGTERM');
    const r = await hung;
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text).error.message).toMatch(/shutting down/);
    expect(await proc.exited).toBe(0);
    await blue.waitFor(() => blue.aborted > before, 'the upstream request to be aborted');
  });
});

class Done extends Error {}

describe('infergate serve usage', () => {
  it.each([
    [['serve'], /-f FILE\|DIR/],
    [['serve', '-f', 'x.yaml', '--service-lb', 'fastest'], /--service-lb must be one of/],
    [['serve', '-f', 'x.yaml', '--port-map', '80'], /--port-map: "80" is not DECLARED=ACTUAL/],
    [['serve', '-f', 'x.yaml', '--max-body-size', 'huge'], /--max-body-size must be a size/],
    [['serve', '-f', 'x.yaml', '--drain-timeout', 'soon'], /--drain-timeout must be a duration/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 with the diagnostics when the configuration has errors', async () => {
    const r = await runCli(['serve', '-f', '-', '--admin-port', '-1'], {
      stdin:
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: 7}\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/<stdin>/);
    expect(r.stderr).toMatch(/nothing is served/);
    expect(r.stdout).toBe('');
  });

  it('serves a configuration read from stdin', async () => {
    const up = await startUpstream('stdin-upstream', fakeOpenAi());
    const proc = startCli(
      ['serve', '-f', '-', '--host', '127.0.0.1', '--port-map', '80=0', '--admin-port', '-1'],
      {
        stdin: `${gatewayYaml('gw', [{ name: 'http', port: 80 }])}---\n${serviceYaml('s', [up.port])}---\n${routeYaml('r', 'gw', 's')}`,
      },
    );
    try {
      const [, url] = (await proc.waitForLine(
        /^listener default\/gw\/http ready (http:\S+)$/,
      )) as RegExpMatchArray;
      expect((await call(url!, '/v1/models')).headers['x-upstream-name']).toBe('stdin-upstream');
      expect(proc.stdout()).not.toMatch(/^admin ready/m);
    } finally {
      await proc.stop();
      await up.close();
    }
  });
});
