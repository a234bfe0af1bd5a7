import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { reservePort } from './ports.js';

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

describe('reservePort', () => {
  it('hands out distinct ports below the ephemeral range that can be bound', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await reservePort());
    expect(new Set(ports).size).toBe(50);
    const low = ephemeralLow();
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(low);
    }
    const srv = createServer();
    await new Promise<void>((ok, fail) => {
      srv.once('error', fail);
      srv.listen(ports[0], '127.0.0.1', ok);
    });
    await new Promise((ok) => srv.close(ok));
  });

  it('never hands out one port twice to concurrent callers', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => reservePort()));
    expect(new Set(ports).size).toBe(200);
  });
});
