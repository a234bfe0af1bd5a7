/**
 * A TCP port for a process that must be told its address before it starts (a peer socket, Envoy's
 * listeners, an API server), for tests and benchmarks on loopback.
 *
 * Asking the kernel for port 0 and closing the socket hands out a port from the ephemeral range,
 * which the kernel goes on handing out as the *source* port of outgoing connections: a client
 * connecting anywhere (or a ZeroMQ socket reconnecting to that very port, which connects to
 * itself) can hold it by the time the process binds, which then fails with "Address already in
 * use". So the port is picked below the ephemeral range, where the kernel never assigns one, and
 * checked free by binding it. Parallel test workers (VITEST_POOL_ID) draw from disjoint slices,
 * and one process never hands out the same port twice.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port handed out: above the registered services most machines run. */
const FLOOR = 20_000;
/** Slices for parallel workers; workers beyond this share slices (still checked by binding). */
const SLICES = 8;

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux), or 32768 where it cannot be read. */
function ephemeralLow(): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo !== undefined && Number.isInteger(lo) && lo > FLOOR + SLICES * 64) return lo;
  } catch {
    // not Linux: the IANA dynamic range starts at 49152, 32768 is below it and below Linux's default
  }
  return 32_768;
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port on `host` that is free now, outside the ephemeral range, and not handed out before by
 *  this process. Rejects after 200 tries (a machine with that slice all in use). */
export async function reservePort(host = '127.0.0.1'): Promise<number> {
  const top = ephemeralLow();
  const worker = Number(process.env.VITEST_POOL_ID ?? 0);
  const width = Math.floor((top - FLOOR) / SLICES);
  const base = FLOOR + (Number.isInteger(worker) && worker > 0 ? (worker - 1) % SLICES : SLICES - 1) * width;
  for (let i = 0; i < 200; i++) {
    const port = base + Math.floor(Math.random() * width);
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the check, so concurrent calls never draw the same port
    if (await bindable(port, host)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port found in ${base}-${base + width - 1} on ${host}`);
}
