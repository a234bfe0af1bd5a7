/**
 * `infergate demo` as a user runs it (here on OS-chosen ports and 100× simulated speed): ready lines,
 * the canary split's public model name rewritten back, the mirror compared, clean stop on SIGTERM.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { call } from './helpers/http.js';
import { waitFor } from './helpers/upstream.js';

describe('infergate demo', () => {
  let demo: CliProcess | undefined;

  afterAll(async () => {
    await demo?.stop();
  });

  it('serves the documents’ setup on simulated replicas and stops cleanly', async () => {
    demo = startCli([
      'demo',
      '--time-scale',
      '0.01',
      '--replicas',
      '2',
      '--port',
      '0',
      '--inference-port',
      '0',
      '--admin-port',
      '0',
    ]);
    const inference = (
      await demo.waitForLine(/^listener default\/demo-gateway\/inference ready (http:\S+)$/, 45_000)
    )[1]!;
    const standard = (await demo.waitForLine(/^listener default\/demo-gateway\/http ready (http:\S+)$/))[1]!;
    const admin = (await demo.waitForLine(/^admin ready (http:\S+)$/))[1]!;
    await waitFor(() => demo!.stderr().includes('curl -s'), 'the curl guide');

    const targets = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await call(inference, '/v1/chat/completions', {
        json: {
          model: 'travel-helper',
          messages: [{ role: 'user', content: 'Plan a weekend in Kyoto.' }],
          max_tokens: 8,
        },
      });
      expect(r.status).toBe(200);
      expect((r.json() as { model: string }).model).toBe('travel-helper'); // the adapter name is rewritten back
    }
    const base = await call(standard, '/v1/completions', {
      json: { model: '/model/qwen', prompt: 'Hello', max_tokens: 4 },
    });
    expect(base.status).toBe(200);

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    for (const m of metrics.matchAll(/model="travel-helper",target_model="(travel-helper-v[12])"/g))
      targets.add(m[1]!);
    expect(targets.size).toBeGreaterThan(0);
    let mirrored = 0;
    await waitFor(
      () => mirrored === 5,
      'the candidate to answer the five copies',
      20_000,
      async () => {
        const s = (await (await fetch(`${admin}/admin/mirrors`)).json()) as {
          mirrors: { completed: number }[];
        };
        mirrored = s.mirrors[0]?.completed ?? 0;
      },
    );

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
  });
});
