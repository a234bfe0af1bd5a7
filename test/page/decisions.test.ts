/**
 * "Why this endpoint" end to end: the real `infergate serve` in front of three simulated replicas.
 * Without debug output, decisions are recorded only once someone looks at /admin/decisions (none
 * before), and no decision header is sent; with `--debug-headers`, every response carries the
 * decision (x-infergate-decision) and the ring holds the same record.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/telemetry/decision-ring.js';
import { type Fleet, fleet, ONE_POOL_MANIFESTS } from '../helpers/fleet.js';

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
  let rig: Fleet;
  let files: string[];

  async function serve(extra: string[]): Promise<{ gateway: string; admin: string }> {
    const { url: gateway, admin } = await rig.startServe(files, ['--no-watch', ...extra]);
    return { gateway, admin };
  }

  beforeAll(async () => {
    rig = fleet('decisions');
    const sims = await rig.startSims(
      ['--replicas', '3', '--time-scale', '0.05', '--served-model-name', 'm'],
      { labels: 'app=sim' },
    );
    files = [rig.file('manifests.yaml', ONE_POOL_MANIFESTS), sims.podsFile];
  });

  afterAll(async () => {
    await rig?.stopAll();
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
