/**
 * Errors the gateway answers itself, in OpenAI's error shape (as vLLM serves it):
 *   {"error":{"message","type","param","code"}}
 * Each error has a stable code; the code → HTTP status mapping lives only in STATUS_BY_CODE.
 */
export type GatewayErrorCode =
  | 'BAD_REQUEST' // malformed JSON or a field of the wrong shape
  | 'MODEL_NOT_FOUND' // the body's model is served by no objective and the pool rejects unknown models
  | 'NO_ROUTE' // no HTTPRoute rule matched host/path/headers/method
  | 'BODY_TOO_LARGE'
  | 'POOL_SATURATED' // shed: every endpoint saturated and the request is sheddable, or the queue is full
  | 'QUEUE_TIMEOUT' // waited in the gateway queue past its deadline
  | 'NO_READY_ENDPOINT'
  | 'BACKEND_UNRESOLVED' // a backendRef that does not resolve (Kubernetes answers 500 for these)
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE' // connect error / reset before any response byte
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

const STATUS_BY_CODE: Readonly<Record<GatewayErrorCode, number>> = {
  BAD_REQUEST: 400,
  MODEL_NOT_FOUND: 404,
  NO_ROUTE: 404,
  BODY_TOO_LARGE: 413,
  POOL_SATURATED: 429,
  QUEUE_TIMEOUT: 429,
  NO_READY_ENDPOINT: 503,
  BACKEND_UNRESOLVED: 500,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_UNAVAILABLE: 502,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

/** OpenAI `type` strings by status, as vLLM and the OpenAI SDK name them. */
function openAiType(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError';
    case 404:
      return 'NotFoundError';
    case 413:
      return 'RequestTooLargeError';
    case 429:
      return 'RateLimitError';
    case 503:
      return 'ServiceUnavailableError';
    case 504:
      return 'GatewayTimeoutError';
    default:
      return status >= 500 ? 'InternalServerError' : 'BadRequestError';
  }
}

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  /** The offending request field (`model`, `messages[2].content` …), when there is one. */
  readonly param: string | null;

  constructor(code: GatewayErrorCode, message: string, param: string | null = null) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.param = param;
  }
}

export function statusOf(code: GatewayErrorCode): number {
  return STATUS_BY_CODE[code];
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: number | string };
}

/** The body for a status + message; `code` is the HTTP status, as current vLLM sends it. */
export function openAiErrorBody(
  status: number,
  message: string,
  param: string | null = null,
): OpenAiErrorBody {
  return { error: { message, type: openAiType(status), param, code: status } };
}

export function gatewayErrorBody(err: GatewayError): OpenAiErrorBody {
  return openAiErrorBody(err.status, err.message, err.param);
}
