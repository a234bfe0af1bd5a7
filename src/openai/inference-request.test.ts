import { describe, expect, it } from 'vitest';
import { inferenceRequest, type RequestEnvelope } from './inference-request.js';
import { parseRequestBody } from './request.js';

const body = Buffer.from('{"model":"m","stream":true}');
const envelope = (path: string, endpointSubset?: readonly string[]): RequestEnvelope => ({
  id: 'req-1',
  pool: 'default/pool',
  path,
  headers: { 'x-a': '1' },
  body,
  receivedAt: 12.5,
  ...(endpointSubset !== undefined ? { endpointSubset } : {}),
});

describe('inferenceRequest', () => {
  it('carries the envelope and the parsed body', () => {
    const r = inferenceRequest(envelope('/v1/completions'), parseRequestBody(body, true));
    expect(r).toEqual({
      id: 'req-1',
      pool: 'default/pool',
      path: '/v1/completions',
      headers: { 'x-a': '1' },
      body,
      json: { model: 'm', stream: true },
      model: 'm',
      stream: true,
      receivedAt: 12.5,
    });
    // No subset hint: the key is absent, not undefined (every endpoint is a candidate).
    expect('endpointSubset' in r).toBe(false);
  });

  it.each([
    ['/v1/chat/completions?api-version=2', '/v1/chat/completions'],
    ['/v1/completions?', '/v1/completions'],
    ['/v1/models?a=1?b=2', '/v1/models'],
    ['?only=query', ''],
    ['/v1/completions', '/v1/completions'],
  ])('drops the query string: %s → %s', (path, want) => {
    expect(inferenceRequest(envelope(path), parseRequestBody(body, true)).path).toBe(want);
  });

  it.each([[['10.0.0.1:8000', '10.0.0.2']], [[]]])(
    'keeps the subset hint %j (an empty one too)',
    (subset) => {
      const r = inferenceRequest(envelope('/v1/completions', subset), parseRequestBody(body, true));
      expect(r.endpointSubset).toEqual(subset);
      expect('endpointSubset' in r).toBe(true);
    },
  );
});
