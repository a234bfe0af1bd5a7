/**
 * The precise prefix-cache scorer in process, against a real KV-event hub: a ZeroMQ publisher on
 * loopback makes three endpoints' subscriptions live, the index content of each test is applied
 * through the hub's own batch path (the subscriber's), and one endpoint whose publisher never
 * answers is scored by the approximate fallback. Scores, lookups counted, log lines and parameters
 * are asserted against what the endpoints are known to hold.
 * End to end with simulator replicas: test/scheduling/kv-events.test.ts.
 */
import { encode } from '@msgpack/msgpack';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { captureLogger, host, metrics, request, text } from '../../../../test/scheduling/helpers.js';
import { EndpointState } from '../../../datastore/endpoint-state.js';
import type { KvEvent } from '../../../scraping/kv-events/decode.js';
import { KV_EVENTS_PORT_LABEL, KvEventsService } from '../../../scraping/kv-events/service.js';
import { hashTokenBlocks } from '../../../scraping/kv-events/token-hash.js';
import type { ModelServerMetrics } from '../../../scraping/model-server-metrics.js';
import { vllmMapping } from '../../../scraping/vllm.js';
import type { PromptTokenizer } from '../../../tokenizer/index.js';
import { loadTokenizer } from '../../../tokenizer/index.js';
import { reservePort } from '../../../util/ports.js';
import { SchedulingContext } from '../../framework/context.js';
import { PluginParamsError } from '../../framework/params.js';
import { PromptBlockCache } from '../../prefix/prompt-blocks.js';
import {
  createPrecisePrefixCacheScorer,
  type PrecisePrefixCacheScorer,
  promptBlockHashes,
  requestPrompt,
  requestTokens,
} from './precise-prefix-cache-scorer.js';

const BS = 4;
const MODEL = 'm';
const tok = loadTokenizer('stand-in');

/** An endpoint on loopback whose KV events come from `kvPort` (the simulator's pod label). */
function kvEndpoint(i: number, kvPort: number, m?: Partial<ModelServerMetrics>): EndpointState {
  const s = new EndpointState(
    {
      id: `127.0.0.1:${18_000 + i}`,
      address: '127.0.0.1',
      port: 18_000 + i,
      labels: { [KV_EVENTS_PORT_LABEL]: String(kvPort) },
    },
    vllmMapping,
    true,
  );
  if (m) {
    s.beginScrape();
    s.applyScrape(metrics(m), performance.now());
  }
  return s;
}

/** Token ids 1000, 1001, … (a prompt of `blocks` full blocks plus `extra` tokens). */
const ids = (blocks: number, extra = 0, from = 1000) =>
  Array.from({ length: blocks * BS + extra }, (_, k) => from + k);

const ctxFor = (json: Record<string, unknown>, model = MODEL) =>
  new SchedulingContext(request({ model, extra: json }), model, 0, 1 << 20);

function score(s: PrecisePrefixCacheScorer, ctx: SchedulingContext, set: readonly EndpointState[]): number[] {
  const out = new Float64Array(set.length);
  s.score(ctx, set, out);
  return [...out];
}

describe('precise-prefix-cache-scorer with live KV events', () => {
  const pub = new Publisher();
  const registry = new Registry();
  const service = new KvEventsService(captureLogger().logger, registry);
  const log = captureLogger();
  const lookups: [number, number][] = [];
  const pluginHost = {
    ...host(1, log.logger),
    kvEvents: service,
    telemetry: { prefixLookup: (total: number, matched: number) => void lookups.push([total, matched]) },
  };
  let scorer: PrecisePrefixCacheScorer;
  let a: EndpointState;
  let b: EndpointState;
  let d: EndpointState;
  /** Publishes nothing: its subscription stays `waiting`. */
  let silent: EndpointState;
  let engineHash = 1;

  /** Endpoint `ep` stored the leading `blocks` blocks of `tokens` (one BlockStored from the root). */
  function hold(
    ep: EndpointState,
    tokens: readonly number[],
    blocks: number,
    loraName: string | null = null,
  ) {
    apply(ep.id, {
      kind: 'stored',
      blockHashes: Array.from({ length: blocks }, () => engineHash++),
      parentBlockHash: null,
      tokenIds: tokens.slice(0, blocks * BS),
      blockSize: BS,
      loraName,
      medium: 'GPU',
    });
  }
  const apply = (id: string, ev: KvEvent) =>
    scorer.hub!.applyBatch(id, { ts: 0, events: [ev], dataParallelRank: null });

  async function fallbacks(id: string): Promise<number> {
    const m = (await registry.getMetricsAsJSON()).find(
      (x) => x.name === 'infergate_precise_prefix_fallback_total',
    );
    return Number(m?.values.find((v) => v.labels.endpoint === id)?.value ?? 0);
  }

  beforeAll(async () => {
    await pub.bind('tcp://127.0.0.1:*');
    const port = Number(pub.lastEndpoint!.split(':').pop());
    a = kvEndpoint(1, port);
    b = kvEndpoint(2, port);
    d = kvEndpoint(4, port);
    silent = kvEndpoint(3, await reservePort());
    scorer = createPrecisePrefixCacheScorer('precise', { blockSize: BS, maxPrefixBlocksToMatch: 64 });
    scorer.attach(pluginHost);
    for (const ep of [a, b, d, silent]) scorer.hub!.ensure(ep.id, ep.endpoint);
    // empty batches in sequence until every subscription has joined (a PUB drops messages before)
    const deadline = Date.now() + 10_000;
    for (let seq = 0; ![a, b, d].every((ep) => scorer.hub!.status(ep.id) === 'live'); seq++) {
      if (Date.now() > deadline) throw new Error('KV event subscriptions never went live');
      const frame = Buffer.alloc(8);
      frame.writeBigInt64BE(BigInt(seq));
      await pub.send([`kv@pod@${MODEL}`, frame, Buffer.from(encode([Date.now() / 1000, [], 0]))]);
      await new Promise((r) => setTimeout(r, 20));
    }
  }, 20_000);

  afterAll(() => {
    service.close();
    pub.close();
  });

  beforeEach(() => {
    for (const ep of [a, b, d]) apply(ep.id, { kind: 'cleared' });
    lookups.length = 0;
  });

  it('subscribed endpoints are live, the silent one is waiting', () => {
    expect(scorer.hub!.status(a.id)).toBe('live');
    expect(scorer.hub!.status(silent.id)).toBe('waiting');
  });

  it('scores the leading blocks each endpoint holds / the prompt’s full blocks', () => {
    const prompt = ids(8, 3); // 8 full blocks; the 3 tokens past them are not hashed
    hold(a, prompt, 8);
    hold(b, prompt, 2);
    expect(score(scorer, ctxFor({ prompt }), [a, b, d])).toEqual([1, 2 / 8, 0]);
    // a prompt diverging after block 4: a holds 4 of its 8 blocks
    const other = [...prompt.slice(0, 4 * BS), ...ids(4, 0, 5000)];
    expect(score(scorer, ctxFor({ prompt: other }), [b, a])).toEqual([2 / 8, 4 / 8]);
  });

  it('tokenises a completions prompt and a rendered chat as the engine does', () => {
    const prompt = text(200, 31);
    const tokens = tok.encode(prompt, true);
    const n = Math.floor(tokens.length / BS);
    hold(a, tokens, n);
    hold(b, tokens, 3);
    expect(score(scorer, ctxFor({ prompt }), [a, b])).toEqual([1, 3 / n]);
    const messages = [
      { role: 'system', content: text(80, 32) },
      { role: 'user', content: [{ type: 'text', text: text(90, 33) }] },
    ];
    const chat = tok.encode(
      tok.renderChat([
        { role: 'system', content: messages[0]!.content as string },
        { role: 'user', content: text(90, 33) },
      ]),
      false,
    );
    const m = Math.floor(chat.length / BS);
    hold(d, chat, m - 1);
    expect(score(scorer, ctxFor({ messages }), [a, d])).toEqual([0, (m - 1) / m]);
  });

  it('looks up at most maxPrefixBlocksToMatch blocks', () => {
    const capped = createPrecisePrefixCacheScorer('capped', { blockSize: BS, maxPrefixBlocksToMatch: 2 });
    capped.attach(pluginHost);
    expect(capped.hub).toBe(scorer.hub); // same hub parameters: the pool's one hub
    const prompt = ids(6);
    hold(a, prompt, 2);
    expect(score(capped, ctxFor({ prompt }), [a, b])).toEqual([1, 0]);
    expect(score(scorer, ctxFor({ prompt }), [a, b])).toEqual([2 / 6, 0]);
  });

  it('hashes an adapter’s blocks from the adapter’s root', () => {
    const prompt = ids(4, 0, 7000);
    hold(a, prompt, 4, 'ad1');
    hold(b, prompt, 4);
    expect(score(scorer, ctxFor({ prompt }, 'ad1'), [a, b])).toEqual([1, 0]);
    expect(score(scorer, ctxFor({ prompt }, MODEL), [a, b])).toEqual([0, 1]);
  });

  it('requests without a prompt score 0 everywhere and count no lookup', () => {
    hold(a, ids(4), 4);
    const ctx = ctxFor({ prompt: [] });
    expect(score(scorer, ctx, [a, b])).toEqual([0, 0]);
    scorer.onDispatch(ctx, a);
    const short = ctxFor({ prompt: ids(0, BS - 1) }); // no full block
    expect(score(scorer, short, [a, b])).toEqual([0, 0]);
    scorer.onDispatch(short, a);
    expect(lookups).toEqual([]);
    expect(log.lines().filter((l) => l.level === 40)).toEqual([]);
  });

  it('counts one lookup per request at its first dispatch: blocks and those the endpoint held', () => {
    const prompt = ids(8, 0, 9000);
    hold(a, prompt, 3);
    hold(b, prompt, 6);
    const ctx = ctxFor({ prompt });
    score(scorer, ctx, [a, b]);
    scorer.onDispatch(ctx, a);
    scorer.onDispatch(ctx, b); // a retry: not counted again
    expect(lookups).toEqual([[8, 3]]);
    const elsewhere = ctxFor({ prompt });
    score(scorer, elsewhere, [a, b]);
    scorer.onDispatch(elsewhere, d); // not a candidate: nothing held
    expect(lookups).toEqual([
      [8, 3],
      [8, 0],
    ]);
    // a request the scorer never saw
    scorer.onDispatch(ctxFor({ prompt }), a);
    expect(lookups).toHaveLength(2);
  });

  it('an endpoint whose events are not live is scored by the approximate fallback, and counted', async () => {
    const prompt = text(64 * 6, 41);
    const before = await fallbacks(silent.id);
    const first = ctxFor({ prompt });
    expect(score(scorer, first, [a, silent])).toEqual([0, 0]);
    // both dispatches teach the fallback's approximate index; only the silent endpoint reads it
    scorer.onDispatch(first, silent);
    scorer.onDispatch(first, a);
    const second = ctxFor({ prompt });
    expect(score(scorer, second, [a, silent])).toEqual([0, 1]);
    expect(await fallbacks(silent.id)).toBe(before + 2);
    expect(await fallbacks(a.id)).toBe(0);
    // the fallback counted this request's lookup itself: the precise scorer does not count it again
    scorer.onDispatch(second, silent);
    expect(lookups).toEqual([
      [6, 0],
      [6, 6],
    ]);
  });

  it('when every candidate is live the fallback is not consulted', () => {
    const prompt = text(64 * 4, 42);
    const first = ctxFor({ prompt });
    score(scorer, first, [a, b]);
    expect(first.get(scorer.fallback)).toBeUndefined();
    scorer.onDispatch(first, a);
    // the approximate index learned the dispatch, yet a live endpoint is scored only by its events
    expect(score(scorer, ctxFor({ prompt }), [a, b])).toEqual([0, 0]);
  });

  it('logs `Do prefix-aware routing!` with the picked endpoint’s ratio against the best other', () => {
    const prompt = ids(4, 0, 11_000);
    hold(a, prompt, 3);
    hold(b, prompt, 1);
    const set = [b, a, d];
    const ctx = ctxFor({ prompt });
    score(scorer, ctx, set);
    const lines = () => log.lines().filter((l) => l.msg === 'Do prefix-aware routing!');
    const before = lines().length;
    scorer.onDecisive(ctx, a, [b, a, d]); // not the candidates scored: no line
    scorer.onDecisive(ctxFor({ prompt }), a, set); // not scored: no line
    expect(lines()).toHaveLength(before);
    scorer.onDecisive(ctx, a, set);
    scorer.onDecisive(ctx, d, set);
    expect(lines().slice(before)).toMatchObject([
      {
        request: ctx.request.id,
        pool: 'default/pool',
        endpoint: a.id,
        'matching ratio': '0.75 > 0.25',
        precise: true,
      },
      { endpoint: d.id, 'matching ratio': '0.00 > 0.75' },
    ]);
  });

  it.each([
    ['holder within the allowance keeps its score', 6, 2, true, 1],
    ['in between it fades linearly', 8, 2, true, 0.5],
    ['twice the allowance above the least loaded loses it', 10, 2, true, 0],
    ['the guard can be switched off', 10, 2, false, 1],
  ] as const)('hot-spot guard: %s', (_label, holderRunning, otherRunning, guard, want) => {
    const s = createPrecisePrefixCacheScorer('guarded', { blockSize: BS, hotspotGuard: guard });
    s.attach(pluginHost);
    const port = Number(pub.lastEndpoint!.split(':').pop());
    // same ids as the live endpoints, with load: imbalanceRequests 4, imbalanceRatio 0.5
    const holder = kvEndpoint(1, port, { running: holderRunning });
    const other = kvEndpoint(2, port, { running: otherRunning });
    const prompt = ids(4, 0, 13_000);
    hold(a, prompt, 4);
    hold(b, prompt, 2);
    const [h, o] = score(s, ctxFor({ prompt }), [holder, other]);
    expect(h).toBeCloseTo(want, 6);
    expect(o).toBe(0.5); // the least loaded is never faded
    // one candidate: nothing to balance against
    expect(score(s, ctxFor({ prompt }), [holder])).toEqual([1]);
  });

  it('pools of more than 64 endpoints: every slot of the index is read', () => {
    const filler = (id: string, tokens: readonly number[]) =>
      apply(id, {
        kind: 'stored',
        blockHashes: [engineHash++],
        parentBlockHash: null,
        tokenIds: tokens.slice(0, BS),
        blockSize: BS,
        loraName: null,
        medium: 'GPU',
      });
    // d gives up its slot; 70 other endpoints take slots first, so d's next one is past 64
    scorer.hub!.index.removeEndpoint(d.id);
    const fillers = Array.from({ length: 70 }, (_, i) => `127.0.0.9:${i + 1}`);
    for (const id of fillers) filler(id, ids(1, 0, 1));
    try {
      const prompt = ids(5, 0, 15_000);
      hold(d, prompt, 5);
      expect(scorer.hub!.index.slotOf(d.id)).toBeGreaterThanOrEqual(64);
      expect(score(scorer, ctxFor({ prompt }), [a, d])).toEqual([0, 1]);
    } finally {
      for (const id of fillers) scorer.hub!.removeEndpoint(id);
    }
  });

  it('one hub per pool and hub parameters; a host without telemetry counts nothing', () => {
    const other = createPrecisePrefixCacheScorer('other', { blockSize: BS * 2 });
    other.attach(pluginHost);
    expect(other.hub).not.toBe(scorer.hub);
    expect(other.hub!.params.blockSize).toBe(BS * 2);
    const same = createPrecisePrefixCacheScorer('same', { blockSize: BS * 2 });
    same.attach(pluginHost);
    expect(same.hub).toBe(other.hub);
    // the main scorer's hub, reached through a host without telemetry
    const quiet = createPrecisePrefixCacheScorer('quiet', { blockSize: BS, maxPrefixBlocksToMatch: 64 });
    quiet.attach({ ...pluginHost, telemetry: undefined });
    const prompt = ids(3);
    hold(a, prompt, 3);
    const ctx = ctxFor({ prompt });
    expect(score(quiet, ctx, [a, b])).toEqual([1, 0]);
    expect(() => quiet.onDispatch(ctx, a)).not.toThrow();
    expect(lookups).toEqual([]);
  });

  it('a tokenizer that cannot load is reported at attach; requests are then scored as uncached, warned once', () => {
    const broken = captureLogger();
    const s = createPrecisePrefixCacheScorer('broken', {
      blockSize: BS,
      tokenizer: '/nonexistent/tokenizer.json',
    });
    s.attach({ ...pluginHost, logger: broken.logger });
    expect(broken.lines().map((l) => l.msg)).toEqual([
      'precise-prefix-cache-scorer cannot load its tokenizer; scoring requests as uncached',
    ]);
    expect(broken.lines()[0]).toMatchObject({
      pool: 'default/pool',
      tokenizer: '/nonexistent/tokenizer.json',
    });
    // no candidate live: nothing to tokenise for
    expect(score(s, ctxFor({ prompt: 'hello world' }), [silent])).toEqual([0]);
    expect(broken.lines()).toHaveLength(1);
    hold(a, tok.encode('hello world and more words here', true), 1);
    expect(score(s, ctxFor({ prompt: 'hello world and more words here' }), [a, b])).toEqual([0, 0]);
    expect(score(s, ctxFor({ prompt: 'hello again' }), [a, b])).toEqual([0, 0]);
    // Token-id prompts need no tokenizer: still scored from the index.
    const idPrompt = ids(2);
    hold(b, idPrompt, 2);
    expect(score(s, ctxFor({ prompt: idPrompt }), [a, b])).toEqual([0, 1]);
    const warned = broken
      .lines()
      .filter(
        (l) => l.msg === 'precise-prefix-cache-scorer cannot tokenize requests; scoring them as uncached',
      );
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ pool: 'default/pool' });
  });
});

describe('precise-prefix-cache-scorer without KV events (a host that may not connect)', () => {
  it('scores every candidate by the approximate fallback, also in pools of more than 64', () => {
    const s = createPrecisePrefixCacheScorer('precise', {});
    s.attach(host());
    expect(s.hub).toBeUndefined();
    const set = Array.from({ length: 70 }, (_, i) => kvEndpoint(100 + i, 1));
    const prompt = text(64 * 3, 51);
    const first = ctxFor({ prompt });
    score(s, first, set);
    s.onDispatch(first, set[69]!);
    const out = score(s, ctxFor({ prompt }), set);
    expect(out[69]).toBe(1);
    expect(out.slice(0, 69).every((v) => v === 0)).toBe(true);
  });

  it('is an affinity scorer of llm-d’s type with the fallback’s prompt window', () => {
    const s = createPrecisePrefixCacheScorer('p', {});
    expect([s.kind, s.type, s.category, s.promptChars]).toEqual([
      'scorer',
      'precise-prefix-cache-scorer',
      'affinity',
      64 * 256,
    ]);
    expect(s.fallback.name).toBe('p/fallback');
    expect(s.fallback.params.hotspotGuard).toBe(false);
    // unattached: scored by the fallback, and a decisive pick has no logger to tell
    const set = [kvEndpoint(200, 1), kvEndpoint(201, 1)];
    const ctx = ctxFor({ prompt: text(64 * 2, 52) });
    expect(score(s, ctx, set)).toEqual([0, 0]);
    expect(() => s.onDecisive(ctx, set[0]!, set)).not.toThrow();
    expect(s.tokenizer.name).toBe('stand-in');
  });
});

describe('createPrecisePrefixCacheScorer parameters', () => {
  it('defaults', () => {
    expect(createPrecisePrefixCacheScorer('p', {}).params).toEqual({
      hub: {
        socketPort: 5557,
        replayPort: null,
        topicFilter: '',
        blockSize: 16,
        maxBlocksPerEndpoint: 500_000,
        replayTimeoutMs: 2000,
      },
      maxPrefixBlocksToMatch: 4096,
      tokenizer: 'stand-in',
      chatTemplate: undefined,
      hotspotGuard: true,
      imbalanceRequests: 4,
      imbalanceRatio: 0.5,
      imbalanceKv: 0.25,
    });
  });

  it('every parameter set', () => {
    const p = createPrecisePrefixCacheScorer('p', {
      blockSize: 64,
      socketPort: 6000,
      replayPort: 6001,
      topicFilter: 'kv@',
      maxBlocksPerEndpoint: 10,
      replayTimeout: '5s',
      maxPrefixBlocksToMatch: 12,
      tokenizer: '/models/t/tokenizer.json',
      chatTemplate: '/models/t/chat.jinja',
      hotspotGuard: false,
      imbalanceRequests: 2,
      imbalanceRatio: 0.25,
      imbalanceKv: 0.5,
    }).params;
    expect(p).toEqual({
      hub: {
        socketPort: 6000,
        replayPort: 6001,
        topicFilter: 'kv@',
        blockSize: 64,
        maxBlocksPerEndpoint: 10,
        replayTimeoutMs: 5000,
      },
      maxPrefixBlocksToMatch: 12,
      tokenizer: '/models/t/tokenizer.json',
      chatTemplate: '/models/t/chat.jinja',
      hotspotGuard: false,
      imbalanceRequests: 2,
      imbalanceRatio: 0.25,
      imbalanceKv: 0.5,
    });
  });

  it('an empty topicFilter is allowed (every topic)', () => {
    expect(createPrecisePrefixCacheScorer('p', { topicFilter: '' }).params.hub.topicFilter).toBe('');
  });

  const issuesOf = (params: Record<string, unknown>) => {
    try {
      createPrecisePrefixCacheScorer('p', params);
    } catch (err) {
      expect(err).toBeInstanceOf(PluginParamsError);
      return (err as PluginParamsError).issues.map((i) => i.field);
    }
    return [];
  };

  it.each([
    [{ blockSize: 0 }, ['blockSize']],
    [{ blockSize: 4097 }, ['blockSize']],
    [{ socketPort: 0 }, ['socketPort']],
    [{ socketPort: 65_536 }, ['socketPort']],
    [{ replayPort: -1 }, ['replayPort']],
    [{ replayPort: 65_536 }, ['replayPort']],
    [{ maxBlocksPerEndpoint: 0 }, ['maxBlocksPerEndpoint']],
    [{ replayTimeout: '0s' }, ['replayTimeout']],
    [{ replayTimeout: '61s' }, ['replayTimeout']],
    [{ maxPrefixBlocksToMatch: 0 }, ['maxPrefixBlocksToMatch']],
    [{ maxPrefixBlocksToMatch: 65_537 }, ['maxPrefixBlocksToMatch']],
    [{ tokenizer: 3 }, ['tokenizer']],
    [{ chatTemplate: 3 }, ['chatTemplate']],
    [{ hotspotGuard: 'yes' }, ['hotspotGuard']],
    [{ imbalanceRequests: -1 }, ['imbalanceRequests']],
    [{ imbalanceRatio: -1 }, ['imbalanceRatio']],
    [{ imbalanceKv: 1.5 }, ['imbalanceKv']],
    [{ imbalanceKv: -0.1 }, ['imbalanceKv']],
    [{ topicFilter: 5 }, ['topicFilter']],
    [{ topicFilter: '', bogus: 1 }, ['bogus']],
  ])('rejects %j', (params, fields) => {
    expect(issuesOf(params)).toEqual(fields);
  });

  it('accepts the bounds', () => {
    const p = createPrecisePrefixCacheScorer('p', {
      blockSize: 4096,
      socketPort: 65_535,
      replayPort: 0,
      replayTimeout: '60s',
      maxPrefixBlocksToMatch: 65_536,
      imbalanceKv: 1,
      imbalanceRequests: 0,
      imbalanceRatio: 0,
      maxBlocksPerEndpoint: 1,
    }).params;
    expect([p.hub.blockSize, p.hub.socketPort, p.hub.replayPort, p.hub.replayTimeoutMs]).toEqual([
      4096,
      65_535,
      null,
      60_000,
    ]);
    expect([p.maxPrefixBlocksToMatch, p.imbalanceKv, p.hub.maxBlocksPerEndpoint]).toEqual([65_536, 1, 1]);
  });
});

describe('requestPrompt: the prompt as the engine sees it before encoding', () => {
  it.each([
    ['no body', undefined, undefined],
    ['neither messages nor prompt', { model: 'm' }, undefined],
    [
      'a completions prompt (special tokens added)',
      { prompt: 'hi there' },
      { text: 'hi there', addSpecialTokens: true },
    ],
    ['token ids', { prompt: [1, 2, 3] }, { ids: [1, 2, 3] }],
    ['one prompt in a list', { prompt: ['hi'] }, { text: 'hi', addSpecialTokens: true }],
    ['an empty list', { prompt: [] }, undefined],
    ['two prompts', { prompt: ['a', 'b'] }, undefined],
    ['mixed ids and text', { prompt: [1, 'a'] }, undefined],
    ['a list of one id list', { prompt: [[1, 2]] }, undefined],
    ['a number', { prompt: 7 }, undefined],
  ])('%s', (_label, json, want) => {
    expect(requestPrompt(json as Record<string, unknown> | undefined, tok)).toEqual(want);
  });

  it('renders chat messages with the template, joining text parts with a newline (as vLLM) and skipping what is not a message', () => {
    const got = requestPrompt(
      {
        messages: [
          { role: 'system', content: 'be brief' },
          null,
          'not a message',
          { role: 7, content: 'no role' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'one ' },
              { type: 'image_url', text: 'ignored', image_url: { url: 'x' } },
              { type: 'text', text: 5 },
              null,
              { type: 'text', text: 'two' },
            ],
          },
          { role: 'assistant', content: { text: 'not a list' } },
        ],
        prompt: 'ignored: messages win',
      },
      tok,
    );
    expect(got).toEqual({
      text: tok.renderChat([
        { role: 'system', content: 'be brief' },
        { role: '', content: 'no role' },
        { role: 'user', content: 'one \ntwo' },
        { role: 'assistant', content: '' },
      ]),
      addSpecialTokens: false,
    });
  });

  it('requestTokens: ids as they are, text encoded', () => {
    expect(requestTokens({ prompt: [5, 6] }, tok)).toEqual([5, 6]);
    expect(requestTokens({ prompt: 'hello world' }, tok)).toEqual(tok.encode('hello world', true));
    expect(requestTokens({}, tok)).toBeUndefined();
    expect(requestTokens(undefined, tok)).toBeUndefined();
  });
});

describe('promptBlockHashes', () => {
  /** Splits on `|` (an "added token" of id 1) and encodes the rest word by word, 100 + length. */
  function piecewise(withPieces: boolean): PromptTokenizer & { encoded: number } {
    const word = (s: string) =>
      s
        .split(/\s+/)
        .filter((w) => w.length > 0)
        .map((w) => 100 + w.length);
    const t = {
      name: 'piecewise',
      encoded: 0,
      encode(textIn: string, _special: boolean) {
        t.encoded++;
        return textIn.split(/(\|)/).flatMap((p) => (p === '|' ? [1] : word(p)));
      },
      renderChat: () => '',
      ...(withPieces
        ? {
            pieces: (textIn: string) => textIn.split(/(\|)/).filter((p) => p.length > 0),
            encodePiece: (p: string) => (p === '|' ? [1] : word(p)),
          }
        : {}),
    };
    return t;
  }
  const root = 77;
  const textIn = 'aa bbb c | dddd ee f g | hhhhh i jj kkk';

  it('token ids are hashed as they are, up to out.length blocks', () => {
    const out = new Float64Array(2);
    const prompt = ids(3);
    expect(promptBlockHashes({ ids: prompt }, tok, new PromptBlockCache(BS), root, out)).toBe(2);
    const want = new Float64Array(3);
    hashTokenBlocks(prompt, prompt.length, BS, root, want);
    expect([...out]).toEqual([...want.slice(0, 2)]);
  });

  it('text cut into exact pieces goes through the cache and equals hashing the whole encoding', () => {
    const t = piecewise(true);
    const cache = new PromptBlockCache(BS);
    const out = new Float64Array(16);
    const n = promptBlockHashes({ text: textIn, addSpecialTokens: false }, t, cache, root, out);
    expect(t.encoded).toBe(0);
    expect(cache.size).toBeGreaterThan(0);
    const whole = piecewise(false);
    const out2 = new Float64Array(16);
    const n2 = promptBlockHashes({ text: textIn, addSpecialTokens: false }, whole, cache, root, out2);
    expect(whole.encoded).toBe(1);
    expect(n).toBe(Math.floor(whole.encode(textIn, false).length / BS));
    expect(n2).toBe(n);
    expect([...out.slice(0, n)]).toEqual([...out2.slice(0, n)]);
  });

  it('a tokenizer with encodePiece but no pieces is encoded whole', () => {
    const { pieces: _, ...t } = piecewise(true);
    const out = new Float64Array(16);
    const n = promptBlockHashes(
      { text: textIn, addSpecialTokens: false },
      t,
      new PromptBlockCache(BS),
      root,
      out,
    );
    expect(n).toBe(Math.floor(piecewise(false).encode(textIn, false).length / BS));
  });

  it('a tokenizer whose pieces are undefined for this text is encoded whole', () => {
    const t = { ...piecewise(true), encoded: 0, pieces: () => undefined };
    const out = new Float64Array(16);
    const n = promptBlockHashes(
      { text: textIn, addSpecialTokens: true },
      t,
      new PromptBlockCache(BS),
      root,
      out,
    );
    const want = new Float64Array(16);
    const enc = piecewise(false).encode(textIn, true);
    expect(n).toBe(hashTokenBlocks(enc, enc.length, BS, root, want));
    expect([...out.slice(0, n)]).toEqual([...want.slice(0, n)]);
  });
});
