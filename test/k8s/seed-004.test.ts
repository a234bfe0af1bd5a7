/**
 * Seed 004 from the cluster: a real API server set up as the document's ASM cluster (Istio's
 * Gateway and VirtualService CRDs, LLMRoute, the Inference Extension's first release with v1alpha1
 * InferencePool and InferenceModel), the seed's manifests applied as a user would, simulated vLLM
 * replicas as the Pods, and `serve --kubernetes --istio-gateway-labels istio=ingressgateway` standing
 * in for the ingress gateway the seed's Gateway selects.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool } from '../helpers/deps.js';
import { ISTIO_CRD_FILES, type KubeEnv, parseYaml, startKubeEnv } from '../helpers/kube.js';
import { complete, eventually, runPod, type Serve, type Sims, startServe, startSims } from './helpers.js';

const SEED_FILES = [
  '004-gateway.yaml',
  '004-llmroute.yaml',
  '004-virtualservice.yaml',
  '004-inferencepool.yaml',
  '004-inferencemodel.yaml',
  '004-vllm-service-ack.yaml',
];

/** An Istio Gateway for another workload (an egress gateway): not infergate's to serve. */
const OTHER_GATEWAY = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: { name: 'egress', namespace: 'default' },
  spec: {
    selector: { istio: 'egressgateway' },
    servers: [{ hosts: ['*'], port: { name: 'http', number: 9090, protocol: 'HTTP' } }],
  },
};

describe.skipIf(!hasTool('kube-apiserver') || !hasTool('etcd'))(
  'serve --kubernetes --istio-gateway-labels (seed 004 on a real API server)',
  () => {
    let env: KubeEnv;
    let sims: Sims;
    let serve: Serve;
    let url: string;
    const endpointOf = (i: number) => `127.0.0.1:${sims.ports[i]}`;

    beforeAll(async () => {
      [env, sims] = await Promise.all([
        startKubeEnv({ crds: ISTIO_CRD_FILES }),
        startSims(2, ['/model/llama2', 'tweet-summary']),
      ]);
      const seed = SEED_FILES.flatMap((f) =>
        parseYaml(readFileSync(`${REPO_ROOT}/examples/seeds/${f}`, 'utf8')),
      );
      await env.apply([...seed, OTHER_GATEWAY]);
      for (let i = 0; i < 2; i++) {
        await runPod(
          env,
          {
            name: `vllm-${i}`,
            labels: { app: 'vllm-llama2-7b-pool' },
            containerPort: 8000,
            hostPort: sims.ports[i]!,
          },
          i + 1,
        );
      }
      serve = startServe(env, [8080, 9090], ['--istio-gateway-labels', 'istio=ingressgateway']);
      url = await serve.url('default/llm-inference-gateway/http-service');
    }, 180_000);

    afterAll(async () => {
      await Promise.all([serve?.stop(), sims?.stop()]);
      await env?.stop();
    });

    it('routes host test.com through the LLMRoute to the v1alpha1 pool, by its InferenceModel', async () => {
      for (let i = 0; i < 6; i++) {
        const r = await complete(url, 'tweet-summary', { host: 'test.com' });
        expect(r.status, r.body).toBe(200);
      }
      // The access log is written asynchronously: wait for the six records.
      const viaPool = () => serve.access().filter((a) => a.model === 'tweet-summary');
      await eventually(() => viaPool().length === 6, 10_000, 'six tweet-summary access records');
      for (const a of viaPool()) expect([endpointOf(0), endpointOf(1)]).toContain(a.endpoint);
      // The pool's picker served them: its decisions are counted under the pool's name.
      expect(
        await serve.metric('infergate_scheduler_picks_total', { pool: 'default/vllm-llama2-7b-pool' }),
      ).toBeGreaterThanOrEqual(6);
    });

    it('routes any other host through the VirtualService to the Service', async () => {
      const r = await complete(url, '/model/llama2', { host: 'chat.example.com' });
      expect(r.status, r.body).toBe(200);
      const viaService = () => serve.access().filter((a) => a.model === '/model/llama2');
      await eventually(() => viaService().length === 1, 10_000, 'the /model/llama2 access record');
      expect([endpointOf(0), endpointOf(1)]).toContain(viaService()[0]!.endpoint);
    });

    it('serves only the Istio Gateways whose selector matches its labels, and is ready without the optional kinds', async () => {
      const admin = await serve.admin();
      const plan = (await (await request(`${admin}/admin/plan`)).body.json()) as {
        listeners: { key: string }[];
      };
      const keys = plan.listeners.map((l) => l.key);
      expect(keys).toContain('default/llm-inference-gateway/http-service');
      expect(keys.some((k) => k.startsWith('default/egress/'))).toBe(false);
      // Envoy Gateway's policy CRD is not installed here: a warning, not a reason to stay unready.
      await eventually(
        async () => (await request(`${admin}/readyz`)).statusCode === 200,
        15_000,
        '/readyz 200',
      );
      expect(serve.proc.stderr() + serve.proc.stdout()).toMatch(
        /does not serve BackendTrafficPolicy \(gateway\.envoyproxy\.io\/v1alpha1\): is its CRD installed/,
      );
    });
  },
);
