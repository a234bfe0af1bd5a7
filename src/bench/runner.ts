/**
 * The load generator's schedulers. Both work in wall-clock milliseconds (the caller converts the
 * targets' time with the time scale) and stop by themselves:
 * - `runIndexed`: independent requests. Open loop (`ratePerSec` finite: Poisson arrivals, seeded
 *   exponential gaps, the first at 0 as in vLLM) or closed loop (`ratePerSec` = Infinity: keep
 *   `concurrency` requests in flight, or send all `count` at once without a limit). With both a
 *   rate and a concurrency, arrivals that find every slot busy wait in a FIFO queue (vLLM's
 *   semaphore); their clock starts when they are sent.
 * - `runSessions`: multi-round conversations on LMCache's schedule (see workload/multi-round.ts).
 * Bounds: `count` requests sent and/or `durationMs` elapsed; then nothing new is sent (queued
 * arrivals are dropped, unsent), in-flight requests get `graceMs` to finish and are then aborted
 * and counted as `aborted`. `signal` (Ctrl-C) stops sending and aborts in-flight requests at once.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { randExp } from '../util/rng.js';
import type { RequestRecord, TargetClient } from './client.js';
import type { RunRecorder } from './recorder.js';
import type { RequestFactory } from './workload/encode.js';
import type { Conversation, MultiRoundWorkload } from './workload/multi-round.js';
import { streamRng } from './workload/text.js';
import type { BenchRequest, IndexedWorkload } from './workload/types.js';

export interface LoadPlan {
  /** Requests per wall second; Infinity = closed loop / all at once. */
  ratePerSec: number;
  /** Most requests in flight at once; undefined = no limit. */
  concurrency: number | undefined;
  /** Most requests to send; undefined = bounded by duration only. */
  count: number | undefined;
  durationMs: number | undefined;
  /** How long in-flight requests may run on after the bound is reached (Infinity = until done). */
  graceMs: number;
  requestTimeoutMs: number;
  /** Seeds the arrival times. */
  seed: number;
}

export interface RunTiming {
  /** performance.now() when the first request was scheduled. */
  startedAt: number;
  /** performance.now() when the last request settled. */
  endedAt: number;
  /** Arrivals dropped unsent because the duration ended while they waited for a slot. */
  unsent: number;
  /** Requests aborted when the grace period ended or the run was stopped. */
  aborted: number;
}

/** Sees every request with its outcome (and its answer text) once it settles. */
export type RequestCapture = (req: BenchRequest, record: RequestRecord) => void;

interface RunContext {
  client: TargetClient;
  recorder: RunRecorder;
  /** External stop (Ctrl-C): stop sending and abort in-flight requests. */
  signal?: AbortSignal | undefined;
  /** When set, answer texts are collected (record.text) and every settled request is handed over. */
  capture?: RequestCapture | undefined;
}

/** FIFO of request indices waiting for a free slot (ring buffer: no Array.shift). */
class IndexQueue {
  private buf = new Int32Array(64);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.buf.length) {
      const grown = new Int32Array(this.buf.length * 2);
      for (let i = 0; i < this.size; i++) grown[i] = this.buf[(this.head + i) % this.buf.length]!;
      this.buf = grown;
      this.head = 0;
    }
    this.buf[(this.head + this.size) % this.buf.length] = value;
    this.size++;
  }

  shift(): number {
    const v = this.buf[this.head]!;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return v;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }
}

/**
 * Shared end-of-run logic: a stop that ends sending, a grace timer that aborts what is left, and
 * a promise that resolves once nothing is in flight.
 */
class RunLifecycle {
  readonly abort = new AbortController();
  stopped = false;
  aborted = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });
  private readonly onExternalStop = (): void => {
    this.stop(0);
  };

  constructor(
    private readonly recorder: RunRecorder,
    private readonly plan: Pick<LoadPlan, 'durationMs' | 'graceMs'>,
    private readonly signal: AbortSignal | undefined,
    private readonly onStop: () => void,
  ) {
    // Every in-flight request listens on this signal.
    setMaxListeners(0, this.abort.signal);
    if (plan.durationMs !== undefined) {
      this.deadlineTimer = setTimeout(() => this.stop(this.plan.graceMs), plan.durationMs);
    }
    signal?.addEventListener('abort', this.onExternalStop, { once: true });
    if (signal?.aborted) queueMicrotask(this.onExternalStop);
  }

  /** Stop sending; abort in-flight requests after `graceMs`. Idempotent (a shorter grace wins). */
  stop(graceMs: number): void {
    if (!this.stopped) {
      this.stopped = true;
      clearTimeout(this.deadlineTimer);
      this.onStop();
    }
    if (graceMs === 0) {
      this.abortInFlight();
    } else if (Number.isFinite(graceMs) && this.graceTimer === undefined) {
      this.graceTimer = setTimeout(() => this.abortInFlight(), graceMs);
    }
    this.check();
  }

  /** Call after every settle. */
  check(): void {
    if (this.stopped && this.recorder.inFlight === 0) {
      clearTimeout(this.graceTimer);
      clearTimeout(this.deadlineTimer);
      this.signal?.removeEventListener('abort', this.onExternalStop);
      this.resolveDone();
    }
  }

  private abortInFlight(): void {
    this.aborted += this.recorder.inFlight;
    this.abort.abort();
  }
}

/** Runs an indexed workload against one target. */
export async function runIndexed(
  ctx: RunContext,
  workload: IndexedWorkload,
  factory: RequestFactory,
  plan: LoadPlan,
): Promise<RunTiming> {
  const { client, recorder } = ctx;
  const startedAt = performance.now();
  const limit = plan.concurrency ?? Number.POSITIVE_INFINITY;
  const count = plan.count ?? Number.POSITIVE_INFINITY;
  const queue = new IndexQueue();
  let nextIndex = 0;
  let unsent = 0;
  let arrivalTimer: NodeJS.Timeout | undefined;
  const life = new RunLifecycle(recorder, plan, ctx.signal, () => {
    clearTimeout(arrivalTimer);
    unsent += queue.length;
    queue.clear();
  });

  const send = (index: number): void => {
    const req = factory.build(index, workload.draft(index));
    recorder.onSent();
    void client
      .send(req, {
        signal: life.abort.signal,
        timeoutMs: plan.requestTimeoutMs,
        collectText: ctx.capture !== undefined,
        itl: recorder,
        runStart: startedAt,
      })
      .then((record) => {
        ctx.capture?.(req, record);
        record.text = '';
        recorder.onSettled(record);
        onSlotFree();
        life.check();
      });
  };

  const exhausted = (): boolean => nextIndex >= count;
  const finishIfExhausted = (): void => {
    if (exhausted() && queue.length === 0 && !life.stopped) life.stop(plan.graceMs);
  };

  // Closed loop: refill up to the limit. Open loop: take the next queued arrival.
  const onSlotFree = (): void => {
    if (life.stopped) return;
    if (Number.isFinite(plan.ratePerSec)) {
      while (queue.length > 0 && recorder.inFlight < limit) send(queue.shift());
    } else {
      while (!exhausted() && recorder.inFlight < limit) send(nextIndex++);
    }
    finishIfExhausted();
  };

  if (!Number.isFinite(plan.ratePerSec)) {
    onSlotFree();
  } else {
    const rng = streamRng(plan.seed, 'arrivals');
    const meanGapMs = 1000 / plan.ratePerSec;
    let nextArrival = 0; // ms after start; the first request goes at once, as in vLLM
    const arrive = (): void => {
      arrivalTimer = undefined;
      if (life.stopped) return;
      const now = performance.now() - startedAt;
      while (!exhausted() && nextArrival <= now) {
        const index = nextIndex++;
        if (recorder.inFlight < limit && queue.length === 0) send(index);
        else queue.push(index);
        nextArrival += randExp(rng, meanGapMs);
      }
      finishIfExhausted();
      if (!exhausted() && !life.stopped) {
        arrivalTimer = setTimeout(arrive, Math.max(0, nextArrival - (performance.now() - startedAt)));
      }
    };
    arrive();
  }

  await life.done;
  return { startedAt, endedAt: performance.now(), unsent, aborted: life.aborted };
}

/** Session bounds: the same as LoadPlan's, without rate and concurrency (the schedule decides). */
export type SessionPlan = Pick<LoadPlan, 'count' | 'durationMs' | 'graceMs' | 'requestTimeoutMs'> & {
  /** Wall ms per ms of the targets' time (the time scale). */
  timeScale: number;
};

/** Runs multi-round conversations against one target. */
export async function runSessions(
  ctx: RunContext,
  workload: MultiRoundWorkload,
  factory: RequestFactory,
  plan: SessionPlan,
): Promise<RunTiming> {
  const { client, recorder } = ctx;
  const startedAt = performance.now();
  const schedule = workload.plan();
  const gapMs = schedule.gapPerUserMs * plan.timeScale;
  const joinGapMs = schedule.gapBetweenUsersMs * plan.timeScale;
  const count = plan.count ?? Number.POSITIVE_INFINITY;
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;
  let nextJoiner = schedule.firstJoinerId;
  const life = new RunLifecycle(recorder, plan, ctx.signal, () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
  });

  const later = (fn: () => void, delayMs: number): void => {
    const t = setTimeout(
      () => {
        timers.delete(t);
        fn();
      },
      Math.max(0, delayMs),
    );
    timers.add(t);
  };

  const ask = (user: number, conv: Conversation): void => {
    if (life.stopped) return;
    if (seq >= count) {
      life.stop(plan.graceMs);
      return;
    }
    const launchedAt = performance.now();
    const req = factory.build(seq++, conv.next(), user, { 'x-user-id': String(user) });
    recorder.onSent();
    void client
      .send(req, {
        signal: life.abort.signal,
        timeoutMs: plan.requestTimeoutMs,
        collectText: true,
        itl: recorder,
        runStart: startedAt,
      })
      .then((record) => {
        conv.answer(record.success ? record.text : '');
        ctx.capture?.(req, record);
        record.text = ''; // the conversation keeps it; the report does not need it
        recorder.onSettled(record);
        if (conv.remaining > 0 && !life.stopped) {
          later(() => ask(user, conv), launchedAt + gapMs - performance.now());
        }
        if (seq >= count && !life.stopped) life.stop(plan.graceMs);
        life.check();
      });
  };

  for (const u of schedule.initial) {
    const conv = workload.conversation(u.user, u.startQuestion);
    later(() => ask(u.user, conv), u.firstAtMs * plan.timeScale);
  }
  const join = (): void => {
    if (life.stopped) return;
    const user = nextJoiner++;
    ask(user, workload.conversation(user, 0));
    later(join, joinGapMs);
  };
  join();

  await life.done;
  return { startedAt, endedAt: performance.now(), unsent: 0, aborted: life.aborted };
}
