import { describe, expect, it } from 'vitest';
import {
  GatewayError,
  type GatewayErrorCode,
  gatewayErrorBody,
  openAiErrorBody,
  statusOf,
} from './errors.js';

describe('gateway errors in OpenAI shape', () => {
  it.each<[GatewayErrorCode, number, string]>([
    ['BAD_REQUEST', 400, 'BadRequestError'],
    ['MODEL_NOT_FOUND', 404, 'NotFoundError'],
    ['NO_ROUTE', 404, 'NotFoundError'],
    ['BODY_TOO_LARGE', 413, 'RequestTooLargeError'],
    ['POOL_SATURATED', 429, 'RateLimitError'],
    ['QUEUE_TIMEOUT', 429, 'RateLimitError'],
    ['NO_READY_ENDPOINT', 503, 'ServiceUnavailableError'],
    ['BACKEND_UNRESOLVED', 500, 'InternalServerError'],
    ['UPSTREAM_TIMEOUT', 504, 'GatewayTimeoutError'],
    ['UPSTREAM_UNAVAILABLE', 502, 'InternalServerError'],
    ['SHUTTING_DOWN', 503, 'ServiceUnavailableError'],
    ['INTERNAL', 500, 'InternalServerError'],
  ])('%s → %i %s', (code, status, type) => {
    const err = new GatewayError(code, 'what went wrong', code === 'BAD_REQUEST' ? 'messages[1]' : null);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('GatewayError');
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(statusOf(code)).toBe(status);
    expect(gatewayErrorBody(err)).toEqual({
      error: { message: 'what went wrong', type, param: err.param, code: status },
    });
  });

  it('names the offending field when given, null otherwise', () => {
    expect(new GatewayError('BAD_REQUEST', 'bad', 'model').param).toBe('model');
    expect(new GatewayError('BAD_REQUEST', 'bad').param).toBeNull();
    expect(openAiErrorBody(400, 'bad')).toEqual({
      error: { message: 'bad', type: 'BadRequestError', param: null, code: 400 },
    });
  });

  it.each([
    [401, 'BadRequestError'],
    [499, 'BadRequestError'],
    [501, 'InternalServerError'],
    [599, 'InternalServerError'],
  ])('status %i without its own type → %s', (status, type) => {
    expect(openAiErrorBody(status, 'x', 'p').error).toEqual({ message: 'x', type, param: 'p', code: status });
  });
});
