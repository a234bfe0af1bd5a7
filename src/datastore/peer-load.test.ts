import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { reservePort } from '../util/ports.js';
import { EndpointState } from './endpoint-state.js';
import { PeerLoadShare, parseMessage } from './peer-load.js';

const MAPPING = { type: 'vllm' } as unknown as ConstructorParameters<typeof EndpointState>[1];
const state = (port: number) =>
  new EndpointState(
    { id: `10.0.0.1:${port}`, address: '10.0.0.1', port, labels: {} } as never,
    MAPPING,
    true,
  );

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A share over `states` publishing on a fresh port, listening to `peers`. */
async function share(states: Map<string, EndpointState>, peers: string[], listen: string, fast = true) {
  const s = new PeerLoadShare(
    { listen, peers, ...(fast ? { heartbeatMs: 100, expireMs: 400 } : {}) },
    { get: (id) => states.get(id), all: () => states.values() },
    pino({ level: 'silent' }),
    new Registry(),
  );
  await s.start();
  for (const st of states.values()) st.onOwnLoad = (x) => s.changed(x);
  closers.push(() => s.close());
  return s;
}

describe('parseMessage', () => {
  const ok = { v: 1, from: 'p', full: false, eps: { 'a:1': [1, 10, 5, 1] } };
  const msg = (m: unknown) => parseMessage(Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)));

  it('takes a valid message; a 4-count entry (an older peer) has no long claims', () => {
    expect(msg(ok)?.eps['a:1']).toEqual({
      inflightRequests: 1,
      inflightPromptTokens: 10,
      pendingPrefillTokens: 5,
      pendingPrefillRequests: 1,
      longClaims: 0,
    });
    expect(msg({ ...ok, eps: { 'a:1': [1, 10, 5, 1, 2] } })?.eps['a:1']?.longClaims).toBe(2);
  });

  it.each([
    ['not JSON', '{'],
    ['another version', { ...ok, v: 2 }],
    ['no sender', { ...ok, from: '' }],
    ['full missing', { v: 1, from: 'p', eps: {} }],
    ['eps an array', { ...ok, eps: [] }],
    ['three counts', { ...ok, eps: { 'a:1': [1, 2, 3] } }],
    ['six counts', { ...ok, eps: { 'a:1': [1, 2, 3, 4, 5, 6] } }],
    ['a negative count', { ...ok, eps: { 'a:1': [1, -2, 3, 4] } }],
    ['a string count', { ...ok, eps: { 'a:1': [1, '2', 3, 4] } }],
    ['a huge count', { ...ok, eps: { 'a:1': [1, 1e15, 3, 4] } }],
  ])('drops %s', (_what, m) => {
    expect(msg(m)).toBeUndefined();
  });
});

describe('PeerLoadShare over ZMQ on loopback', () => {
  it("adds a peer's counts as they change, and only the peer's", async () => {
    const [pa, pb] = [await reservePort(), await reservePort()];
    const ea = state(1);
    const eb = state(1);
    const a = new Map([[ea.id, ea]]);
    const b = new Map([[eb.id, eb]]);
    // A lists itself among its peers (as a Deployment-wide list would): it ignores its own messages.
    await share(a, [`tcp://127.0.0.1:${pb}`, `tcp://127.0.0.1:${pa}`], `tcp://127.0.0.1:${pa}`);
    const sb = await share(b, [`tcp://127.0.0.1:${pa}`], `tcp://127.0.0.1:${pb}`);
    await until(() => sb.peerCount === 1, 'B to hear A');
    ea.acquire(300);
    ea.startPrefill(250);
    await until(() => eb.inflightRequests === 1, "A's dispatch at B");
    expect(eb.ownInflightRequests).toBe(0);
    expect([eb.inflightPromptTokens, eb.pendingPrefillTokens, eb.pendingPrefillRequests]).toEqual([
      300, 250, 1,
    ]);
    expect(ea.inflightRequests).toBe(1); // not counted twice at A
    ea.endPrefill(250);
    await until(() => eb.pendingPrefillRequests === 0, "A's first token at B");
    expect(eb.inflightRequests).toBe(1);
    ea.release(300, 400);
    await until(() => eb.inflightRequests === 0, "A's completion at B");
  });

  it('a full message clears what it omits; a silent peer is forgotten; unknown endpoints wait', async () => {
    const [pb, pf] = [await reservePort(), await reservePort()];
    const eb = state(1);
    const b = new Map([[eb.id, eb]]);
    const sb = await share(b, [`tcp://127.0.0.1:${pf}`], `tcp://127.0.0.1:${pb}`);
    const fake = new Publisher();
    await fake.bind(`tcp://127.0.0.1:${pf}`);
    closers.push(() => fake.close());
    const send = (m: unknown) => fake.send(['load', typeof m === 'string' ? m : JSON.stringify(m)]);
    const load = (id: string, n: number) => ({
      v: 1,
      from: 'fake',
      full: false,
      eps: { [id]: [n, n * 10, 0, 0] },
    });
    // The SUB connects asynchronously: repeat until the first message lands.
    await until(() => {
      void send(load(eb.id, 2));
      return eb.inflightRequests === 2;
    }, 'the fake peer to be heard');
    // Junk is dropped whole and changes nothing.
    await send('not json');
    await send({ v: 1, from: 'fake', full: false, eps: { [eb.id]: [9, 9, 9] } });
    // Counts for an endpoint B does not know yet are applied when it appears.
    await send(load('10.0.0.1:2', 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(eb.inflightRequests).toBe(2);
    const late = state(2);
    b.set(late.id, late);
    sb.adopt(late);
    expect(late.inflightRequests).toBe(5);
    // A full message without the first endpoint: its lost zero is corrected.
    await send({ v: 1, from: 'fake', full: true, eps: { '10.0.0.1:2': [5, 50, 0, 0] } });
    await until(() => eb.inflightRequests === 0, 'the full message to clear it');
    expect(late.inflightRequests).toBe(5);
    // Then silence: after the expiry (400 ms here) the peer's counts are gone everywhere.
    await until(
      () => late.inflightRequests === 0 && sb.peerCount === 0,
      'the silent peer to be forgotten',
      3000,
    );
  });
});
