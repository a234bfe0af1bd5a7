/**
 * Releasing a bound ZeroMQ socket's address before resolving. `socket.close()` returns at once
 * while the I/O thread closes the listener later, so a process (or test) that binds the same
 * address right after can get "Address already in use". Unbinding and waiting for the
 * listener's `close` event first makes `close()` mean the address is free again.
 */
import type { Socket } from 'zeromq';

/** Unbinds `endpoint` (as `lastEndpoint` reported it), waits until its listener is closed (at
 *  most `timeoutMs`), then closes the socket. Never throws. */
export async function closeBound(socket: Socket, endpoint: string | null, timeoutMs = 1000): Promise<void> {
  if (endpoint && !socket.closed) {
    let timer: NodeJS.Timeout | undefined;
    const released = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      socket.events.on('close', (e) => {
        if (e.address === endpoint) resolve();
      });
    });
    try {
      await socket.unbind(endpoint);
      await released;
    } catch {
      // already unbound, or the socket is going away: close below regardless
    } finally {
      clearTimeout(timer);
    }
  }
  if (!socket.closed) socket.close();
}
