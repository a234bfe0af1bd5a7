/**
 * What the KV cache reports as it changes, in vLLM's terms (vllm/distributed/kv_events.py):
 * a run of full blocks became cached (BlockStored), a cached block was evicted (BlockRemoved),
 * the whole prefix cache was reset (AllBlocksCleared). The block pool and KV manager call a sink
 * synchronously; the sink owns batching and publishing (src/sim/kv/kv-event-publisher.ts).
 */

export interface BlockStoredEvent {
  /** Chained hashes of the stored blocks, in order (safe integers). */
  readonly blockHashes: readonly number[];
  /** Hash of the block before the first one, or null when the run starts the sequence. */
  readonly parentBlockHash: number | null;
  /** The stored blocks' token ids, blockHashes.length × blockSize of them. */
  readonly tokenIds: readonly number[];
  readonly blockSize: number;
  /** vLLM's lora_int_id and adapter name, null for the base model. */
  readonly loraId: number | null;
  readonly loraName: string | null;
}

export interface KvEventSink {
  blockStored(e: BlockStoredEvent): void;
  blockRemoved(hash: number): void;
  allBlocksCleared(): void;
}
