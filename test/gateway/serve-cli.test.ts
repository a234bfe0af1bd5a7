/**
 * `infergate serve` flags exercised through the real CLI process (flag → option → behaviour):
 * --max-body-size, --idle-timeout and --mirror-follow-client-abort (both ways), and the mirror's
 * promise that a slow copy never delays the primary. Three serve processes share one set of
 * manifests, one flag each, so that no flag's effect can pass for another's: `plain` with
 * --max-body-size 2KiB (defaults otherwise: copies outlive their client), `follow` with
 * --mirror-follow-client-abort, `idle` with --idle-timeout 300ms (which bounds mirror copies too).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { call, chatBody, errorOf } from './helpers/http.js';
import { gatewayYaml, serviceYaml } from './helpers/manifests.js';
import { fakeOpenAi, json, sleep, startUpstream, type TestUpstream, waitFor } from './helpers/upstream.js';

/** How long the slow mirror takes to answer, ms. */
const SLOW_MIRROR_MS = 3000;
/**
 * Largest acceptable difference between the primary's fastest latency with a slow mirror and
 * without one. Behavioural, not a performance target: a primary that waited for its mirror at all
 * (even a bounded 250 ms) would exceed it on every request; the fastest of seven interleaved
 * requests is what a loaded machine disturbs least (a median was not enough under the full suite).
 */
const MIRROR_DELAY_BOUND_MS = 150;

/** An HTTPRoute on gw/http: requests under `prefix` go to Service `service`, mirrored to `mirror`. */
function mirroredRouteYaml(name: string, prefix: string, service: string, mirror?: string): string {
  const filter = mirror
    ? `    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: ${mirror}
          port: 8000
`
    : '';
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: default
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${prefix}
    backendRefs:
    - name: ${service}
      port: 8000
${filter}`;
}

interface Serve {
  proc: CliProcess;
  url: string;
  admin: string;
}

interface MirrorSummary {
  key: string;
  sent: number;
  completed: number;
  failed: number;
}

/** The route's mirror summary once every copy sent has finished (completed or failed). */
async function settledMirror(admin: string, route: string): Promise<MirrorSummary> {
  let found: MirrorSummary | undefined;
  await waitFor(
    () => found !== undefined && found.completed + found.failed === found.sent,
    `the copies of ${route} to finish`,
    10_000,
    async () => {
      const all = (await (await fetch(`${admin}/admin/mirrors`)).json()) as { mirrors: MirrorSummary[] };
      found = all.mirrors.find((m) => m.key.startsWith(`HTTPRoute default/${route}#`));
    },
  );
  return found!;
}

describe('infergate serve flags through the CLI', () => {
  let model: TestUpstream;
  let slowMirror: TestUpstream;
  let heldMirror: TestUpstream;
  /** x-request-id of every copy the slow mirror has answered. */
  const slowAnswered = new Set<string>();
  /** Copies to heldMirror wait for this; `release()` lets every waiting one answer. */
  let released: Promise<void>;
  let release: () => void;
  let dir: string;
  let plain: Serve;
  let follow: Serve;
  let idle: Serve;
  const procs: CliProcess[] = [];

  async function serve(extra: string[]): Promise<Serve> {
    const proc = startCli(
      ['serve', '-f', dir, '--host', '127.0.0.1', '--port-map', '80=0', '--admin-port', '0', ...extra],
      { env: { INFERGATE_LOG_LEVEL: 'error' } },
    );
    procs.push(proc);
    const url = (await proc.waitForLine(/^listener default\/gw\/http ready (http:\S+)$/, 45_000))[1]!;
    const admin = (await proc.waitForLine(/^admin ready (http:\S+)$/))[1]!;
    return { proc, url, admin };
  }

  beforeAll(async () => {
    released = new Promise((r) => {
      release = r;
    });
    model = await startUpstream('model', fakeOpenAi());
    slowMirror = await startUpstream('slow-mirror', async (req, res) => {
      await sleep(SLOW_MIRROR_MS);
      slowAnswered.add(String(req.headers['x-request-id']));
      json(res, 200, { object: 'chat.completion', choices: [] });
    });
    heldMirror = await startUpstream('held-mirror', async (_req, res) => {
      await released;
      json(res, 200, { object: 'chat.completion', choices: [] });
    });
    dir = mkdtempSync(join(tmpdir(), 'infergate-serve-cli-'));
    writeFileSync(
      join(dir, 'manifests.yaml'),
      [
        gatewayYaml('gw', [{ name: 'http', port: 80 }]),
        serviceYaml('model', [model.port]),
        serviceYaml('slow-mirror', [slowMirror.port]),
        serviceYaml('held-mirror', [heldMirror.port]),
        mirroredRouteYaml('plain', '/plain', 'model'),
        mirroredRouteYaml('slow', '/slow', 'model', 'slow-mirror'),
        mirroredRouteYaml('held', '/held', 'model', 'held-mirror'),
      ].join('---\n'),
    );
    [plain, follow, idle] = await Promise.all([
      serve(['--max-body-size', '2KiB']),
      serve(['--mirror-follow-client-abort']),
      serve(['--idle-timeout', '300ms']),
    ]);
  }, 90_000);

  afterAll(async () => {
    release?.();
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([model, slowMirror, heldMirror].map((u) => u?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--max-body-size: 413 in OpenAI shape above the limit, served below it; the default limit is larger', async () => {
    const small = chatBody({ messages: [{ role: 'user', content: 'x'.repeat(1500) }] });
    const big = chatBody({ messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    const ok = await call(plain.url, '/plain/chat/completions', { json: small });
    expect(ok.status).toBe(200);
    const refused = await call(plain.url, '/plain/chat/completions', { json: big });
    expect(refused.status).toBe(413);
    expect(errorOf(refused).code).toBe(413);
    // The same body through the process without the flag (default 32MiB).
    expect((await call(follow.url, '/plain/chat/completions', { json: big })).status).toBe(200);
  });

  it('--idle-timeout: 504 when the upstream stays silent past it', async () => {
    const before = model.aborted;
    const r = await call(
      idle.url,
      '/plain/chat/completions',
      { headers: { 'x-test': 'hang' }, json: chatBody() },
      // Bounds the test: without the flag the gateway would wait its default 5 minutes.
      AbortSignal.timeout(15_000),
    );
    expect(r.status).toBe(504);
    expect(errorOf(r)).toMatchObject({ type: 'GatewayTimeoutError', code: 504 });
    await model.waitFor(() => model.aborted > before, 'the silent upstream request to be abandoned');
  });

  it('a slow mirror does not delay the primary (fastest latency with and without, interleaved)', async () => {
    const copies0 = slowMirror.requests.length;
    const without: number[] = [];
    const withMirror: number[] = [];
    const pairs = 7;
    for (let i = 0; i < pairs; i++) {
      for (const [path, out] of [
        ['/plain/chat/completions', without],
        ['/slow/chat/completions', withMirror],
      ] as const) {
        const t0 = performance.now();
        const r = await call(plain.url, path, { json: chatBody() });
        out.push(performance.now() - t0);
        expect(r.status).toBe(200);
        expect(r.headers['x-upstream-name']).toBe('model');
        // The client has the primary's answer while the mirror still holds the copy.
        expect(slowAnswered.has(String(r.headers['x-request-id']))).toBe(false);
      }
    }
    await slowMirror.waitFor(() => slowMirror.requests.length - copies0 === pairs, 'every copy');
    expect(Math.min(...withMirror)).toBeLessThan(Math.min(...without) + MIRROR_DELAY_BOUND_MS);
    // The copies did complete, on their own time.
    const s = await settledMirror(plain.admin, 'slow');
    expect(s).toMatchObject({ sent: pairs, completed: pairs, failed: 0 });
  });

  /**
   * A client abandons a hung primary request after its copy reached the held mirror. Resolves once
   * the gateway has acted on the abort (the primary's upstream request was abandoned).
   */
  async function abandonHeldRequest(s: Serve): Promise<void> {
    const copies0 = heldMirror.requests.length;
    const primaryAborts0 = model.aborted;
    const ctl = new AbortController();
    const pending = call(
      s.url,
      '/held/chat/completions',
      { headers: { 'x-test': 'hang' }, json: chatBody() },
      ctl.signal,
    ).catch(() => undefined);
    await heldMirror.waitFor(() => heldMirror.requests.length > copies0, 'the copy to arrive');
    ctl.abort();
    await pending;
    await model.waitFor(() => model.aborted > primaryAborts0, 'the primary to be abandoned');
  }

  it('--mirror-follow-client-abort: the copy is abandoned with the client', async () => {
    const mirrorAborts0 = heldMirror.aborted;
    await abandonHeldRequest(follow);
    await heldMirror.waitFor(() => heldMirror.aborted > mirrorAborts0, 'the copy to be abandoned');
  });

  it('without --mirror-follow-client-abort: the copy outlives the client and completes', async () => {
    const mirrorAborts0 = heldMirror.aborted;
    await abandonHeldRequest(plain);
    // The gateway has handled the abort; the copy is still open…
    expect(heldMirror.aborted).toBe(mirrorAborts0);
    expect(heldMirror.open).toBeGreaterThanOrEqual(1);
    // …and answers once the mirror does.
    release();
    expect(await settledMirror(plain.admin, 'held')).toMatchObject({ sent: 1, completed: 1, failed: 0 });
    expect(heldMirror.aborted).toBe(mirrorAborts0);
  });
});
