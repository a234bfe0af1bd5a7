/**
 * How the simulator stays consistent with what it writes: coalesced writes (first and last tokens
 * at once, the others within the write interval), engine time stretched when the process stalls,
 * and streams framed on the socket directly (HTTP/1.1 chunks, keep-alive preserved; HTTP/1.0 falls
 * back to ServerResponse). Assertions compare counts and bytes, never wall-clock durations.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, type SimClusterOptions, startSimCluster } from '../../src/sim/index.js';
import { postJson, readSse, scrape, words } from './helpers.js';

let sim: SimCluster | undefined;

async function start(opts: SimClusterOptions): Promise<{ url: string; port: number }> {
  sim = await startSimCluster({ servedModelNames: ['m'], timeScale: 0.01, ...opts });
  return { url: sim.replicas[0]!.url, port: sim.replicas[0]!.port };
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function streamChat(url: string, i: number, maxTokens: number): Promise<unknown[]> {
  const res = await postJson(`${url}/v1/chat/completions`, {
    messages: [{ role: 'user', content: words(20, i) }],
    max_tokens: maxTokens,
    ignore_eos: true,
    stream: true,
  });
  expect(res.status).toBe(200);
  return readSse(res);
}

describe('coalesced writes', () => {
  it('with a long write interval, a stream takes two writes (its first and its last token) and arrives intact', async () => {
    const { url } = await start({ writeIntervalMs: 10_000 });
    const streams = await Promise.all(Array.from({ length: 4 }, (_, i) => streamChat(url, i, 50)));
    for (const events of streams) {
      expect(events).toHaveLength(1 + 50 + 1); // role chunk, 50 tokens, [DONE]
      expect(events.at(-1)).toBe('[DONE]');
      const last = events.at(-2) as { choices: { finish_reason: string }[] };
      expect(last.choices[0]!.finish_reason).toBe('length');
    }
    const s = await scrape(url);
    expect(s.value('sim_socket_writes_total')).toBe(2 * 4);
    expect(s.hist('sim_token_emit_error_seconds').count).toBe(50 * 4);
    expect(s.hist('sim_first_token_emit_error_seconds').count).toBe(4);
    expect(s.value('sim_write_interval_seconds')).toBe(10);
  });

  it('with interval 0, every wake-up that produced tokens writes them', async () => {
    const { url } = await start({ writeIntervalMs: 0 });
    const streams = await Promise.all(Array.from({ length: 4 }, (_, i) => streamChat(url, i, 50)));
    for (const events of streams) expect(events).toHaveLength(52);
    const s = await scrape(url);
    // 50 tokens of ≈ 0.12 ms wall each, and a wake-up catches up at most --max-emit-lag-ms (2 ms).
    expect(s.value('sim_socket_writes_total')).toBeGreaterThan(2 * 4);
    expect(s.value('sim_write_interval_seconds')).toBe(0);
  });
});

describe('stretch', () => {
  it('a stalled process stretches engine time: the stall counts in the engine’s own latencies', async () => {
    const { url } = await start({ maxEmitLagMs: 2 });
    const res = await postJson(`${url}/v1/completions`, {
      prompt: words(50),
      max_tokens: 1000, // ≈ 120 ms of wall time at scale 0.01
      ignore_eos: true,
      stream: true,
    });
    expect(res.status).toBe(200);
    let text = '';
    let stalled = false;
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      if (!stalled) {
        stalled = true;
        const blockedUntil = performance.now() + 300;
        while (performance.now() < blockedUntil); // the whole process stalls (sim and client share it)
      }
    }
    expect(text.split('\n\n').filter((e) => e.startsWith('data: '))).toHaveLength(1000 + 1);
    const s = await scrape(url);
    const stall = s.value('sim_engine_stall_seconds_total');
    // ≈ 298 ms of wall time lost = 29.8 engine seconds (more on a busy machine, never less).
    expect(stall).toBeGreaterThan(25);
    expect(s.hist('vllm:e2e_request_latency_seconds').sum).toBeGreaterThan(stall);
    expect(s.value('sim_engine_busy_seconds_total')).toBeGreaterThan(0);
  });
});

/** Sends raw bytes and collects the reply until `done(buffer)` or the connection closes. */
function exchange(sock: Socket, request: string, done: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (done(buf)) finish();
    };
    const finish = () => {
      sock.off('data', onData);
      sock.off('close', finish);
      sock.off('error', reject);
      resolve(buf);
    };
    sock.on('data', onData);
    sock.once('close', finish);
    sock.once('error', reject);
    sock.write(request);
  });
}

/** Decodes a chunked body strictly: every size line must match the bytes before its CRLF. */
function dechunk(body: Buffer): { data: string; complete: boolean } {
  let off = 0;
  const parts: Buffer[] = [];
  for (;;) {
    const eol = body.indexOf('\r\n', off);
    if (eol < 0) return { data: Buffer.concat(parts).toString('utf8'), complete: false };
    const sizeText = body.toString('latin1', off, eol);
    expect(sizeText).toMatch(/^[0-9a-f]+$/);
    const size = Number.parseInt(sizeText, 16);
    const start = eol + 2;
    if (body.length < start + size + 2)
      return { data: Buffer.concat(parts).toString('utf8'), complete: false };
    expect(body.toString('latin1', start + size, start + size + 2)).toBe('\r\n');
    if (size === 0) return { data: Buffer.concat(parts).toString('utf8'), complete: true };
    parts.push(body.subarray(start, start + size));
    off = start + size + 2;
  }
}

function splitResponse(buf: Buffer): { head: string; body: Buffer } {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { head: '', body: Buffer.alloc(0) };
  return { head: buf.toString('latin1', 0, end), body: buf.subarray(end + 4) };
}

function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice(6);
    });
}

function completionRequest(version: '1.0' | '1.1', maxTokens: number, model: string): string {
  const body = JSON.stringify({ model, prompt: words(10), max_tokens: maxTokens, stream: true });
  return (
    `POST /v1/completions HTTP/${version}\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

describe('streams framed on the socket', () => {
  it('writes valid HTTP/1.1 chunks (UTF-8 sizes with a non-ASCII model name) and keeps the connection alive', async () => {
    const model = 'modèle-ü';
    const { port } = await start({ servedModelNames: [model], writeIntervalMs: 0 });
    const sock = connect({ port, host: '127.0.0.1' });
    try {
      for (let round = 0; round < 2; round++) {
        const reply = await exchange(
          sock,
          completionRequest('1.1', 30, model),
          (b) => dechunk(splitResponse(b).body).complete,
        );
        const { head, body } = splitResponse(reply);
        expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
        expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
        const { data, complete } = dechunk(body);
        expect(complete).toBe(true);
        const events = sseData(data);
        expect(events).toHaveLength(31);
        expect(events.at(-1)).toBe('[DONE]');
        for (const e of events.slice(0, -1)) expect((JSON.parse(e) as { model: string }).model).toBe(model);
      }
      expect(sock.destroyed).toBe(false); // the same connection served both requests
    } finally {
      sock.destroy();
    }
  });

  it('answers an HTTP/1.0 client without chunked framing and closes the connection', async () => {
    const { port } = await start({ writeIntervalMs: 0 });
    const sock = connect({ port, host: '127.0.0.1' });
    try {
      const reply = await exchange(sock, completionRequest('1.0', 20, 'm'), () => false);
      const { head, body } = splitResponse(reply);
      expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(head.toLowerCase()).not.toContain('transfer-encoding');
      const events = sseData(body.toString('utf8'));
      expect(events).toHaveLength(21);
      expect(events.at(-1)).toBe('[DONE]');
    } finally {
      sock.destroy();
    }
  });
});
