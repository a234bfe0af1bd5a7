/**
 * Fault suite: hostile and malformed client input against a real `serve` + `sim`. The client gets an
 * answer in the right shape (or its connection closed), the gateway keeps serving, memory stays
 * bounded. Every load loop is bounded in count and time.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, rawRequest } from '../gateway/helpers/http.js';
import { waitFor } from '../gateway/helpers/upstream.js';
import { chat, type FaultRig, startRig } from './harness.js';

describe('hostile input', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await startRig({
      sim: ['--replicas', '2'],
      serve: ['--header-timeout', '2s', '--body-timeout', '4s', '--max-connections', '2000'],
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  async function stillServes(): Promise<void> {
    const r = await call(rig.url, '/v1/chat/completions', { json: chat() });
    expect(r.status).toBe(200);
  }

  it('answers a header flood with 431 and keeps serving', async () => {
    const headers = Array.from({ length: 200 }, (_, i) => `x-flood-${i}: ${'a'.repeat(200)}\r\n`).join('');
    const reply = await rawRequest(rig.url, `GET /v1/models HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    await stillServes();
  });

  it('refuses a body that is not UTF-8 with an OpenAI 400', async () => {
    const body = Buffer.concat([
      Buffer.from('{"model":"sim-model","messages":[{"role":"user","content":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}]}'),
    ]);
    const r = await call(rig.url, '/v1/chat/completions', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(errorOf(r).type).toBe('BadRequestError');
    await stillServes();
  });

  it('refuses a `stream` that is not a boolean, naming the field', async () => {
    for (const stream of ['yes', 1, {}]) {
      const r = await call(rig.url, '/v1/chat/completions', { json: chat({ stream }) });
      expect(r.status).toBe(400);
      expect(errorOf(r)).toMatchObject({ param: 'stream', code: 400 });
    }
    await stillServes();
  });

  it('survives 1,000 concurrent slow clients: they are cut, others are served, memory stays bounded', async () => {
    const before = await rig.rssBytes();
    const u = new URL(rig.url);
    const sockets: Socket[] = [];
    let closed = 0;
    // 1,000 connections that start a request and never finish its headers (bounded: 1,000, 20 s).
    await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(Number(u.port), u.hostname, () => {
              s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-length: 10\r\n');
              resolve();
            });
            s.on('error', () => resolve());
            s.on('close', () => {
              closed++;
            });
            s.on('data', () => undefined);
            sockets.push(s);
          }),
      ),
    );
    try {
      await stillServes();
      await waitFor(() => closed === sockets.length, 'the slow clients to be cut', 20_000);
      await stillServes();
      const after = await rig.rssBytes();
      expect(after - before).toBeLessThan(200 * 1024 * 1024);
      expect(rig.serve.child.exitCode).toBeNull();
    } finally {
      for (const s of sockets) s.destroy();
    }
  }, 60_000);
});
