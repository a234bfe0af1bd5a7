/**
 * Publishes a replica's KV events as vLLM's ZmqEventPublisher does:
 * - events heard in one turn of the event loop (one or a few engine steps) form one
 *   KVEventBatch `[ts, events, data_parallel_rank]` (msgpack; the batch is positional, each event a
 *   tagged map in current vLLM or a tagged array in the legacy layout);
 * - PUB multipart `[topic, seq (8-byte big-endian, from 0), payload]`;
 * - the last `buffer_steps` batches are kept; a ROUTER replay socket answers a request
 *   `[identity, "", start seq]` with every kept batch from that sequence on, `[identity, "", seq,
 *   payload]` each, then `[identity, "", -1 (8 bytes), ""]`.
 * Sends are serialised (one in flight); batches beyond max_queue_size waiting are dropped.
 */
import { Encoder } from '@msgpack/msgpack';
import { Publisher, Router } from 'zeromq';
import type { Logger } from '../../util/log.js';
import { closeBound } from '../../util/zmq.js';
import type { BlockStoredEvent, KvEventSink } from './kv-event-sink.js';
import { bindAddress, type KvEventsConfig, type KvEventsLayout, offsetEndpoint } from './kv-events-config.js';

const MEDIUM_GPU = 'GPU';
const END_SEQ = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);

type WireEvent = Record<string, unknown> | unknown[];

function seqBytes(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

/** Where a started publisher listens (actual ports, after `*`). */
export interface KvEventsAddress {
  endpoint: string;
  replayEndpoint: string | null;
}

export class KvEventPublisher implements KvEventSink {
  private readonly pub = new Publisher();
  private readonly replay: Router | null;
  private readonly encoder = new Encoder();
  private readonly topic: Buffer;
  private readonly buffer: { seq: number; payload: Uint8Array }[] = [];
  private readonly queue: Uint8Array[] = [];
  private pending: WireEvent[] = [];
  private flushScheduled = false;
  private sending = false;
  private nextSeq = 0;
  private closed = false;
  private address: KvEventsAddress | null = null;
  /** Batches published, batches dropped (queue full), since start. */
  published = 0;
  dropped = 0;

  constructor(
    private readonly cfg: KvEventsConfig,
    /** Replica index: the port offset and the batches' data_parallel_rank. */
    private readonly rank: number,
    private readonly layout: KvEventsLayout,
    private readonly log: Logger,
  ) {
    this.topic = Buffer.from(cfg.topic, 'utf8');
    this.pub.sendHighWaterMark = cfg.hwm;
    this.pub.linger = 0;
    this.replay = cfg.replayEndpoint ? new Router() : null;
    if (this.replay) this.replay.linger = 0;
  }

  /** Binds the sockets (offset by rank) and starts serving replays. */
  async start(): Promise<KvEventsAddress> {
    await this.pub.bind(bindAddress(offsetEndpoint(this.cfg.endpoint, this.rank)));
    let replayEndpoint: string | null = null;
    if (this.replay && this.cfg.replayEndpoint) {
      await this.replay.bind(bindAddress(offsetEndpoint(this.cfg.replayEndpoint, this.rank)));
      replayEndpoint = this.replay.lastEndpoint;
      void this.serveReplays(this.replay);
    }
    this.address = { endpoint: this.pub.lastEndpoint ?? this.cfg.endpoint, replayEndpoint };
    return this.address;
  }

  /** Actual addresses once started. */
  get addresses(): KvEventsAddress | null {
    return this.address;
  }

  blockStored(e: BlockStoredEvent): void {
    if (this.layout === 'array') {
      this.add([
        'BlockStored',
        e.blockHashes,
        e.parentBlockHash,
        e.tokenIds,
        e.blockSize,
        e.loraId,
        MEDIUM_GPU,
        e.loraName,
      ]);
    } else {
      this.add({
        type: 'BlockStored',
        block_hashes: e.blockHashes,
        parent_block_hash: e.parentBlockHash,
        token_ids: e.tokenIds,
        block_size: e.blockSize,
        lora_id: e.loraId,
        medium: MEDIUM_GPU,
        lora_name: e.loraName,
        extra_keys: e.blockHashes.map(() => (e.loraName === null ? null : [e.loraName])),
        group_idx: 0,
        kv_cache_spec_kind: 'full_attention',
      });
    }
  }

  blockRemoved(hash: number): void {
    // consecutive removals in one turn share one event, as vLLM's per-step lists do
    const last = this.pending[this.pending.length - 1];
    if (last) {
      if (this.layout === 'array' && Array.isArray(last) && last[0] === 'BlockRemoved') {
        (last[1] as number[]).push(hash);
        return;
      }
      if (this.layout === 'map' && !Array.isArray(last) && last.type === 'BlockRemoved') {
        (last.block_hashes as number[]).push(hash);
        return;
      }
    }
    this.add(
      this.layout === 'array'
        ? ['BlockRemoved', [hash], MEDIUM_GPU]
        : { type: 'BlockRemoved', block_hashes: [hash], medium: MEDIUM_GPU, group_idx: 0 },
    );
  }

  allBlocksCleared(): void {
    this.add(this.layout === 'array' ? ['AllBlocksCleared'] : { type: 'AllBlocksCleared' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // the addresses are free when this resolves: a restarted replica binds them again at once
    await Promise.all([
      closeBound(this.pub, this.address?.endpoint ?? null),
      this.replay ? closeBound(this.replay, this.address?.replayEndpoint ?? null) : undefined,
    ]);
  }

  private add(e: WireEvent): void {
    if (this.closed) return;
    this.pending.push(e);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = [Date.now() / 1000, this.pending, this.rank];
    this.pending = [];
    if (this.queue.length >= this.cfg.maxQueueSize) {
      this.dropped++;
      return;
    }
    this.queue.push(this.encoder.encode(batch));
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const payload = this.queue.shift()!;
        const seq = this.nextSeq++;
        await this.pub.send([this.topic, seqBytes(seq), payload]);
        this.published++;
        this.buffer.push({ seq, payload });
        if (this.buffer.length > this.cfg.bufferSteps) this.buffer.shift();
      }
    } catch (err) {
      if (!this.closed) this.log.warn({ err: (err as Error).message }, 'KV event publish failed');
    } finally {
      this.sending = false;
    }
  }

  private async serveReplays(sock: Router): Promise<void> {
    try {
      for await (const frames of sock) {
        if (frames.length !== 3 || frames[2]!.length !== 8) {
          this.log.warn({ frames: frames.length }, 'invalid KV event replay request');
          continue;
        }
        const [id, , start] = frames;
        const from = Number(start!.readBigUInt64BE());
        for (const b of this.buffer.slice()) {
          if (b.seq >= from) await sock.send([id!, EMPTY, seqBytes(b.seq), b.payload]);
        }
        await sock.send([id!, EMPTY, END_SEQ, EMPTY]);
      }
    } catch (err) {
      if (!this.closed) this.log.warn({ err: (err as Error).message }, 'KV event replay socket failed');
    }
  }
}
