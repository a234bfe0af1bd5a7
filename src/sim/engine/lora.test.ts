import { describe, expect, it } from 'vitest';
import { LoraError, LoraManager } from './lora.js';

const cfg = { maxLoras: 2, maxCpuLoras: 3, loadMs: 50, activateMs: 2 };

describe('LoraManager', () => {
  it('registers adapters with ids and distinct prefix-cache keys, and rejects duplicates like vLLM', () => {
    const m = new LoraManager(cfg);
    const a = m.add('a', '/p/a');
    const b = m.add('b', '/p/b');
    expect([a.id, b.id]).toEqual([1, 2]);
    expect(a.hashKey).not.toBe(0);
    expect(a.hashKey).not.toBe(b.hashKey);
    expect(() => m.add('a', '/x')).toThrow("The lora adapter 'a' has already been loaded.");
    expect(() => m.remove('zzz')).toThrow("The lora adapter 'zzz' cannot be found.");
    expect(() => m.add('', '/x')).toThrow(LoraError);
  });

  it('activation costs: CPU-cached adapters are cheap, evicted ones are loaded from disk', () => {
    const m = new LoraManager(cfg);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => m.add(n, `/p/${n}`)) as [
      ReturnType<LoraManager['add']>,
      ReturnType<LoraManager['add']>,
      ReturnType<LoraManager['add']>,
      ReturnType<LoraManager['add']>,
    ];
    // CPU cache holds 3: registering d evicted a.
    expect(m.activate(new Set([b, c]))).toBe(4);
    expect(m.activate(new Set([b, c]))).toBe(0); // already in GPU slots
    expect(m.activate(new Set([a]))).toBe(50); // from disk, evicts the LRU slot (b)
    expect(m.isActive(a)).toBe(true);
    expect(m.isActive(b)).toBe(false);
    expect(m.isActive(c)).toBe(true);
    // Loading a pushed d, the least recently used, out of the 3-entry CPU cache.
    expect(m.activate(new Set([d]))).toBe(50);
    expect(m.diskLoads).toBe(2);
    expect(m.activations).toBe(2);
  });

  it('requires max_cpu_loras ≥ max_loras', () => {
    expect(() => new LoraManager({ ...cfg, maxCpuLoras: 1 })).toThrow(/max_cpu_loras/);
  });
});
