/**
 * The scrape loop against real HTTP servers on loopback: metrics read per engine, an endpoint whose
 * metrics stop answering taken out of rotation and brought back, stale metrics treated as saturated.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointAddress } from '../../src/config/plan.js';
import type { GatewayError } from '../../src/openai/errors.js';
import {
  createSchedulerRegistry,
  type SchedulerRegistry,
} from '../../src/requestcontrol/scheduler-registry.js';
import { isSaturated } from '../../src/scheduling/saturation.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRng } from '../../src/util/rng.js';
import { captureLogger, plan, pool, request, source, waitFor } from './helpers.js';

type Mode = 'ok' | 'drop' | 'hang' | '404';

interface FakeServer {
  server: Server;
  port: number;
  mode: Mode;
  body: string;
  scrapes: number;
}

const servers: FakeServer[] = [];
const registries: SchedulerRegistry[] = [];

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.server.closeAllConnections();
          s.server.close(() => resolve());
        }),
    ),
  );
});

const vllm = (waiting: number, running: number, kv: number) =>
  [
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{engine="0",model_name="m"} ${waiting}`,
    `vllm:num_requests_running{engine="0",model_name="m"} ${running}`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="m"} ${kv}`,
    'vllm:cache_config_info{block_size="16",num_gpu_blocks="1000"} 1.0',
    '',
  ].join('\n');

async function fakeServer(body: string): Promise<FakeServer> {
  const fs: FakeServer = { server: createServer(), port: 0, mode: 'ok', body, scrapes: 0 };
  fs.server.on('request', (req, res) => {
    fs.scrapes++;
    if (fs.mode === 'drop') return void req.socket.destroy();
    if (fs.mode === 'hang') return;
    if (fs.mode === '404' || (req.url !== '/metrics' && req.url !== '/prometheus/metrics')) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(fs.body);
  });
  await new Promise<void>((resolve) => fs.server.listen(0, '127.0.0.1', resolve));
  fs.port = (fs.server.address() as AddressInfo).port;
  servers.push(fs);
  return fs;
}

function endpoint(port: number, labels: Record<string, string> = {}): EndpointAddress {
  return { address: '127.0.0.1', port, ready: true, labels, from: 'Pod', podName: `pod-${port}` };
}

function registry(opts: { unhealthyAfter?: number; scrapeTimeoutMs?: number; logger?: Logger } = {}) {
  const reg = createSchedulerRegistry({
    metrics: new Registry(),
    logger: opts.logger ?? silentLogger(),
    rng: new SeededRng(2),
    scrapeIntervalMs: 20,
    scrapeTimeoutMs: opts.scrapeTimeoutMs ?? 500,
    unhealthyAfter: opts.unhealthyAfter ?? 3,
  });
  registries.push(reg);
  return reg;
}

const signal = () => new AbortController().signal;

describe('scrape loop', () => {
  it('reads each endpoint with its engine mapping (pod label), on its own', async () => {
    const a = await fakeServer(vllm(3, 7, 0.25));
    const b = await fakeServer(
      'sglang:num_queue_reqs 2\nsglang:num_running_reqs 4\nsglang:token_usage 0.5\n',
    );
    const reg = registry();
    reg.sync(
      plan(
        pool({
          endpoints: [
            endpoint(a.port),
            endpoint(b.port, { 'inference.networking.k8s.io/engine-type': 'sglang' }),
          ],
        }),
      ),
    );
    const sa = await waitFor(
      () => reg.endpointState(`127.0.0.1:${a.port}`)?.metrics && reg.endpointState(`127.0.0.1:${a.port}`),
    );
    expect(sa.metrics).toMatchObject({
      waiting: 3,
      running: 7,
      kvUsage: 0.25,
      numBlocks: 1000,
      blockSize: 16,
      models: ['m'],
    });
    const sb = await waitFor(
      () => reg.endpointState(`127.0.0.1:${b.port}`)?.metrics && reg.endpointState(`127.0.0.1:${b.port}`),
    );
    expect(sb.metrics).toMatchObject({ waiting: 2, running: 4, kvUsage: 0.5 });

    // it keeps scraping: a change on the server shows up
    a.body = vllm(0, 1, 0.05);
    await waitFor(() => sa.metrics?.waiting === 0, 10_000, 'updated metrics');
    expect(a.scrapes).toBeGreaterThanOrEqual(2);
  });

  it('takes an endpoint whose metrics stop answering out of rotation, and brings it back', async () => {
    const a = await fakeServer(vllm(0, 1, 0.1));
    const b = await fakeServer(vllm(0, 1, 0.1));
    const reg = registry();
    const p = pool({ endpoints: [endpoint(a.port), endpoint(b.port)] });
    reg.sync(plan(p));
    const router = reg.get(p.key)!;
    const sa = reg.endpointState(`127.0.0.1:${a.port}`)!;
    await waitFor(() => sa.metrics, 10_000, 'first scrape');

    a.mode = 'drop';
    await waitFor(() => !sa.healthy, 10_000, 'endpoint taken out');
    for (let i = 0; i < 10; i++) {
      const d = await router.route(request({ model: 'm' }), signal());
      expect(d.endpoints.map((e) => e.id)).toEqual([`127.0.0.1:${b.port}`]);
    }

    a.mode = 'ok';
    await waitFor(() => sa.healthy, 10_000, 'endpoint back');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const d = await router.route(request({ model: 'm' }), signal());
      d.onDispatch(d.endpoints[0]!);
      seen.add(d.endpoints[0]!.id);
    }
    expect(seen.has(`127.0.0.1:${a.port}`)).toBe(true);
  });

  it('every endpoint out of rotation: NO_READY_ENDPOINT', async () => {
    const a = await fakeServer(vllm(0, 0, 0));
    a.mode = 'drop';
    const reg = registry({ unhealthyAfter: 2 });
    const p = pool({ endpoints: [endpoint(a.port)] });
    reg.sync(plan(p));
    await waitFor(() => !reg.endpointState(`127.0.0.1:${a.port}`)!.healthy, 10_000, 'endpoint taken out');
    const err = await reg
      .get(p.key)!
      .route(request(), signal())
      .catch((e: unknown) => e);
    expect((err as GatewayError).code).toBe('NO_READY_ENDPOINT');
    expect((err as GatewayError).status).toBe(503);
  });

  it('metrics that stop arriving go stale: not trusted, counted as saturated; sheddable requests are shed', async () => {
    const a = await fakeServer(vllm(0, 1, 0.1));
    const reg = registry({ unhealthyAfter: 1000, scrapeTimeoutMs: 5000 });
    const p = pool({
      endpoints: [endpoint(a.port)],
      models: [
        {
          name: 'b',
          modelName: 'batch',
          criticality: 'Sheddable',
          targetModels: [],
          source: source('InferenceModel', 'b'),
        },
      ],
    });
    reg.sync(plan(p));
    const sa = reg.endpointState(`127.0.0.1:${a.port}`)!;
    await waitFor(() => sa.metrics, 10_000, 'first scrape');
    const router = reg.get(p.key)!;
    expect((await router.route(request({ model: 'batch' }), signal())).endpoints.length).toBe(1);

    a.mode = 'hang';
    await waitFor(() => isSaturated(sa, performance.now(), router.saturation), 10_000, 'stale metrics');
    expect(sa.healthy).toBe(true);
    const err = await router.route(request({ model: 'batch' }), signal()).catch((e: unknown) => e);
    expect((err as GatewayError).code).toBe('POOL_SATURATED');
  });

  it('a server without a metrics page stays in rotation, judged by this gateway alone', async () => {
    const a = await fakeServer('');
    a.mode = '404';
    const reg = registry();
    const p = pool({ endpoints: [endpoint(a.port)] });
    reg.sync(plan(p));
    await waitFor(() => a.scrapes >= 3, 10_000, 'scrapes');
    const s = reg.endpointState(`127.0.0.1:${a.port}`)!;
    expect(s.healthy).toBe(true);
    expect(s.metrics).toBeUndefined();
    expect(s.lastError).toBe('HTTP 404');
    expect((await reg.get(p.key)!.route(request(), signal())).endpoints[0]!.id).toBe(s.id);
  });

  it('logs an endpoint taken out of rotation and brought back; the views show it', async () => {
    const a = await fakeServer(vllm(2, 1, 0.1));
    const { logger, lines } = captureLogger();
    const reg = registry({ unhealthyAfter: 2, logger });
    const p = pool({ endpoints: [endpoint(a.port)] });
    reg.sync(plan(p));
    const id = `127.0.0.1:${a.port}`;
    const sa = reg.endpointState(id)!;
    await waitFor(() => sa.metrics, 10_000, 'first scrape');
    const [view] = reg.views!();
    expect(view).toMatchObject({ key: p.key, queued: 0 });
    expect(view!.endpoints).toEqual([
      {
        id,
        podName: `pod-${a.port}`,
        routable: true,
        ready: true,
        healthy: true,
        inflight: 0,
        peerInflight: 0,
        metrics: sa.metrics,
        metricsAgeMs: expect.any(Number),
        lastError: undefined,
        engine: 'vllm',
      },
    ]);
    expect(view!.endpoints[0]!.metricsAgeMs).toBeGreaterThanOrEqual(0);

    a.mode = 'drop';
    await waitFor(() => !sa.routable, 10_000, 'endpoint taken out');
    const out = lines().filter((l) => l.msg === 'endpoint taken out of rotation: its metrics do not answer');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ level: 40, endpoint: id, failures: 2 });
    expect(reg.views!()[0]!.endpoints[0]).toMatchObject({ routable: false, healthy: false });

    a.mode = 'ok';
    await waitFor(() => sa.routable, 10_000, 'endpoint back');
    const back = lines().filter((l) => l.msg === 'endpoint back in rotation');
    expect(back).toEqual([expect.objectContaining({ level: 30, endpoint: id })]);
    expect(await reg.get(p.key)!.route(request(), signal())).toMatchObject({ endpoints: [{ id }] });
  });

  it('warns once per endpoint about an unknown engine type, and reads vLLM names', async () => {
    const a = await fakeServer(vllm(4, 0, 0.2));
    const { logger, lines } = captureLogger();
    const reg = registry({ logger });
    const labels = { 'inference.networking.k8s.io/engine-type': 'mystery' };
    const p = pool({ endpoints: [endpoint(a.port, labels)] });
    reg.sync(plan(p));
    reg.sync(plan(p));
    const sa = reg.endpointState(`127.0.0.1:${a.port}`)!;
    await waitFor(() => sa.metrics, 10_000, 'first scrape');
    expect(sa.metrics).toMatchObject({ waiting: 4, kvUsage: 0.2 });
    const warnings = lines().filter((l) => l.engineType === 'mystery');
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        endpoint: `127.0.0.1:${a.port}`,
        msg: 'unknown inference.networking.k8s.io/engine-type; reading vLLM metric names',
      }),
    ]);
  });

  it('follows the metrics port label to another server on reload', async () => {
    const serving = await fakeServer(vllm(1, 0, 0.1));
    const other = await fakeServer(vllm(6, 0, 0.6));
    const reg = registry();
    const p = pool({ endpoints: [endpoint(serving.port)] });
    reg.sync(plan(p));
    const s = reg.endpointState(`127.0.0.1:${serving.port}`)!;
    await waitFor(() => s.metrics?.waiting === 1, 10_000, 'metrics from the serving port');
    reg.sync(
      plan(
        pool({ endpoints: [endpoint(serving.port, { 'infergate.io/metrics-port': String(other.port) })] }),
      ),
    );
    expect(reg.endpointState(s.id)).toBe(s);
    await waitFor(() => s.metrics?.waiting === 6, 10_000, 'metrics from the labelled port');
    // The engine changes too: scraped again with the new mapping.
    other.body = 'sglang:num_queue_reqs 8\nsglang:num_running_reqs 1\nsglang:token_usage 0.3\n';
    reg.sync(
      plan(
        pool({
          endpoints: [
            endpoint(serving.port, {
              'infergate.io/metrics-port': String(other.port),
              'inference.networking.k8s.io/engine-type': 'sglang',
            }),
          ],
        }),
      ),
    );
    await waitFor(() => s.metrics?.waiting === 8, 10_000, 'metrics read as sglang');
    expect(s.engine.type).toBe('sglang');
  });
});
