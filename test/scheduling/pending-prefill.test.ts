/**
 * Pending prefill end to end (issue 16): the real `infergate serve` (the default profile's plugins and
 * weights, debug headers)
 * in front of two simulated replicas. A long streamed prompt counts as pending prefill on its replica
 * from dispatch until its first token — a second long prompt sent meanwhile is steered to the other
 * replica by prefill-cost-scorer — and stops counting at that first token although the stream goes on
 * (the gateway's first-token hook, not the end of the request, releases it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SATURATION_FILTER } from '../../src/scheduling/plugins/filters/saturation-filter.js';
import { DEFAULT_PICKER_CONFIG } from '../../src/scheduling/profiles.js';
import type { DecisionRecord } from '../../src/telemetry/decision-ring.js';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { ONE_POOL_MANIFESTS } from '../helpers/fleet.js';
import { text } from './helpers.js';

/** Per-endpoint scores of one decision, as `x-infergate-decision` shows them. */
interface DecisionHeader {
  pick: string;
  top: Record<string, Record<string, number>>;
}

/**
 * The default profile (DEFAULT_PICKER_CONFIG: its plugins and weights) as the pool's own
 * EndpointPickerConfig, with the saturation filter's staleness threshold raised: on a loaded CI
 * machine a scrape can be late by more than the reference's 200 ms, and the filter would then drop
 * the replica this test reads scores of.
 */
const DEFAULT_PROFILE_PATIENT = `---\n${stringify({
  apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
  kind: 'EndpointPickerConfig',
  metadata: { name: 'default-patient', namespace: 'default' },
  plugins: DEFAULT_PICKER_CONFIG.plugins.map((p) =>
    p.type === SATURATION_FILTER
      ? { ...p, parameters: { ...p.parameters, metricsStalenessThreshold: '30s' } }
      : p,
  ),
  schedulingProfiles: DEFAULT_PICKER_CONFIG.schedulingProfiles,
})}`;

/** ≈ 3,000–4,000 prompt tokens: about a second of prefill on the sim-default profile. */
const LONG_PROMPT_CHARS = 16_000;

function body(seed: number, stream: boolean, maxTokens: number): string {
  return JSON.stringify({
    model: 'm',
    prompt: text(LONG_PROMPT_CHARS, seed),
    max_tokens: maxTokens,
    stream,
    ignore_eos: true,
  });
}

describe('pending prefill (prefill-cost-scorer, default profile)', () => {
  let dir: string;
  const procs: CliProcess[] = [];
  let gateway: string;
  let admin: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'infergate-pending-prefill-'));
    writeFileSync(join(dir, 'manifests.yaml'), ONE_POOL_MANIFESTS + DEFAULT_PROFILE_PATIENT);
    // Time scale 2: engine time runs at half speed, so a long prefill lasts seconds of wall time.
    const sim = startCli([
      'sim',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--replicas',
      '2',
      '--time-scale',
      '2',
      '--served-model-name',
      'm',
      '--emit-pods',
      join(dir, 'pods.yaml'),
      '--pod-labels',
      'app=sim',
    ]);
    procs.push(sim);
    await sim.waitForLine(/^sim ready 2 replicas$/, 30_000);
    const gw = startCli([
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
      '--debug-headers',
    ]);
    procs.push(gw);
    gateway = (await gw.waitForLine(/^listener default\/gw\/http ready (http:\S+)$/, 30_000))[1]!;
    admin = (await gw.waitForLine(/^admin ready (http:\S+)$/, 30_000))[1]!;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(payload: string): Promise<{ decision: DecisionHeader; text: string }> {
    const res = await request(`${gateway}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    return { decision: JSON.parse(String(res.headers['x-infergate-decision'])) as DecisionHeader, text };
  }

  /** The decisions recorded so far (debug headers: every decision is recorded). */
  async function decisions(): Promise<DecisionRecord[]> {
    const res = await request(`${admin}/admin/decisions`);
    return ((await res.body.json()) as { decisions: DecisionRecord[] }).decisions;
  }

  it('counts a long prompt until its first token, then no longer while it still streams', async () => {
    const before = (await decisions()).length;
    // A: long, streamed, with a long answer; its prefill takes ~2 s of wall time.
    const pendingA = request(`${gateway}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(1, true, 400),
    });
    // Once A's decision is recorded it is routed and dispatched (bounded poll: 200 × 10 ms).
    let x: string | undefined;
    for (let i = 0; i < 200 && x === undefined; i++) {
      const recs = await decisions();
      if (recs.length > before) x = recs[recs.length - 1]!.pick;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(x).toBeDefined();
    // B, another long prompt, before A's first token: A's pending prefill makes X the costlier one.
    const b = await post(body(2, false, 1));
    const y = Object.keys(b.decision.top).find((id) => id !== x!)!;
    expect(b.decision.top[x!]!['prefill-cost-scorer']!).toBeLessThan(
      b.decision.top[y]!['prefill-cost-scorer']!,
    );
    expect(b.decision.pick).toBe(y);

    const a = await pendingA;
    expect(a.statusCode).toBe(200);
    let chunks = '';
    let aEnded = false;
    let firstToken!: () => void;
    const gotFirst = new Promise<void>((r) => {
      firstToken = r;
    });
    const aDone = (async () => {
      for await (const c of a.body) {
        chunks += String(c);
        if (chunks.includes('"text":"')) firstToken();
      }
      aEnded = true;
    })();

    // After A's first token, while A still streams (400 tokens at half speed: many seconds), C finds
    // A's prompt no longer pending on X: X costs only C's own prefill there (a quarter more for A
    // decoding beside it), against C's prefill on the idle Y. Were A still counted, X would score
    // as low as it did for B.
    await gotFirst;
    const c = await post(body(3, false, 1));
    expect(c.decision.top[x!]!['prefill-cost-scorer']!).toBeGreaterThan(
      b.decision.top[x!]!['prefill-cost-scorer']!,
    );
    expect(aEnded).toBe(false);
    const seenAtC = chunks.length;
    await aDone;
    expect(chunks.length).toBeGreaterThan(seenAtC);
  }, 90_000);
});
