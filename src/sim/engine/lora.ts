/**
 * LoRA adapters of one replica, as vLLM manages them:
 * - the loaded adapters by name (`--lora-modules`, /v1/load_lora_adapter);
 * - a CPU cache of at most `maxCpuLoras` loaded adapters (LRU), filled when an adapter is
 *   registered, like vLLM's add_lora;
 * - `maxLoras` GPU slots (LRU): a batch may use at most that many distinct adapters (the scheduler
 *   enforces it); activating an adapter that is not in a slot costs `activateMs` when it is in the
 *   CPU cache and `loadMs` (read from disk) when it is not.
 */
import { hashString32 } from '../../util/rng.js';

export interface LoraAdapter {
  readonly name: string;
  readonly path: string;
  /** vLLM's lora_int_id: 1, 2, … in registration order. */
  readonly id: number;
  /** Extra key of the adapter's prefix-cache block hashes (never 0, the base model's key). */
  readonly hashKey: number;
}

export type LoraErrorCode = 'LORA_EXISTS' | 'LORA_NOT_FOUND' | 'LORA_INVALID';

/** Errors of the load/unload API, with vLLM's messages. */
export class LoraError extends Error {
  readonly code: LoraErrorCode;
  constructor(code: LoraErrorCode, message: string) {
    super(message);
    this.name = 'LoraError';
    this.code = code;
  }
}

export interface LoraConfig {
  maxLoras: number;
  maxCpuLoras: number;
  loadMs: number;
  activateMs: number;
}

export class LoraManager {
  readonly maxLoras: number;
  readonly maxCpuLoras: number;
  private readonly loadMs: number;
  private readonly activateMs: number;
  private readonly byName = new Map<string, LoraAdapter>();
  private nextId = 1;
  /** Adapter ids, least recently used first. */
  private readonly cpu: number[] = [];
  private readonly gpu: number[] = [];
  /** Activations since start: from the CPU cache / from disk. */
  activations = 0;
  diskLoads = 0;

  constructor(cfg: LoraConfig) {
    if (!(cfg.maxLoras >= 1)) throw new LoraError('LORA_INVALID', 'max_loras must be at least 1');
    if (cfg.maxCpuLoras < cfg.maxLoras) {
      throw new LoraError(
        'LORA_INVALID',
        `max_cpu_loras (${cfg.maxCpuLoras}) must be greater than or equal to max_loras (${cfg.maxLoras})`,
      );
    }
    this.maxLoras = cfg.maxLoras;
    this.maxCpuLoras = cfg.maxCpuLoras;
    this.loadMs = cfg.loadMs;
    this.activateMs = cfg.activateMs;
  }

  get(name: string): LoraAdapter | undefined {
    return this.byName.get(name);
  }

  list(): LoraAdapter[] {
    return [...this.byName.values()];
  }

  /** Registers an adapter and loads it into the CPU cache. */
  add(name: string, path: string): LoraAdapter {
    if (!name || !path)
      throw new LoraError('LORA_INVALID', "Both 'lora_name' and 'lora_path' must be provided.");
    if (this.byName.has(name)) {
      throw new LoraError('LORA_EXISTS', `The lora adapter '${name}' has already been loaded.`);
    }
    const id = this.nextId++;
    const adapter: LoraAdapter = { name, path, id, hashKey: (hashString32(`lora:${name}`) | 1) >>> 0 };
    this.byName.set(name, adapter);
    this.touchCpu(id);
    return adapter;
  }

  remove(name: string): void {
    if (!name)
      throw new LoraError('LORA_INVALID', "'lora_name' needs to be provided to unload a LoRA adapter.");
    const a = this.byName.get(name);
    if (!a) throw new LoraError('LORA_NOT_FOUND', `The lora adapter '${name}' cannot be found.`);
    this.byName.delete(name);
    removeValue(this.cpu, a.id);
    removeValue(this.gpu, a.id);
  }

  /** Whether the adapter currently occupies a GPU slot. */
  isActive(a: LoraAdapter): boolean {
    return this.gpu.includes(a.id);
  }

  /**
   * Puts every adapter of a batch (at most maxLoras distinct) in a GPU slot, evicting the least
   * recently used slots not in the batch, and returns the activation cost in engine ms.
   */
  activate(batch: ReadonlySet<LoraAdapter>): number {
    let ms = 0;
    for (const a of batch) {
      const at = this.gpu.indexOf(a.id);
      if (at >= 0) {
        this.gpu.splice(at, 1);
        this.gpu.push(a.id);
        continue;
      }
      if (this.gpu.length >= this.maxLoras) {
        const victim = this.gpu.findIndex((id) => !hasId(batch, id));
        this.gpu.splice(Math.max(victim, 0), 1);
      }
      if (this.cpu.includes(a.id)) {
        ms += this.activateMs;
        this.activations++;
      } else {
        ms += this.loadMs;
        this.diskLoads++;
      }
      this.touchCpu(a.id);
      this.gpu.push(a.id);
    }
    return ms;
  }

  private touchCpu(id: number): void {
    removeValue(this.cpu, id);
    this.cpu.push(id);
    while (this.cpu.length > this.maxCpuLoras) this.cpu.shift();
  }
}

function removeValue(list: number[], v: number): void {
  const i = list.indexOf(v);
  if (i >= 0) list.splice(i, 1);
}

function hasId(batch: ReadonlySet<LoraAdapter>, id: number): boolean {
  for (const a of batch) if (a.id === id) return true;
  return false;
}
