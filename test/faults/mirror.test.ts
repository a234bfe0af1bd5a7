/**
 * Fault suite: the RequestMirror target fails while real clients use the primary. Mirror down
 * (nothing listens) and mirror hung (accepts, never answers) must not change what the client of the
 * primary sees: every answer 200 and complete, and no answer waits for its copy — with a hung mirror
 * every primary answer arrives while all the copies are still unanswered (the copies time out only
 * after --mirror-timeout, longer than the test). Copies beyond --mirror-concurrency are dropped and
 * counted. Bounded: 24 requests, 6 at a time.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { reservePort } from '../../src/util/ports.js';
import { call } from '../gateway/helpers/http.js';
import { waitFor } from '../gateway/helpers/upstream.js';
import { chat, type FaultRig, startRig } from './harness.js';

const REQUESTS = 24;
const AT_ONCE = 6;

const rigs: FaultRig[] = [];
const servers: { server: Server; sockets: Set<Socket> }[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

/** A TCP server that accepts connections, reads everything and never answers. */
async function hungServer(): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  servers.push({ server, sockets });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: (server.address() as { port: number }).port, sockets };
}

/** REQUESTS primary requests, AT_ONCE at a time, half streamed; asserts each is a complete 200. */
async function primaryLoad(rig: FaultRig): Promise<void> {
  for (let i = 0; i < REQUESTS; i += AT_ONCE) {
    const batch = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, j) =>
        call(rig.url, '/v1/chat/completions', { json: chat({ stream: (i + j) % 2 === 0 }) }),
      ),
    );
    for (const r of batch) {
      expect(r.status).toBe(200);
      if (r.headers['content-type']?.toString().startsWith('text/event-stream'))
        expect(r.text.trim().endsWith('data: [DONE]')).toBe(true);
      else expect((r.json() as { choices: unknown[] }).choices).toHaveLength(1);
    }
  }
}

describe('a failing mirror target', () => {
  it('mirror target down: every primary answer is a complete 200; the copies are counted as failed', async () => {
    const rig = await startRig({ sim: ['--replicas', '2'], mirrorPort: await reservePort() });
    rigs.push(rig);
    await primaryLoad(rig);
    let failed = 0;
    await waitFor(
      () => failed === REQUESTS,
      'every copy to fail',
      10_000,
      async () => {
        failed = rig.sample(await rig.metrics(), 'infergate_mirror_requests_total', { result: 'failed' });
      },
    );
    const m = await rig.metrics();
    expect(rig.sample(m, 'infergate_requests_total', { status: '200' })).toBe(REQUESTS);
    expect(rig.sample(m, 'infergate_mirror_requests_total', { result: 'completed' })).toBe(0);
  }, 60_000);

  it('mirror target hung: primary answers do not wait for their copies; copies beyond the bound are dropped', async () => {
    const hung = await hungServer();
    const rig = await startRig({
      sim: ['--replicas', '2'],
      mirrorPort: hung.port,
      serve: ['--mirror-concurrency', '4', '--mirror-timeout', '10m'],
    });
    rigs.push(rig);
    await primaryLoad(rig);
    // Every primary answer is in, and no copy has been answered or abandoned: none was waited for.
    const m = await rig.metrics();
    expect(rig.sample(m, 'infergate_requests_total', { status: '200' })).toBe(REQUESTS);
    expect(rig.sample(m, 'infergate_mirror_requests_total', { result: 'sent' })).toBe(4);
    expect(rig.sample(m, 'infergate_mirror_requests_total', { result: 'dropped' })).toBe(REQUESTS - 4);
    expect(rig.sample(m, 'infergate_mirror_requests_total', { result: 'completed' })).toBe(0);
    expect(rig.sample(m, 'infergate_mirror_requests_total', { result: 'failed' })).toBe(0);
    await waitFor(() => hung.sockets.size === 4, 'the four copies to reach the mirror target', 10_000);
  }, 60_000);
});
