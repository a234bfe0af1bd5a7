/**
 * Load shared between gateway replicas (--peer-listen / --peer), end to end: two `serve` processes
 * on one simulated fleet, each publishing its per-endpoint load to the other over ZMQ on loopback.
 * An endpoint picker (`epp`) joins the same way. Asserts what the receiving gateway counts (its /admin/snapshot), that it routes by it (the
 * least-request picker avoids the replica the peer loaded, where without sharing it would tie), and
 * that a peer killed mid-request stops counting once it is silent for the expiry time.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../src/util/ports.js';
import { startCli } from '../helpers/cli.js';
import { type Fleet, fleet, ONE_POOL_MANIFESTS, type Serve } from '../helpers/fleet.js';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/upstream.js';

const DEBUG = { 'x-infergate-debug': 'endpoint' };

interface Panel {
  id: string;
  inflight: number;
  peerInflight: number;
}

async function panels(admin: string): Promise<Panel[]> {
  const snap = (await (await fetch(`${admin}/admin/snapshot`)).json()) as { pools: { endpoints: Panel[] }[] };
  return snap.pools.flatMap((p) => p.endpoints);
}

async function metric(admin: string, name: string): Promise<number | undefined> {
  const page = await (await fetch(`${admin}/metrics`)).text();
  const m = page.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

/** Waits until `admin`'s gateway counts `n` peer requests in flight on `endpoint`. */
async function peerInflightBecomes(
  admin: string,
  endpoint: string,
  n: number,
  timeoutMs = 10_000,
): Promise<void> {
  let seen: number | undefined;
  await waitFor(
    () => seen === n,
    `peer in-flight on ${endpoint} to become ${n}`,
    timeoutMs,
    async () => {
      seen = (await panels(admin)).find((p) => p.id === endpoint)?.peerInflight;
    },
  );
}

/** A long streamed request through `gateway`, running once this resolves; `done` when it ends. */
async function startLong(gateway: string): Promise<{ endpoint: string; done: Promise<void> }> {
  const res = await request(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...DEBUG },
    body: JSON.stringify({
      model: 'm',
      messages: [{ role: 'user', content: 'Tell a long story.' }],
      max_tokens: 400,
      stream: true,
    }),
  });
  expect(res.statusCode).toBe(200);
  const endpoint = String(res.headers['x-infergate-endpoint']);
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  const done = (async () => {
    for (;;) if ((await it.next()).done) return;
  })();
  return { endpoint, done };
}

describe('load shared between gateway replicas', () => {
  let rig: Fleet;
  let a: Serve;
  let b: Serve;
  let endpoints: string[];
  let files: string[];
  let ports: number[];

  beforeAll(async () => {
    rig = fleet('peers');
    const sims = await rig.startSims(['--replicas', '2', '--served-model-name', 'm'], { labels: 'app=sim' });
    endpoints = sims.urls.map((u) => new URL(u).host);
    files = [rig.file('manifests.yaml', ONE_POOL_MANIFESTS), sims.podsFile];
    ports = [await reservePort(), await reservePort()];
    const [pa, pb] = ports;
    const common = ['--no-watch', '--scheduler', 'least-request', '--debug-headers'];
    a = await rig.startServe(files, [
      ...common,
      '--peer-listen',
      `tcp://127.0.0.1:${pa}`,
      '--peer',
      `tcp://127.0.0.1:${pb}`,
    ]);
    b = await rig.startServe(files, [
      ...common,
      '--peer-listen',
      `tcp://127.0.0.1:${pb}`,
      '--peer',
      `tcp://127.0.0.1:${pa}`,
    ]);
    // Each hears the other's heartbeat (one a second) before the cases start.
    for (const g of [a, b]) {
      let peers: number | undefined;
      await waitFor(
        () => peers === 1,
        'the peer gateway to be heard',
        15_000,
        async () => {
          peers = await metric(g.admin, 'infergate_peer_gateways');
        },
      );
    }
  }, 60_000);

  afterAll(async () => {
    await rig?.stopAll();
  });

  it("counts the peer's request in flight, routes around it, and forgets it when it ends", async () => {
    const long = await startLong(a.url);
    expect(endpoints).toContain(long.endpoint);
    const other = endpoints.find((e) => e !== long.endpoint)!;
    await peerInflightBecomes(b.admin, long.endpoint, 1);
    // A's own count is A's; B shows it as the peer's, not its own.
    expect((await panels(a.admin)).find((p) => p.id === long.endpoint)).toMatchObject({
      inflight: 1,
      peerInflight: 0,
    });
    expect((await panels(b.admin)).find((p) => p.id === long.endpoint)).toMatchObject({ inflight: 0 });
    // Least request on B: the peer's request makes the other replica the lesser one, every time.
    for (let i = 0; i < 6; i++) {
      const r = await call(b.url, '/v1/chat/completions', {
        headers: DEBUG,
        json: { model: 'm', messages: [{ role: 'user', content: `hi ${i}` }], max_tokens: 2 },
      });
      expect(r.status).toBe(200);
      expect(r.headers['x-infergate-endpoint']).toBe(other);
    }
    await long.done;
    await peerInflightBecomes(b.admin, long.endpoint, 0);
    expect(await metric(b.admin, 'infergate_peer_load_messages_received_total')).toBeGreaterThan(0);
  }, 60_000);

  it('an endpoint picker (`epp`) shares the same way: it hears both gateways and counts their requests', async () => {
    const pe = await reservePort();
    const epp = rig.track(
      startCli([
        'epp',
        ...files.flatMap((f) => ['-f', f]),
        '--pool',
        'default/pool',
        '--host',
        '127.0.0.1',
        '--grpc-port',
        '0',
        '--health-port',
        '-1',
        '--metrics-port',
        '0',
        '--no-watch',
        '--peer-listen',
        `tcp://127.0.0.1:${pe}`,
        '--peer',
        `tcp://127.0.0.1:${ports[0]}`,
        '--peer',
        `tcp://127.0.0.1:${ports[1]}`,
      ]),
    );
    const metrics = `${(await epp.waitForLine(/^metrics ready (\S+)/, 30_000))[1]!}/metrics`;
    const eppMetric = async (name: string) => {
      const page = await (await fetch(metrics)).text();
      const m = page.match(new RegExp(`^${name} (\\S+)$`, 'm'));
      return m ? Number(m[1]) : undefined;
    };
    let peers: number | undefined;
    await waitFor(
      () => peers === 2,
      'the picker to hear both gateways',
      15_000,
      async () => {
        peers = await eppMetric('infergate_peer_gateways');
      },
    );
    const long = await startLong(a.url);
    const series = `infergate_pool_endpoint_peer_inflight_requests{pool="default/pool",endpoint="${long.endpoint}"}`;
    let counted: number | undefined;
    await waitFor(
      () => counted === 1,
      "the gateway's request counted at the picker",
      10_000,
      async () => {
        const page = await (await fetch(metrics)).text();
        const line = page.split('\n').find((l) => l.startsWith(`${series} `));
        counted = line === undefined ? undefined : Number(line.slice(series.length + 1));
      },
    );
    expect(await eppMetric('infergate_peer_connections')).toBe(2);
    await long.done;
    await epp.stop();
  }, 60_000);

  it('drops a peer that dies mid-request once it is silent for the expiry time', async () => {
    const long = await startLong(a.url);
    long.done.catch(() => undefined); // cut when A dies
    await peerInflightBecomes(b.admin, long.endpoint, 1);
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    // Heartbeat 1 s, expiry 3.5 s: gone within a few seconds, well before the request would end.
    await peerInflightBecomes(b.admin, long.endpoint, 0, 8_000);
    expect(await metric(b.admin, 'infergate_peer_gateways')).toBe(0);
    expect(b.proc.stderr()).toMatch(/peer gateway silent/);
  }, 30_000);
});
