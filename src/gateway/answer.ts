/**
 * The gateway's own answers: an error before any response byte (OpenAI error body, status and type
 * from src/openai/errors.ts), and the end of a response cut short after it started (a final SSE error
 * event, or a cut connection for any other body).
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { GatewayError, gatewayErrorBody } from '../openai/errors.js';
import { sseGatewayErrorEvent } from '../openai/sse-relay.js';
import type { Logger } from '../util/log.js';
import type { AbortReason } from './context.js';
import { REQUEST_ID } from './headers.js';
import type { UpstreamFailure } from './upstream-errors.js';

const JSON_CONTENT_TYPE = 'application/json';

/** The GatewayError to answer for whatever ended a request early (unknown errors are logged: 500). */
export function gatewayErrorFor(
  err: unknown,
  abortReason: AbortReason | undefined,
  logger: Logger,
  requestId: string,
): GatewayError {
  if (err instanceof GatewayError) return err;
  if (abortReason === 'timeout') {
    return new GatewayError('UPSTREAM_TIMEOUT', 'The request timed out before the upstream answered.');
  }
  if (abortReason === 'shutdown') return new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
  logger.error({ id: requestId, err }, 'internal error');
  return new GatewayError('INTERNAL', 'Internal gateway error.');
}

/** Answers `ge` as JSON, or cuts the connection when the response already started. */
export function answerError(
  res: ServerResponse,
  ge: GatewayError,
  requestId: string,
  draining: boolean,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(gatewayErrorBody(ge));
  const h: OutgoingHttpHeaders = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    [REQUEST_ID]: requestId,
  };
  // An unread (too large) body or a draining gateway: do not keep the connection.
  if (ge.code === 'BODY_TOO_LARGE' || draining) h.connection = 'close';
  res.writeHead(ge.status, h);
  res.end(body);
}

/**
 * A response that started and then failed: an SSE stream gets a final error event, anything else is
 * cut. Returns the status that describes the failure (the SSE error event's code; 502 / 504 / 503
 * for a cut body) — what the access log and the metrics record, since the head already said 200.
 */
export function endCutResponse(
  res: ServerResponse,
  isSse: boolean,
  reason: AbortReason | undefined,
  kind: UpstreamFailure,
): number {
  const timeout = reason === 'timeout' || kind === 'timeout';
  const ge = timeout
    ? new GatewayError('UPSTREAM_TIMEOUT', 'The gateway timed out the stream (request timeout).')
    : reason === 'shutdown'
      ? new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.')
      : new GatewayError('UPSTREAM_UNAVAILABLE', `The upstream stream failed (${kind}).`);
  if (isSse && !res.writableEnded && !res.destroyed) res.end(sseGatewayErrorEvent(ge));
  else res.destroy();
  return ge.status;
}
