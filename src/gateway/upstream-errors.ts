/**
 * Upstream failure kinds, from undici / socket errors. Only `connect` and `reset` (no response byte
 * received yet) are retried on another endpoint.
 */
export type UpstreamFailure = 'connect' | 'reset' | 'timeout' | 'aborted' | 'error';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  if (typeof err !== 'object' || err === null) return 'error';
  const e = err as { code?: unknown; name?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'aborted';
  if (code !== undefined) {
    if (CONNECT_CODES.has(code)) return 'connect';
    if (RESET_CODES.has(code)) return 'reset';
    if (TIMEOUT_CODES.has(code)) return 'timeout';
  }
  if (e.cause !== undefined && e.cause !== err) {
    const inner = classifyUpstreamError(e.cause);
    if (inner !== 'error') return inner;
  }
  return 'error';
}

export function isRetryable(f: UpstreamFailure): boolean {
  return f === 'connect' || f === 'reset';
}
