import { describe, expect, it } from 'vitest';
import { replicaOptions } from './cluster.js';
import { parseLoraModule, resolveReplicaOptions, SimConfigError, type SimReplicaOptions } from './options.js';
import { PROFILES } from './profiles.js';

describe('resolveReplicaOptions', () => {
  it('takes model, served name, context and KV blocks from the profile', () => {
    const o = resolveReplicaOptions({ profile: 'qwq-32b-4xa10-tp4' });
    expect(o.model).toBe('/models/QwQ-32B');
    expect(o.servedModelNames).toEqual(['qwq-32b']);
    expect(o.maxModelLen).toBe(8192);
    expect(o.numGpuBlocks).toBe(PROFILES['qwq-32b-4xa10-tp4']!.numGpuBlocks);
    expect(
      resolveReplicaOptions({ profile: 'qwq-32b-4xa10-tp4', gpuMemoryUtilization: 0.95 }).numGpuBlocks,
    ).toBeGreaterThan(o.numGpuBlocks);
    // vLLM: --served-model-name defaults to --model when --model is given.
    expect(resolveReplicaOptions({ profile: 'qwq-32b-4xa10-tp4', model: '/m' }).servedModelNames).toEqual([
      '/m',
    ]);
  });

  it('uses vLLM V1 defaults', () => {
    const o = resolveReplicaOptions({});
    expect(o).toMatchObject({
      maxNumSeqs: 256,
      maxNumBatchedTokens: 2048,
      blockSize: 16,
      enablePrefixCaching: true,
      enableChunkedPrefill: true,
      metricsVersion: 'v1',
      maxLoras: 1,
      maxCpuLoras: 1,
    });
    expect(
      resolveReplicaOptions({ enableChunkedPrefill: false, maxModelLen: 4096 }).maxNumBatchedTokens,
    ).toBe(4096);
  });

  it('uses vLLM 0.7.2 V0 defaults with --engine v0 (arg_utils.py, config.py SchedulerConfig)', () => {
    const o = resolveReplicaOptions({
      engine: 'v0',
      profile: 'qwq-32b-4xa10-tp4',
      gpuMemoryUtilization: 0.95,
    });
    expect(o).toMatchObject({
      engine: 'v0',
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192, // max(max_model_len, 2048) without chunked prefill
      enablePrefixCaching: false,
      enableChunkedPrefill: false,
      metricsVersion: 'v0',
      preemptionMode: 'recompute',
      watermark: 0.01,
      numGpuBlocks: 4420,
    });
    // 4 GiB per GPU ÷ (16 tokens × 256 KiB/token ÷ TP 4) = 4096 blocks of 1 MiB each;
    // one block per GPU over PCIe Gen4 (32 GB/s each way) ≈ 0.033 ms.
    expect(o.numCpuBlocks).toBe(4096);
    expect(o.swapMsPerBlock).toBeCloseTo(((16 * 262144) / 4 / 32e9) * 1000, 6);
    expect(resolveReplicaOptions({ engine: 'v0', enablePrefixCaching: true }).enablePrefixCaching).toBe(true);
  });

  it.each<[Partial<SimReplicaOptions>, RegExp]>([
    [{ engine: 'v0', enableChunkedPrefill: true }, /chunked-prefill policy is not simulated/],
    [{ preemptionMode: 'swap' }, /needs --engine v0/],
    [{ engine: 'v0', numGpuBlocks: 512, maxModelLen: 8192 }, /watermark/],
    [{ profile: 'nope' }, /unknown profile/],
    [
      { numGpuBlocks: 10, maxModelLen: 4096 },
      /larger than the maximum number of tokens that can be stored in KV cache/,
    ],
    [{ maxLoras: 4, maxCpuLoras: 2, enableLora: true }, /max-cpu-loras/],
    [{ loraModules: [{ name: 'a', path: '/a' }] }, /needs --enable-lora/],
    [{ failureRate: 0.6, hangRate: 0.6 }, /must not exceed 1/],
    [{ timeScale: 0 }, /time-scale/],
    [{ maxEmitLagMs: 0 }, /max-emit-lag-ms/],
    [{ enableChunkedPrefill: false, maxNumBatchedTokens: 100 }, /smaller than max-model-len/],
  ])('rejects %j', (opts, message) => {
    expect(() => resolveReplicaOptions(opts)).toThrow(SimConfigError);
    expect(() => resolveReplicaOptions(opts)).toThrow(message);
  });
});

describe('replicaOptions', () => {
  it('gives replica i the seed + i and applies per-replica overrides', () => {
    const opts = { seed: 10, replicas: 3, perReplica: [{}, { profile: 'llama2-7b-a10', seed: 99 }] };
    expect(replicaOptions(opts, 0).seed).toBe(10);
    expect(replicaOptions(opts, 1)).toMatchObject({ seed: 99, profile: 'llama2-7b-a10' });
    expect(replicaOptions(opts, 2).seed).toBe(12);
  });
});

describe('parseLoraModule', () => {
  it.each([
    ['sql-lora=/adapters/sql', { name: 'sql-lora', path: '/adapters/sql' }],
    ['{"name":"a","path":"/p"}', { name: 'a', path: '/p' }],
  ])('%s', (spec, want) => {
    expect(parseLoraModule(spec)).toEqual(want);
  });

  it('rejects a spec without a path', () => {
    expect(() => parseLoraModule('nopath')).toThrow(/name=path/);
  });
});
