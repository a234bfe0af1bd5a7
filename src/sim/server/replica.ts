/**
 * One simulated vLLM server: an HTTP listener with vLLM's OpenAI-compatible routes in front of its
 * own engine (KV cache, queues, metrics). Routes: POST /v1/chat/completions, /v1/completions,
 * /v1/load_lora_adapter, /v1/unload_lora_adapter (with --enable-lora); GET /v1/models, /health,
 * /metrics, /version. Unknown paths answer FastAPI's {"detail":"Not Found"}.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadTokenizer, type PromptTokenizer } from '../../tokenizer/index.js';
import type { Logger } from '../../util/log.js';
import { EngineDriver } from '../engine/driver.js';
import { Engine } from '../engine/engine.js';
import { LoraError, LoraManager } from '../engine/lora.js';
import { EngineRequest, type TokenSink } from '../engine/request.js';
import { WritePacer } from '../engine/write-pacer.js';
import { KvEventPublisher, type KvEventsAddress } from '../kv/kv-event-publisher.js';
import { kvEventsActive } from '../kv/kv-events-config.js';
import { engineConfigOf, type ResolvedReplicaOptions } from '../options.js';
import { FidelityStats } from '../vllm-page/fidelity.js';
import { VllmMetrics } from '../vllm-page/vllm-metrics.js';
import { invalidJson, modelNotFound, SimHttpError } from './errors.js';
import { FailureInjector, injectedError } from './failures.js';
import { effectiveMaxTokens, type GenerateKind, parseGenerateRequest } from './generate-request.js';
import { ChatStreamSink, CompletionStreamSink, JsonResponseSink, type SinkContext } from './sinks.js';

export interface ReplicaAddress {
  index: number;
  host: string;
  port: number;
  url: string;
  /** The first served model name. */
  model: string;
  /** Where its KV events are published (with --kv-events-config), actual ports. */
  kvEvents?: KvEventsAddress;
}

const VERSION_BY_METRICS = { v0: '0.7.2', v1: '0.10.1.1' } as const;
const PROM_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const JSON_TYPE = 'application/json';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const NOT_FOUND = '{"detail":"Not Found"}';

interface Route {
  name:
    | 'chat'
    | 'completion'
    | 'health'
    | 'metrics'
    | 'version'
    | 'models'
    | 'load-lora'
    | 'unload-lora'
    | 'reset-prefix-cache';
  method: 'GET' | 'POST';
  /** Only served with --enable-lora (vLLM: VLLM_ALLOW_RUNTIME_LORA_UPDATING). */
  lora?: boolean;
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/v1/chat/completions', { name: 'chat', method: 'POST' }],
  ['/v1/completions', { name: 'completion', method: 'POST' }],
  ['/health', { name: 'health', method: 'GET' }],
  ['/metrics', { name: 'metrics', method: 'GET' }],
  ['/version', { name: 'version', method: 'GET' }],
  ['/v1/models', { name: 'models', method: 'GET' }],
  ['/v1/load_lora_adapter', { name: 'load-lora', method: 'POST', lora: true }],
  ['/v1/unload_lora_adapter', { name: 'unload-lora', method: 'POST', lora: true }],
  ['/reset_prefix_cache', { name: 'reset-prefix-cache', method: 'POST' }],
]);
const METHOD_NOT_ALLOWED = '{"detail":"Method Not Allowed"}';

function sendJson(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, err: SimHttpError): void {
  sendJson(res, err.status, JSON.stringify(err.body()));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimHttpError('INVALID_REQUEST', 413, 'Request body too large', 'RequestTooLargeError'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

export class SimReplica {
  readonly index: number;
  readonly opts: ResolvedReplicaOptions;
  readonly engine: Engine;
  readonly driver: EngineDriver;
  readonly metrics: VllmMetrics;
  readonly fidelity = new FidelityStats();
  readonly lora: LoraManager | null;
  private readonly log: Logger;
  private readonly pacer: WritePacer;
  private readonly served: ReadonlySet<string>;
  private readonly injector: FailureInjector;
  /** KV event publisher (--kv-events-config), null when events are off. */
  readonly kvEvents: KvEventPublisher | null;
  /** Prompt tokenizer and chat template (--tokenizer). */
  readonly tokenizer: PromptTokenizer;
  private readonly hanging = new Set<ServerResponse>();
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private server: Server | null = null;
  private ready = false;
  private closed = false;
  private slowStartTimer: NodeJS.Timeout | null = null;
  private address: ReplicaAddress | null = null;
  private page = '';
  private pageVersion = -1;

  /** `pacer`: the process's write interval, shared by its replicas (default: 0, write every wake-up). */
  constructor(index: number, opts: ResolvedReplicaOptions, log: Logger, pacer = new WritePacer(0)) {
    this.index = index;
    this.opts = opts;
    this.log = log;
    this.pacer = pacer;
    this.served = new Set(opts.servedModelNames);
    this.lora = opts.enableLora
      ? new LoraManager({
          maxLoras: opts.maxLoras,
          maxCpuLoras: opts.maxCpuLoras,
          loadMs: opts.timing.loraLoadMs,
          activateMs: opts.timing.loraActivateMs,
        })
      : null;
    for (const m of opts.loraModules) this.lora?.add(m.name, m.path);
    this.metrics = new VllmMetrics({
      version: opts.metricsVersion,
      modelName: opts.servedModelNames[0]!,
      maxModelLen: opts.maxModelLen,
      maxLoras: this.lora ? opts.maxLoras : null,
      cacheConfig: {
        blockSize: opts.blockSize,
        numGpuBlocks: opts.numGpuBlocks,
        numGpuBlocksOverride: null,
        gpuMemoryUtilization: opts.gpuMemoryUtilization,
        enablePrefixCaching: opts.enablePrefixCaching,
        numCpuBlocks: opts.engine === 'v0' ? opts.numCpuBlocks : null,
        swapSpaceGiB: opts.swapSpaceGiB,
      },
    });
    let driver: EngineDriver | null = null;
    this.engine = new Engine(
      engineConfigOf(opts, {
        lora: this.lora,
        seed: (opts.seed * 2654435761 + 1) >>> 0,
        unixSecondsAt: (ms) => (driver ? driver.unixSecondsAt(ms) : ms / 1000),
      }),
      this.metrics,
      this.fidelity,
    );
    driver = new EngineDriver(this.engine, {
      timeScale: opts.timeScale,
      maxEmitLagMs: opts.maxEmitLagMs,
      spinWait: opts.spinWait,
      pacer,
    });
    this.driver = driver;
    this.injector = new FailureInjector(opts, (opts.seed ^ 0x5bd1e995) >>> 0);
    this.tokenizer = loadTokenizer(opts.tokenizer, opts.chatTemplate ?? undefined);
    this.kvEvents = kvEventsActive(opts.kvEventsConfig)
      ? new KvEventPublisher(opts.kvEventsConfig, index, opts.kvEventsLayout, log)
      : null;
    if (this.kvEvents) {
      this.engine.kv.events = this.kvEvents;
      this.engine.kv.pool.events = this.kvEvents;
    }
  }

  get isReady(): boolean {
    return this.ready;
  }

  /**
   * Starts serving on host:port (0 = OS-chosen). With a slow start, resolves once the replica is
   * ready: in `refuse` mode it does not listen before then; in `unavailable` mode it listens and
   * answers 503 meanwhile.
   */
  async start(host: string, port: number): Promise<ReplicaAddress> {
    const delayMs = this.opts.slowStartSeconds * 1000;
    const kvEvents = this.kvEvents ? await this.kvEvents.start() : undefined;
    if (delayMs > 0 && this.opts.slowStartMode === 'refuse') await this.sleep(delayMs);
    const addr = await this.listen(host, port);
    if (kvEvents) addr.kvEvents = kvEvents;
    if (delayMs > 0 && this.opts.slowStartMode === 'unavailable') await this.sleep(delayMs);
    if (this.closed) throw new Error('replica closed while starting');
    this.ready = true;
    return addr;
  }

  get url(): string | null {
    return this.address?.url ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.slowStartTimer) clearTimeout(this.slowStartTimer);
    this.driver.close();
    await this.kvEvents?.close();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const srv = this.server;
    if (!srv) return;
    await new Promise<void>((resolve) => {
      srv.close(() => resolve());
      srv.closeAllConnections();
    });
  }

  /** The replica's /metrics text: vLLM's part as of the last step (or live), the sim_ part live. */
  renderMetrics(): string {
    return this.vllmPage() + this.fidelity.render(this.metrics.labelPairs, this.opts.timeScale, this.pacer);
  }

  private vllmPage(): string {
    const e = this.engine;
    if (this.opts.metricsRefresh === 'live') {
      return this.metrics.render({
        running: e.numRunning,
        waiting: e.numWaiting,
        kvUsage: e.kvUsage(),
        swapped: e.numSwapped,
        cpuUsage: e.cpuUsage(),
      });
    }
    // rendered once per step however many gateways scrape it
    if (this.pageVersion !== e.statsVersion) {
      this.page = this.metrics.render(e.stats);
      this.pageVersion = e.statsVersion;
    }
    return this.page;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.slowStartTimer = setTimeout(resolve, ms);
    });
  }

  private listen(host: string, port: number): Promise<ReplicaAddress> {
    const server = createServer({ noDelay: true }, this.handle);
    server.keepAliveTimeout = 65_000; // outlive a gateway's idle pooled connections (Node's default is 5 s)
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ err, replica: this.index }, 'server error'));
        const a = server.address() as AddressInfo;
        const urlHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        this.address = {
          index: this.index,
          host: a.address,
          port: a.port,
          url: `http://${urlHost}:${a.port}`,
          model: this.opts.servedModelNames[0]!,
        };
        resolve(this.address);
      });
    });
  }

  private readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = ROUTES.get(q >= 0 ? url.slice(0, q) : url);
    if (route === undefined || (route.lora && !this.lora)) {
      sendJson(res, 404, NOT_FOUND);
      return;
    }
    if ((req.method ?? 'GET') !== route.method) {
      sendJson(res, 405, METHOD_NOT_ALLOWED);
      return;
    }
    if (!this.ready && route.name !== 'metrics' && route.name !== 'health') {
      sendError(res, this.notReady());
      return;
    }
    switch (route.name) {
      case 'chat':
      case 'completion':
        void this.generate(route.name, req, res);
        break;
      case 'health':
        res.writeHead(this.ready ? 200 : 503, { 'content-length': 0 });
        res.end();
        break;
      case 'metrics': {
        const text = this.renderMetrics();
        res.writeHead(200, { 'content-type': PROM_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        break;
      }
      case 'version':
        sendJson(res, 200, JSON.stringify({ version: VERSION_BY_METRICS[this.opts.metricsVersion] }));
        break;
      case 'models':
        sendJson(res, 200, this.modelsJson());
        break;
      case 'reset-prefix-cache':
        // vLLM (dev mode): resets only when no request holds a block
        if (this.engine.kv.pool.resetPrefixCache()) sendJson(res, 200, '{}');
        else
          sendError(
            res,
            new SimHttpError(
              'INVALID_REQUEST',
              409,
              'Prefix cache is in use by running requests',
              'ConflictError',
            ),
          );
        return;
      case 'load-lora':
      case 'unload-lora':
        void this.loraAdmin(route.name === 'load-lora', req, res);
        break;
    }
  };

  private notReady(): SimHttpError {
    return new SimHttpError('NOT_READY', 503, 'The model is still loading.', 'ServiceUnavailableError');
  }

  private async parseJson(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw invalidJson(err instanceof Error ? err.message : 'Expecting value');
    }
  }

  private async generate(kind: GenerateKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivalMs = this.driver.engineNow();
    try {
      const g = parseGenerateRequest(kind, await this.parseJson(req), this.tokenizer);
      let lora = null;
      if (g.model !== null && !this.served.has(g.model)) {
        lora = this.lora?.get(g.model) ?? null;
        if (!lora) throw modelNotFound(g.model);
      }
      const o = this.opts;
      const maxTokens = effectiveMaxTokens(g, o.maxModelLen);
      const fate = this.injector.next(maxTokens);
      if (fate.kind === 'error') {
        this.fidelity.countInjected(fate.type);
        throw injectedError(fate.type);
      }
      if (fate.kind === 'hang') {
        this.fidelity.countInjected('hang');
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      if (res.destroyed) return; // the client left while the body was read
      if (fate.kind === 'disconnect') this.fidelity.countInjected('disconnect');
      const id = `${kind === 'chat' ? 'chatcmpl-' : 'cmpl-'}${randomUUID().replaceAll('-', '')}`;
      const ctx: SinkContext = {
        res,
        id,
        created: Math.floor(Date.now() / 1000),
        model: lora ? lora.name : (g.model ?? o.servedModelNames[0]!),
        includeUsage: g.includeUsage,
        promptTokensDetails: o.enablePromptTokensDetails,
        disconnectAfter: fate.kind === 'disconnect' ? fate.afterTokens : 0,
        onInjectedDisconnect: (r) => this.driver.abort(r),
      };
      const sink: TokenSink = g.stream
        ? kind === 'chat'
          ? new ChatStreamSink(ctx)
          : new CompletionStreamSink(ctx)
        : new JsonResponseSink(ctx, kind);
      const er = new EngineRequest({
        id,
        promptTokens: g.promptTokens,
        maxTokens,
        eos:
          g.ignoreEos || o.naturalOutputLen <= 0
            ? null
            : { mean: o.naturalOutputLen, range: o.naturalOutputRange },
        stop: g.stop,
        lora,
        arrivalMs,
        queuedMs: arrivalMs + o.timing.frontendMs,
        seed: o.seed,
        sink,
        maxTokensParam: g.maxTokensParam,
        blockSize: o.blockSize,
      });
      res.on('close', () => {
        if (er.status !== 'finished' && er.status !== 'aborted') this.driver.abort(er);
      });
      this.driver.submit(er);
    } catch (err) {
      if (res.destroyed) return;
      if (err instanceof SimHttpError) sendError(res, err);
      else {
        this.log.error({ err, replica: this.index }, 'request failed');
        sendError(
          res,
          new SimHttpError('INVALID_REQUEST', 500, 'Internal Server Error', 'InternalServerError'),
        );
      }
    }
  }

  private async loraAdmin(load: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const lora = this.lora!;
    try {
      const body = (await this.parseJson(req)) as { lora_name?: unknown; lora_path?: unknown } | null;
      const name = typeof body?.lora_name === 'string' ? body.lora_name : '';
      const path = typeof body?.lora_path === 'string' ? body.lora_path : '';
      if (load) lora.add(name, path);
      else lora.remove(name);
      const text = `Success: LoRA adapter '${name}' ${load ? 'added' : 'removed'} successfully.`;
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    } catch (err) {
      if (err instanceof LoraError) {
        const notFound = err.code === 'LORA_NOT_FOUND';
        sendError(
          res,
          new SimHttpError(
            notFound ? 'LORA_NOT_FOUND' : 'LORA_EXISTS',
            notFound ? 404 : 400,
            err.message,
            notFound ? 'NotFoundError' : 'InvalidUserInput',
          ),
        );
      } else if (err instanceof SimHttpError) sendError(res, err);
      else
        sendError(
          res,
          new SimHttpError('INVALID_REQUEST', 500, 'Internal Server Error', 'InternalServerError'),
        );
    }
  }

  private modelsJson(): string {
    const created = this.createdAt;
    const permission = () => [
      {
        id: `modelperm-${randomUUID().replaceAll('-', '')}`,
        object: 'model_permission',
        created,
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ];
    const base = this.opts.servedModelNames[0]!;
    const data: Record<string, unknown>[] = this.opts.servedModelNames.map((name) => ({
      id: name,
      object: 'model',
      created,
      owned_by: 'vllm',
      root: this.opts.model,
      parent: null,
      max_model_len: this.opts.maxModelLen,
      permission: permission(),
    }));
    for (const a of this.lora?.list() ?? []) {
      data.push({
        id: a.name,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: a.path,
        parent: base,
        max_model_len: null,
        permission: permission(),
      });
    }
    return JSON.stringify({ object: 'list', data });
  }
}
