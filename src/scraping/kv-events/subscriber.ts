/**
 * One endpoint's KV event stream: a ZMQ SUB socket on its publisher, sequence tracking and repair.
 * - the next sequence is applied as it comes;
 * - a jump ahead (dropped messages: the PUB's high-water mark, a reconnect) is repaired from the
 *   publisher's replay ROUTER when it has one and still holds the missing batches; otherwise the
 *   endpoint is resynchronised: its blocks are cleared and rebuilt from the events that follow;
 * - a sequence going backwards means the engine restarted (its cache is empty): cleared;
 * - the connection dropped (the engine may have restarted, and a restarted engine's sequence can
 *   land exactly where the old one stopped): the endpoint is cleared at once and its next message
 *   is treated as a first one;
 * - the first message: when it is not sequence 0 the history is asked for from the replay socket.
 * Batches are handed over in sequence order; nothing here knows about the index.
 */

import type { Logger } from 'pino';
import { Dealer, Subscriber } from 'zeromq';
import { decodeKvEventBatch, type KvEventBatch } from './decode.js';

export type SubscriberStatus = 'waiting' | 'live' | 'disconnected' | 'closed';
export type RecoveryKind = 'replay' | 'resync' | 'restart' | 'reconnect';

export interface SubscriberEvents {
  /** A batch, in sequence order. */
  batch(batch: KvEventBatch, seq: number): void;
  /** The endpoint's blocks must be forgotten (before the batches that follow). */
  reset(kind: 'resync' | 'restart' | 'reconnect'): void;
  /** A gap was repaired, or could not be and the endpoint was resynchronised, or it restarted. */
  recovered(kind: RecoveryKind): void;
  decodeError(message: string): void;
}

export interface SubscriberOptions {
  /** tcp://host:port of the engine's PUB socket. */
  readonly endpoint: string;
  /** tcp://host:port of its replay ROUTER, or null. */
  readonly replayEndpoint: string | null;
  /** Topic prefix subscribed to ("" = every topic). */
  readonly topicFilter: string;
  /** How long a replay may take before the endpoint is resynchronised instead, ms. */
  readonly replayTimeoutMs: number;
  readonly logger: Logger;
}

const EMPTY = Buffer.alloc(0);

function seqFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(seq));
  return b;
}

export class EndpointSubscriber {
  status: SubscriberStatus = 'waiting';
  /** Batches applied (live and replayed). */
  batches = 0;
  private readonly sub = new Subscriber();
  private dealer: Dealer | null = null;
  private expected: number | null = null;
  private closed = false;

  constructor(
    private readonly opts: SubscriberOptions,
    private readonly on: SubscriberEvents,
  ) {
    this.sub.linger = 0;
    this.sub.receiveHighWaterMark = 100_000;
  }

  start(): void {
    this.sub.subscribe(this.opts.topicFilter);
    this.sub.connect(this.opts.endpoint);
    // A dropped connection, or a new one after a first (the drop itself may go unreported): the
    // engine may have restarted, so what it held is forgotten and its next message starts over.
    const dropped = (): void => {
      if (this.closed) return;
      if (this.status === 'live') this.status = 'disconnected';
      if (this.expected !== null) {
        this.expected = null;
        this.on.reset('reconnect');
        this.on.recovered('reconnect');
      }
    };
    let connections = 0;
    this.sub.events.on('disconnect', dropped);
    this.sub.events.on('connect', () => {
      if (connections++ > 0) dropped();
    });
    void this.loop();
  }

  close(): void {
    this.closed = true;
    this.status = 'closed';
    this.sub.close();
    this.dealer?.close();
    this.dealer = null;
  }

  private async loop(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        if (this.closed) return;
        const seqBuf = frames[1];
        const payload = frames[2];
        if (frames.length !== 3 || !seqBuf || seqBuf.length !== 8 || !payload) {
          this.on.decodeError(`message of ${frames.length} frames`);
          continue;
        }
        const seq = Number(seqBuf.readBigInt64BE());
        await this.sequence(seq);
        if (this.closed) return;
        this.apply(payload, seq);
        this.expected = seq + 1;
        this.status = 'live';
      }
    } catch (err) {
      if (!this.closed)
        this.opts.logger.warn(
          { endpoint: this.opts.endpoint, err: (err as Error).message },
          'KV event subscriber stopped',
        );
    }
  }

  /** Brings the stream up to `seq` (exclusive) before batch `seq` is applied. */
  private async sequence(seq: number): Promise<void> {
    const expected = this.expected;
    if (expected === null) {
      if (seq > 0 && this.opts.replayEndpoint) await this.replay(0, seq);
      return;
    }
    if (seq === expected) return;
    if (seq < expected) {
      this.on.reset('restart');
      this.on.recovered('restart');
      if (seq > 0 && this.opts.replayEndpoint) await this.replay(0, seq);
      return;
    }
    if (this.opts.replayEndpoint && (await this.replay(expected, seq))) {
      this.on.recovered('replay');
      return;
    }
    this.on.reset('resync');
    this.on.recovered('resync');
  }

  /**
   * Asks the replay socket for batches from `from` and applies those before `until`. True when
   * every one of them came back (the publisher still buffered them).
   */
  private async replay(from: number, until: number): Promise<boolean> {
    let dealer = this.dealer;
    if (!dealer) {
      dealer = new Dealer();
      dealer.linger = 0;
      dealer.receiveTimeout = this.opts.replayTimeoutMs;
      dealer.connect(this.opts.replayEndpoint!);
      this.dealer = dealer;
    }
    let next = from;
    try {
      await dealer.send([EMPTY, seqFrame(from)]);
      for (;;) {
        const frames = await dealer.receive();
        const seqBuf = frames[1];
        if (seqBuf?.length !== 8) continue;
        const seq = Number(seqBuf.readBigInt64BE());
        if (seq === -1) break;
        if (seq !== next || seq >= until) continue;
        this.apply(frames[2] ?? EMPTY, seq);
        next = seq + 1;
      }
    } catch (err) {
      if (this.closed) return false;
      // timed out or failed: a fresh socket next time, so late answers cannot be mistaken
      this.opts.logger.warn(
        { endpoint: this.opts.replayEndpoint, err: (err as Error).message },
        'KV event replay failed',
      );
      dealer.close();
      this.dealer = null;
    }
    return next === until;
  }

  private apply(payload: Uint8Array, seq: number): void {
    let batch: KvEventBatch;
    try {
      batch = decodeKvEventBatch(payload);
    } catch (err) {
      this.on.decodeError((err as Error).message);
      return;
    }
    this.batches++;
    this.on.batch(batch, seq);
  }
}
