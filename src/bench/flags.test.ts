import { describe, expect, it } from 'vitest';
import { BenchError } from './errors.js';
import { type BenchFlags, optionsFromFlags } from './flags.js';

const URL = 'http://127.0.0.1:8000';

function errorOf(flags: BenchFlags): BenchError {
  try {
    optionsFromFlags(flags, {});
  } catch (e) {
    if (e instanceof BenchError) return e;
    throw e;
  }
  throw new Error(`no error for ${JSON.stringify(flags)}`);
}

describe('optionsFromFlags: defaults', () => {
  it("follows vLLM's defaults: random dataset, completions, inf rate, 1000 prompts, seed 0, p99", () => {
    const { options } = optionsFromFlags({ url: URL, model: 'm' }, {});
    expect(options).toMatchObject({
      endpoint: '/v1/completions',
      model: 'm',
      seed: 0,
      ignoreEos: true,
      timeScale: 1,
      tablePercentiles: [99],
      percentileMetrics: ['ttft', 'tpot', 'itl'],
      dataset: {
        name: 'random',
        inputLen: 1024,
        outputLen: 128,
        rangeRatio: 0,
        prefixLen: 0,
        rangeMode: 'centered',
      },
      load: { requestRate: Number.POSITIVE_INFINITY, numPrompts: 1000, requestTimeoutS: 21600 },
    });
    expect(options.targets).toEqual([{ name: '127.0.0.1:8000', url: URL }]);
  });

  it('names targets from --compare NAME=URL and --target, reads the API key from the environment', () => {
    const { options } = optionsFromFlags(
      { compare: ['standard=http://127.0.0.1:8080', 'http://127.0.0.1:8081/'], target: ['third=http://h:1'] },
      { OPENAI_API_KEY: 'sk-test' },
    );
    expect(options.targets.map((t) => [t.name, t.url])).toEqual([
      ['standard', 'http://127.0.0.1:8080'],
      ['127.0.0.1:8081', 'http://127.0.0.1:8081'],
      ['third', 'http://h:1'],
    ]);
    expect(options.apiKey).toBe('sk-test');
  });

  it('builds each dataset from its own flags', () => {
    expect(
      optionsFromFlags(
        {
          url: URL,
          datasetName: 'multi-round',
          numUsers: '8',
          qps: '0.1',
          time: '600',
          questionLen: 'sharegpt',
        },
        {},
      ).options,
    ).toMatchObject({
      dataset: { name: 'multi-round', numUsers: 8, qps: 0.1, questionLen: 'sharegpt', numRounds: 5 },
      load: { durationS: 600, numPrompts: undefined },
    });
    expect(
      optionsFromFlags({ url: URL, datasetName: 'shared-prefix', numGroups: '3', systemPromptLen: '500' }, {})
        .options.dataset,
    ).toEqual({
      name: 'shared-prefix',
      numGroups: 3,
      promptsPerGroup: 10,
      systemPromptLen: 500,
      questionLen: 50,
      outputLen: 50,
    });
    const lora = optionsFromFlags(
      { url: URL, model: 'base-m', datasetName: 'lora-mix', lora: 'a:0.5,base:0.5' },
      {},
    ).options;
    expect(lora.modelMix).toEqual([
      { name: 'a', weight: 0.5 },
      { name: 'base-m', weight: 0.5 },
    ]);
  });

  it('binds NAME=URL scrape URLs to one target, plain URLs to all', () => {
    const { options } = optionsFromFlags(
      {
        compare: ['a=http://h:1', 'b=http://h:2'],
        scrapeMetrics: ['http://m:0', 'b=http://m:2,a=http://m:1'],
      },
      {},
    );
    expect(options.scrapeUrls).toEqual(['http://m:0']);
    expect(options.targets.map((t) => t.scrapeUrls)).toEqual([
      ['http://m:0', 'http://m:1'],
      ['http://m:0', 'http://m:2'],
    ]);
  });

  it('takes a duration instead of a count, with a finite rate or a concurrency', () => {
    expect(
      optionsFromFlags({ url: URL, duration: '30', maxConcurrency: '4' }, {}).options.load,
    ).toMatchObject({
      durationS: 30,
      numPrompts: undefined,
      maxConcurrency: 4,
    });
  });
});

describe('optionsFromFlags: bad flags name the flag', () => {
  it.each<{ flags: BenchFlags; option: string; says: string }>([
    { flags: {}, option: '--url', says: 'is required' },
    { flags: { url: 'localhost:8000' }, option: '--url', says: 'http(s) URL' },
    { flags: { url: 'ftp://h' }, option: '--url', says: 'http(s) URL' },
    { flags: { url: URL, target: ['nourl'] }, option: '--target', says: 'NAME=URL' },
    { flags: { compare: ['a=http://h:1', 'a=http://h:2'] }, option: '--target', says: 'used twice' },
    { flags: { url: URL, numPrompts: 'ten' }, option: '--num-prompts', says: 'must be an integer' },
    { flags: { url: URL, numPrompts: '0' }, option: '--num-prompts', says: '≥ 1' },
    { flags: { url: URL, numPrompts: '2.5' }, option: '--num-prompts', says: 'integer' },
    { flags: { url: URL, requestRate: '-1' }, option: '--request-rate', says: '> 0' },
    { flags: { url: URL, requestRate: 'fast' }, option: '--request-rate', says: 'a number' },
    { flags: { url: URL, maxConcurrency: '0' }, option: '--max-concurrency', says: '≥ 1' },
    { flags: { url: URL, endpoint: '/v1/embeddings' }, option: '--endpoint', says: 'one of /v1/completions' },
    { flags: { url: URL, datasetName: 'sonnet' }, option: '--dataset-name', says: 'one of random' },
    { flags: { url: URL, randomRangeRatio: '1' }, option: '--random-range-ratio', says: '< 1' },
    {
      flags: { url: URL, randomRangeRatio: '1.5', randomRangeMode: 'legacy' },
      option: '--random-range-ratio',
      says: '≤ 1',
    },
    { flags: { url: URL, randomRangeMode: 'wide' }, option: '--random-range-mode', says: 'centered, legacy' },
    { flags: { url: URL, dataset: 'x.json' }, option: '--dataset', says: 'needs --dataset-name sharegpt' },
    { flags: { url: URL, numUsers: '4' }, option: '--num-users', says: 'multi-round' },
    {
      flags: { url: URL, datasetName: 'shared-prefix', randomInputLen: '9' },
      option: '--random-input-len',
      says: 'random',
    },
    { flags: { url: URL, datasetName: 'multi-round' }, option: '--duration', says: 'is required' },
    {
      flags: { url: URL, datasetName: 'multi-round', time: '9', requestRate: '3' },
      option: '--request-rate',
      says: 'multi-round',
    },
    { flags: { url: URL, datasetName: 'multi-round', time: '9', qps: '0' }, option: '--qps', says: '> 0' },
    { flags: { url: URL, datasetName: 'lora-mix' }, option: '--lora', says: 'is required' },
    { flags: { url: URL, lora: 'a:1,base:1' }, option: '--lora', says: '"base" stands for --model' },
    { flags: { url: URL, lora: 'a', modelMix: 'b' }, option: '--lora', says: 'same split' },
    { flags: { url: URL, objectiveMix: 'x:nope' }, option: '--objective-mix', says: 'weight of "x"' },
    { flags: { url: URL, duration: '5', time: '5' }, option: '--time', says: 'same bound' },
    { flags: { url: URL, duration: '5' }, option: '--request-rate', says: 'without limit' },
    { flags: { url: URL, goodput: ['ttft'] }, option: '--goodput', says: 'NAME:MILLISECONDS' },
    { flags: { url: URL, goodput: ['speed:5'] }, option: '--goodput', says: 'one of ttft, tpot, e2el' },
    { flags: { url: URL, metricPercentiles: '99,101' }, option: '--metric-percentiles', says: '≤ 100' },
    {
      flags: { url: URL, percentileMetrics: 'ttft,foo' },
      option: '--percentile-metrics',
      says: 'one of ttft',
    },
    { flags: { url: URL, scrapeMetrics: ['nope'] }, option: '--scrape-metrics', says: 'http(s) URL' },
    {
      flags: { url: URL, scrapeMetrics: ['other=http://m:1'] },
      option: '--scrape-metrics',
      says: 'names target "other"',
    },
    { flags: { url: URL, timeScale: '0' }, option: '--time-scale', says: '> 0' },
    { flags: { url: URL, progress: 'fancy' }, option: '--progress', says: 'auto, bar, lines, none' },
    { flags: { url: URL, seed: '-1' }, option: '--seed', says: '≥ 0' },
  ])('$option: $says', ({ flags, option, says }) => {
    const err = errorOf(flags);
    expect(err.code).toBe('BAD_OPTION');
    expect(err.option).toBe(option);
    expect(err.message.startsWith(option)).toBe(true);
    expect(err.message).toContain(says);
  });
});

describe('optionsFromFlags: --gateway-admin', () => {
  it('sets the admin URL of every target, or of the named one', () => {
    const all = optionsFromFlags(
      {
        compare: ['a=http://127.0.0.1:1', 'b=http://127.0.0.1:2'],
        model: 'm',
        gatewayAdmin: ['http://127.0.0.1:9/'],
      },
      {},
    ).options;
    expect(all.targets.map((t) => t.adminUrl)).toEqual(['http://127.0.0.1:9', 'http://127.0.0.1:9']);
    const one = optionsFromFlags(
      {
        compare: ['a=http://127.0.0.1:1', 'b=http://127.0.0.1:2'],
        model: 'm',
        gatewayAdmin: ['b=http://127.0.0.1:9'],
      },
      {},
    ).options;
    expect(one.targets.map((t) => t.adminUrl)).toEqual([undefined, 'http://127.0.0.1:9']);
  });

  it('names an unknown target or a bad URL', () => {
    expect(errorOf({ url: URL, gatewayAdmin: ['nope=http://127.0.0.1:9'] }).message).toMatch(
      /--gateway-admin/,
    );
    expect(errorOf({ url: URL, gatewayAdmin: ['not a url'] }).message).toMatch(/--gateway-admin/);
  });
});
