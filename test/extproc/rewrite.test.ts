/**
 * Model rewrite and bodies through Envoy + `infergate epp`, against recording OpenAI-style upstreams
 * (so what reached the model server can be read back byte for byte):
 * - the InferenceModel canary split draws both targets; the upstream receives the target name and
 *   the client sees its own name back, in JSON answers and in every SSE chunk (official SDK);
 * - a 2 MB request body is replaced (model rewritten) in ≤ 62,000-byte chunks and arrives whole,
 *   (Envoy sends it chunked: FULL_DUPLEX_STREAMED drops Content-Length);
 * - usage: asked by the client → relayed; not asked → requested from the server for the token
 *   metrics and hidden from the client, as `serve` does.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podManifestsYaml } from '../../src/sim/pods.js';
import {
  fakeOpenAi,
  type RecordedRequest,
  startUpstream,
  type TestUpstream,
} from '../gateway/helpers/upstream.js';
import { hasTool } from '../helpers/deps.js';
import { onePoolManifests } from '../helpers/fleet.js';
import { type Envoy, type Epp, harness } from './helpers.js';

const MANIFESTS = `${onePoolManifests({ gatewayClass: 'envoy', app: 'fake' })}---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: chat, namespace: default }
spec:
  modelName: chat
  criticality: Critical
  poolRef: { name: pool }
  targetModels: [{ name: model-a, weight: 50 }, { name: model-b, weight: 50 }]
`;

/** The model requests the upstreams received (metric scrapes left out). */
function posts(ups: TestUpstream[]): RecordedRequest[] {
  return ups.flatMap((u) => u.requests.filter((r) => r.method === 'POST'));
}

function receivedModels(ups: TestUpstream[]): string[] {
  return posts(ups).map((r) => (JSON.parse(r.body.toString()) as { model: string }).model);
}

describe.skipIf(!hasTool('envoy'))('model rewrite and bodies through Envoy + epp', () => {
  const h = harness('epp-rewrite');
  let ups: TestUpstream[];
  let epp: Epp;
  let envoy: Envoy;
  let client: OpenAI;

  beforeAll(async () => {
    ups = [
      await startUpstream('a', fakeOpenAi({ tokens: 4 })),
      await startUpstream('b', fakeOpenAi({ tokens: 4 })),
    ];
    const pods = h.file(
      'pods.yaml',
      podManifestsYaml(
        ups.map((u, index) => ({ index, host: '127.0.0.1', port: u.port })),
        { labels: { app: 'fake' } },
      ),
    );
    const files = [h.file('m.yaml', MANIFESTS), pods];
    epp = await h.startEpp(files, 'pool', ['--seed', '7']);
    envoy = await h.startEnvoy(files, { extra: ['--epp', `127.0.0.1:${epp.grpcPort}`] });
    client = new OpenAI({ baseURL: `${envoy.url}/v1`, apiKey: 'none', maxRetries: 0 });
  }, 120_000);

  afterAll(async () => {
    await h.stopAll();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('canary split: both targets drawn, the client name comes back in JSON and in every SSE chunk', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: `q${i}` }],
      });
      expect(r.model).toBe('chat');
      expect(r.usage?.completion_tokens).toBe(4);
    }
    for (let i = 0; i < 8; i++) {
      const stream = await client.chat.completions.create({
        model: 'chat',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: `s${i}` }],
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        expect(chunk.model).toBe('chat');
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('tok tok tok tok ');
      expect(usage?.completion_tokens).toBe(4);
    }
    const models = receivedModels(ups);
    expect(new Set(models)).toEqual(new Set(['model-a', 'model-b']));
    expect(models).toHaveLength(20);
    expect(await epp.metric('infergate_requests_total', { target_model: 'model-a' })).toBeGreaterThan(0);
    expect(await epp.metric('infergate_requests_total', { target_model: 'model-b' })).toBeGreaterThan(0);
  });

  it('a stream whose client did not ask for usage: counted by the picker, hidden from the client', async () => {
    const before = await epp.metric('infergate_completion_tokens_total');
    const seen = new Set(posts(ups));
    const stream = await client.chat.completions.create({
      model: 'chat',
      stream: true,
      messages: [{ role: 'user', content: 'no usage please' }],
    });
    let sawUsage = false;
    for await (const chunk of stream) {
      expect(chunk.model).toBe('chat');
      if (chunk.usage) sawUsage = true;
    }
    expect(sawUsage).toBe(false);
    const last = posts(ups).filter((r) => !seen.has(r))[0]!;
    expect(JSON.parse(last.body.toString())).toMatchObject({ stream_options: { include_usage: true } });
    expect((await epp.metric('infergate_completion_tokens_total')) - before).toBe(4);
  });

  it('a 2 MB body is replaced in chunks and reaches the model server whole', async () => {
    const content = 'x'.repeat(2 * 1024 * 1024);
    const seen = new Set(posts(ups));
    const r = await client.chat.completions.create({
      model: 'chat',
      max_tokens: 2,
      messages: [{ role: 'user', content }],
    });
    expect(r.model).toBe('chat');
    const got = posts(ups).filter((r) => !seen.has(r));
    expect(got).toHaveLength(1);
    const body = got[0]!.body;
    // Envoy drops Content-Length in FULL_DUPLEX_STREAMED mode and sends the body chunked; if a
    // length arrives it must be the replaced body's.
    const length = got[0]!.headers['content-length'];
    if (length === undefined) expect(got[0]!.headers['transfer-encoding']).toBe('chunked');
    else expect(Number(length)).toBe(body.length);
    const parsed = JSON.parse(body.toString()) as { model: string; messages: { content: string }[] };
    expect(['model-a', 'model-b']).toContain(parsed.model);
    expect(parsed.messages[0]!.content).toBe(content);
  });
});
