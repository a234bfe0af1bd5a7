import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../openai/errors.js';
import { SeededRng } from '../util/rng.js';
import { AdmissionQueue } from './admission.js';

const code = (e: unknown) => (e instanceof GatewayError ? e.code : String(e));

describe('AdmissionQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('releases by priority, then arrival', async () => {
    const q = new AdmissionQueue(10);
    const order: string[] = [];
    const add = (name: string, prio: number) => q.wait(prio, 60_000).then(() => order.push(name));
    const all = [add('std-1', 0), add('crit-1', 1), add('shed', -1), add('std-2', 0), add('crit-2', 1)];
    expect(q.size).toBe(5);
    while (q.releaseOne()) await Promise.resolve();
    await Promise.all(all);
    expect(order).toEqual(['crit-1', 'crit-2', 'std-1', 'std-2', 'shed']);
    expect(q.size).toBe(0);
    expect(q.releaseOne()).toBe(false);
  });

  it('a waiter past its deadline fails with QUEUE_TIMEOUT and leaves the queue', async () => {
    vi.useFakeTimers();
    const q = new AdmissionQueue(10);
    const late = q.wait(0, 1000).catch(code);
    const ok = q.wait(0, 5000).then(() => 'released');
    vi.advanceTimersByTime(1001);
    expect(await late).toBe('QUEUE_TIMEOUT');
    expect(q.size).toBe(1);
    q.releaseOne();
    expect(await ok).toBe('released');
  });

  it('an aborted client leaves the queue with the signal reason', async () => {
    const q = new AdmissionQueue(10);
    const ac = new AbortController();
    const p = q.wait(0, 60_000, ac.signal).catch((e: unknown) => e);
    ac.abort(new Error('client went away'));
    expect(((await p) as Error).message).toBe('client went away');
    expect(q.size).toBe(0);
    expect(q.releaseOne()).toBe(false);
    await expect(q.wait(0, 1000, ac.signal)).rejects.toThrow('client went away');
  });

  it('is bounded: a full queue refuses at once with POOL_SATURATED', async () => {
    const q = new AdmissionQueue(2);
    const a = q.wait(0, 60_000);
    const b = q.wait(0, 60_000);
    expect(q.full).toBe(true);
    expect(await q.wait(5, 60_000).catch(code)).toBe('POOL_SATURATED');
    q.rejectAll(new GatewayError('NO_READY_ENDPOINT', 'gone'));
    expect(await a.catch(code)).toBe('NO_READY_ENDPOINT');
    expect(await b.catch(code)).toBe('NO_READY_ENDPOINT');
  });

  it('stays consistent when many waiters leave before release (lazy deletion, compaction)', async () => {
    const q = new AdmissionQueue(1000);
    const acs = Array.from({ length: 300 }, () => new AbortController());
    const ps = acs.map((ac, i) =>
      q.wait(i % 3, 60_000, ac.signal).then(
        () => i,
        () => -1,
      ),
    );
    for (let i = 0; i < 300; i++) if (i % 10 !== 0) acs[i]!.abort(new Error('x'));
    expect(q.size).toBe(30);
    let released = 0;
    while (q.releaseOne()) released++;
    expect(released).toBe(30);
    const got = (await Promise.all(ps)).filter((v) => v >= 0);
    expect(got.length).toBe(30);
    expect(got.every((i) => i % 10 === 0)).toBe(true);
  });

  it('releases any mix of priorities in order: priority first, then arrival', async () => {
    const q = new AdmissionQueue(100);
    const rng = new SeededRng(7);
    const order: number[] = [];
    const waiters: { priority: number; seq: number }[] = [];
    const all: Promise<unknown>[] = [];
    for (let seq = 0; seq < 60; seq++) {
      const priority = Math.floor(rng.next() * 7) - 3;
      waiters.push({ priority, seq });
      all.push(q.wait(priority, 60_000).then(() => order.push(seq)));
    }
    // Some leave before their turn.
    const ac = new AbortController();
    const leaving = q.wait(9, 60_000, ac.signal).catch(() => 'left');
    ac.abort();
    expect(await leaving).toBe('left');
    while (q.releaseOne()) await Promise.resolve();
    await Promise.all(all);
    const want = [...waiters].sort((a, b) => b.priority - a.priority || a.seq - b.seq).map((w) => w.seq);
    expect(order).toEqual(want);
  });

  it('says why it refused', async () => {
    const q = new AdmissionQueue(1);
    const first = q.wait(0, 20).catch((e: unknown) => e);
    const full = await q.wait(0, 60_000).catch((e: unknown) => e);
    expect((full as GatewayError).message).toBe('Every endpoint is saturated and the gateway queue is full.');
    expect(((await first) as GatewayError).message).toBe(
      'Waited 20 ms in the gateway queue for a free endpoint.',
    );
  });
});
