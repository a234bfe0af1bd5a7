/**
 * "Why this endpoint" end to end: the real `infergate serve` in front of three simulated replicas.
 * Without debug output, decisions are recorded only once someone looks at /admin/decisions (none
 * before), and no decision header is sent; with `--debug-headers`, every response carries the
 * decision (x-infergate-decision) and the ring holds the same record.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/telemetry/decision-ring.js';
import { type CliProcess, startCli } from '../helpers/cli.js';

const MANIFESTS = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: infergate
  listeners:
  - { name: http, port: 80, protocol: HTTP }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - backendRefs: [{ group: inference.networking.x-k8s.io, kind: InferencePool, name: pool }]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: { name: pool, namespace: default }
spec:
  targetPortNumber: 8000
  selector: { app: sim }
`;

interface DecisionsAnswer {
  recording: boolean;
  always: boolean;
  decisions: DecisionRecord[];
}

async function ask(
  gateway: string,
  i: number,
): Promise<{ status: number; endpoint: string | undefined; decision: string | undefined }> {
  const res = await request(`${gateway}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-infergate-debug': 'endpoint' },
    body: JSON.stringify({ model: 'm', prompt: `question ${i} about the sea`, max_tokens: 4 }),
  });
  await res.body.text();
  const h = (name: string) => {
    const v = res.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  return { status: res.statusCode, endpoint: h('x-infergate-endpoint'), decision: h('x-infergate-decision') };
}

async function decisions(admin: string): Promise<DecisionsAnswer> {
  const res = await request(`${admin}/admin/decisions`);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as DecisionsAnswer;
}

describe('decision records', () => {
  let dir: string;
  const procs: CliProcess[] = [];

  async function serve(extra: string[]): Promise<{ gateway: string; admin: string }> {
    const p = startCli([
      'serve',
      '-f',
      join(dir, 'manifests.yaml'),
      '-f',
      join(dir, 'pods.yaml'),
      '--host',
      '127.0.0.1',
      '--port-map',
      '80=0',
      '--admin-port',
      '0',
      '--no-watch',
      ...extra,
    ]);
    procs.push(p);
    const gateway = (await p.waitForLine(/^listener default\/gw\/http ready (http:\S+)$/, 30_000))[1]!;
    const admin = (await p.waitForLine(/^admin ready (http:\S+)$/, 30_000))[1]!;
    return { gateway, admin };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'infergate-decisions-'));
    writeFileSync(join(dir, 'manifests.yaml'), MANIFESTS);
    const sim = startCli([
      'sim',
      '--port',
      '0',
      '--replicas',
      '3',
      '--time-scale',
      '0.05',
      '--served-model-name',
      'm',
      '--emit-pods',
      join(dir, 'pods.yaml'),
      '--pod-labels',
      'app=sim',
    ]);
    procs.push(sim);
    await sim.waitForLine(/^sim ready 3 replicas$/, 30_000);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records nothing until someone looks, then explains each pick; no header without debug output', async () => {
    const { gateway, admin } = await serve([]);
    const unseen = await ask(gateway, 0);
    expect(unseen.status).toBe(200);
    expect(unseen.decision).toBeUndefined();

    const first = await decisions(admin);
    expect(first.always).toBe(false);
    expect(first.decisions).toEqual([]); // the request above was not recorded
    expect(first.recording).toBe(true); // this look started recording

    for (let i = 1; i <= 5; i++) {
      const r = await ask(gateway, i);
      expect(r.status).toBe(200);
      expect(r.decision).toBeUndefined();
      // Without --debug-headers a client cannot learn the endpoint's address (issue 12).
      expect(r.endpoint).toBeUndefined();
    }
    const { decisions: recs } = await decisions(admin);
    expect(recs).toHaveLength(5);
    for (const r of recs) {
      expect(r.pool).toBe('default/pool');
      expect(r.candidates).toHaveLength(3);
      expect(r.scored.length).toBeGreaterThan(0);
      expect(r.scorers.length).toBeGreaterThan(0);
      for (const s of r.scorers) expect(s.scores).toHaveLength(r.scored.length);
      expect(r.totals).toHaveLength(r.scored.length);
      expect(r.fallbacks).not.toContain(r.pick);
    }
  }, 60_000);

  it('with --debug-headers: every response carries its decision, and the ring has the same record', async () => {
    const { gateway, admin } = await serve(['--debug-headers']);
    const r = await ask(gateway, 10);
    expect(r.status).toBe(200);
    const header = JSON.parse(r.decision!) as { seq: number; pick: string; profile: string; top: object };
    expect(header.pick).toBe(r.endpoint);
    expect(Object.keys(header.top)).toContain(r.endpoint);
    const answer = await decisions(admin);
    expect(answer.always).toBe(true);
    const rec = answer.decisions.find((d) => d.seq === header.seq);
    expect(rec?.pick).toBe(r.endpoint);
    expect(rec?.profile).toBe(header.profile);
  }, 60_000);
});
