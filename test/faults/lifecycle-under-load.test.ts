/**
 * Fault suite: the operator changes things while clients stream. Config reloads under load (a valid
 * change, an invalid one, a fix): no request lost, the old plan keeps serving through the invalid
 * one, whose diagnostic is logged and exposed (GET /admin/plan `lastFailedReload`, the reload
 * metric). SIGTERM under load: every stream in flight finishes within the drain time, new connections
 * are refused, exit code 0. Real `sim` (time scale 1: 12 ms between tokens) and `serve`.
 * Bounded: at most 400 requests and 40 s of load per case.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../gateway/helpers/http.js';
import { waitFor } from '../gateway/helpers/upstream.js';
import { chat, type FaultRig, manifests, startRig } from './harness.js';

const MAX_REQUESTS = 400;
const MAX_LOAD_MS = 40_000;
/** Real-time simulator: streams long enough to span a reload or a drain. */
const SIM = ['--replicas', '2', '--time-scale', '1'];

const rigs: FaultRig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

interface StreamResult {
  status: number;
  complete: boolean;
}

/** One streamed chat; `complete`: 200 and the stream ends with [DONE] and carries no error event. */
async function stream(url: string, maxTokens: number, onHead?: () => void): Promise<StreamResult> {
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat({ stream: true, max_tokens: maxTokens })),
  });
  onHead?.();
  const text = await r.body.text();
  return {
    status: r.statusCode,
    complete: r.statusCode === 200 && text.trim().endsWith('data: [DONE]') && !text.includes('"error"'),
  };
}

/** `workers` clients streaming back to back until `stop()` (bounded in count and time). */
function load(url: string, workers: number): { finished: () => number; stop: () => Promise<StreamResult[]> } {
  const results: StreamResult[] = [];
  let stopped = false;
  const deadline = Date.now() + MAX_LOAD_MS;
  const worker = async () => {
    while (!stopped && results.length < MAX_REQUESTS && Date.now() < deadline) {
      results.push(await stream(url, 30).catch(() => ({ status: 0, complete: false })));
    }
  };
  const running = Promise.all(Array.from({ length: workers }, worker));
  return {
    finished: () => results.length,
    async stop() {
      stopped = true;
      await running;
      return results;
    },
  };
}

async function plan(rig: FaultRig): Promise<{ generation: number; lastFailedReload?: { errors: string[] } }> {
  return (await call(rig.admin, '/admin/plan')).json() as {
    generation: number;
    lastFailedReload?: { errors: string[] };
  };
}

async function untilGeneration(rig: FaultRig, generation: number): Promise<void> {
  let g = 0;
  await waitFor(
    () => g === generation,
    `plan generation ${generation}`,
    15_000,
    async () => {
      g = (await plan(rig)).generation;
    },
  );
}

describe('operations under load', () => {
  it('reloads (valid, invalid, fixed) while clients stream: no request lost; the invalid one is logged and exposed', async () => {
    const rig = await startRig({ sim: SIM });
    rigs.push(rig);
    const gatewayFile = join(rig.dir, 'gateway.yaml');
    const valid = manifests('');
    expect((await plan(rig)).generation).toBe(1);
    const clients = load(rig.url, 4);

    // A valid change (one more HTTPRoute, same backends): generation 2.
    writeFileSync(
      gatewayFile,
      `${valid}---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r2\nspec:\n  parentRefs:\n  - name: gw\n  hostnames: [other.example]\n  rules:\n  - backendRefs:\n    - {group: inference.networking.x-k8s.io, kind: InferencePool, name: pool}\n`,
    );
    await untilGeneration(rig, 2);

    // An invalid change: refused, generation 2 keeps serving, the diagnostic is logged and exposed.
    writeFileSync(
      gatewayFile,
      `${valid}---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r2}\nspec: {rules: 7}\n`,
    );
    // (Generation 2's success cleared any failure a half-written file may have caused before it.)
    let refused: Awaited<ReturnType<typeof plan>> | undefined;
    await waitFor(
      () => refused?.lastFailedReload !== undefined,
      'the failed reload in /admin/plan',
      15_000,
      async () => {
        refused = await plan(rig);
      },
    );
    expect(refused!.generation).toBe(2);
    expect(refused!.lastFailedReload!.errors.join('\n')).toMatch(/gateway\.yaml/);
    // The log line is written by the same reload, but reaches our pipe on its own schedule.
    await waitFor(() => /reload failed/.test(rig.serve.stderr()), 'the failed reload in the log', 10_000);
    expect(
      rig.sample(await rig.metrics(), 'infergate_config_reloads_total', { result: 'failure' }),
    ).toBeGreaterThanOrEqual(1);

    // The fix: generation 3, the failure no longer reported.
    writeFileSync(gatewayFile, valid);
    await untilGeneration(rig, 3);
    expect((await plan(rig)).lastFailedReload).toBeUndefined();
    // Streams kept flowing across the three reloads: a few more finish on generation 3.
    const atFix = clients.finished();
    await waitFor(() => clients.finished() >= atFix + 4, 'streams on generation 3', 20_000);

    const results = await clients.stop();
    expect(results.length).toBeGreaterThanOrEqual(atFix + 4);
    expect(results.filter((r) => !r.complete)).toEqual([]);
  }, 90_000);

  it('SIGTERM with streams in flight: they all finish, new connections are refused, exit 0', async () => {
    const rig = await startRig({ sim: SIM, serve: ['--drain-timeout', '30s'] });
    rigs.push(rig);
    const IN_FLIGHT = 20;
    let heads = 0;
    const streams = Array.from({ length: IN_FLIGHT }, () =>
      stream(rig.url, 150, () => {
        heads++;
      }),
    );
    await waitFor(() => heads === IN_FLIGHT, 'every stream to start', 15_000);
    rig.serve.child.kill('SIGTERM');
    // While the streams finish, new connections are refused (checked until the process is gone).
    const port = Number(new URL(rig.url).port);
    let refusedBeforeExit = 0;
    let exited = false;
    void rig.serve.exited.then(() => {
      exited = true;
    });
    await waitFor(
      () => refusedBeforeExit > 0,
      'a new connection to be refused',
      10_000,
      async () => {
        const outcome = await new Promise<string>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve('connected');
          });
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        if (outcome === 'ECONNREFUSED' && !exited) refusedBeforeExit++;
      },
    );
    const results = await Promise.all(streams);
    expect(results.filter((r) => !r.complete)).toEqual([]);
    expect(await rig.serve.exited).toBe(0);
    expect(rig.serve.stderr()).not.toMatch(/drain deadline passed/);
  }, 90_000);
});
