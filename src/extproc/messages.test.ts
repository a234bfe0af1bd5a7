import { describe, expect, it } from 'vitest';
import { GatewayError } from '../openai/errors.js';
import {
  BODY_CHUNK_LIMIT,
  bodyResponses,
  headerMap,
  immediateError,
  requestHeadersResponse,
  servedEndpoint,
  subsetHint,
} from './messages.js';
import {
  BODY_SEND_MODE_NONE,
  extProcService,
  loadExtProcRoot,
  OVERWRITE_IF_EXISTS_OR_ADD,
  type ProcessingRequest,
} from './proto.js';

describe('ext_proc messages', () => {
  it('splits a body into chunks of at most 62,000 bytes, end of stream on the last only', () => {
    const body = Buffer.alloc(BODY_CHUNK_LIMIT * 2 + 5, 0x61);
    const out = bodyResponses('requestBody', body, true);
    const chunks = out.map((r) => r.requestBody!.response.bodyMutation!.streamedResponse);
    expect(chunks.map((c) => c.body.length)).toEqual([BODY_CHUNK_LIMIT, BODY_CHUNK_LIMIT, 5]);
    expect(chunks.map((c) => c.endOfStream)).toEqual([false, false, true]);
    expect(Buffer.concat(chunks.map((c) => c.body)).equals(body)).toBe(true);
    expect(bodyResponses('responseBody', Buffer.alloc(0), true)).toHaveLength(1);
    expect(
      bodyResponses('responseBody', body, false).at(-1)!.responseBody!.response.bodyMutation!.streamedResponse
        .endOfStream,
    ).toBe(false);
  });

  it('answers the headers with the destination as header and envoy.lb metadata, route cache cleared', () => {
    const r = requestHeadersResponse('10.0.0.1:8000,10.0.0.2:8000', []);
    const common = r.requestHeaders!.response;
    expect(common.clearRouteCache).toBe(true);
    const h = common.headerMutation!.setHeaders![0]!;
    expect(h.header.key).toBe('x-gateway-destination-endpoint');
    expect(h.header.rawValue.toString()).toBe('10.0.0.1:8000,10.0.0.2:8000');
    expect(h.appendAction).toBe(OVERWRITE_IF_EXISTS_OR_ADD);
    const lb = r.dynamicMetadata!.fields!['envoy.lb']!.structValue!.fields!;
    expect(lb['x-gateway-destination-endpoint']!.stringValue).toBe('10.0.0.1:8000,10.0.0.2:8000');
  });

  it('maps errors to ImmediateResponse with the status, an OpenAI body and the dropped reason on 429', () => {
    const table: [GatewayError, number, string | undefined][] = [
      [new GatewayError('BAD_REQUEST', 'bad'), 400, undefined],
      [new GatewayError('MODEL_NOT_FOUND', 'no model', 'model'), 404, undefined],
      [new GatewayError('POOL_SATURATED', 'full'), 429, 'rejected-saturated'],
      [new GatewayError('QUEUE_TIMEOUT', 'late'), 429, 'rejected-ttl-expired'],
      [new GatewayError('NO_READY_ENDPOINT', 'none'), 503, undefined],
      [new GatewayError('INTERNAL', 'oops'), 500, undefined],
    ];
    for (const [err, status, reason] of table) {
      const ir = immediateError(err, 'rid').immediateResponse!;
      expect(ir.status.code).toBe(status);
      const body = JSON.parse(ir.body.toString()) as {
        error: { code: number; message: string; param: unknown };
      };
      expect(body.error.code).toBe(status);
      expect(body.error.message).toBe(err.message);
      expect(body.error.param).toBe(err.param);
      const headers = Object.fromEntries(
        ir.headers!.setHeaders!.map((h) => [h.header.key, h.header.rawValue.toString()]),
      );
      expect(headers['content-type']).toBe('application/json');
      expect(headers['x-request-id']).toBe('rid');
      expect(headers['x-llm-d-request-dropped-reason']).toBe(reason);
    }
  });

  it('reads headers (raw_value or value), the subset hint and the served endpoint', () => {
    expect(
      headerMap({
        headers: {
          headers: [
            { key: ':path', rawValue: Buffer.from('/v1/x') },
            { key: 'X-A', value: 'b' },
          ],
        },
      }),
    ).toEqual({ ':path': '/v1/x', 'x-a': 'b' });
    const subset = (values: string[] | undefined): ProcessingRequest => ({
      metadataContext: {
        filterMetadata:
          values === undefined
            ? {}
            : {
                'envoy.lb.subset_hint': {
                  fields: {
                    'x-gateway-destination-endpoint-subset': {
                      listValue: { values: values.map((v) => ({ stringValue: v })) },
                    },
                  },
                },
              },
      },
    });
    expect(subsetHint(subset(undefined))).toBeUndefined();
    expect(subsetHint(subset([]))).toEqual([]);
    expect(subsetHint(subset(['10.0.0.1:8000', '10.0.0.2:8000']))).toEqual([
      '10.0.0.1:8000',
      '10.0.0.2:8000',
    ]);
    const lb = { fields: { 'x-gateway-destination-endpoint-served': { stringValue: '10.0.0.2:8000' } } };
    expect(servedEndpoint({ metadataContext: { filterMetadata: { 'envoy.lb': lb } } })).toBe('10.0.0.2:8000');
    const attr = { fields: { 'upstream.address': { stringValue: '10.0.0.3:8000' } } };
    expect(servedEndpoint({ attributes: { 'envoy.filters.http.ext_proc': attr } })).toBe('10.0.0.3:8000');
    expect(servedEndpoint({})).toBeUndefined();
  });

  it('uses the enum numbers of the loaded protocol (encoding writes numbers, decoding reads them)', () => {
    const root = loadExtProcRoot();
    const append = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction');
    expect(append.values.OVERWRITE_IF_EXISTS_OR_ADD).toBe(OVERWRITE_IF_EXISTS_OR_ADD);
    const modes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
    expect(modes.values.NONE).toBe(BODY_SEND_MODE_NONE);
    expect(modes.values.FULL_DUPLEX_STREAMED).toBe(4);
  });

  it('decodes what Envoy sends into messages the readers understand (oneof name, defaults, metadata)', () => {
    const root = loadExtProcRoot();
    const type = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
    const process = (
      extProcService() as unknown as Record<string, { requestDeserialize(b: Buffer): ProcessingRequest }>
    ).Process!;
    const wire = (o: object) =>
      process.requestDeserialize(Buffer.from(type.encode(type.fromObject(o)).finish()));
    const headers = wire({
      requestHeaders: {
        headers: {
          headers: [
            { key: 'X-Request-Id', rawValue: Buffer.from('abc') },
            { key: ':path', value: '/v1' },
          ],
        },
        endOfStream: true,
      },
      protocolConfig: { requestBodyMode: 'FULL_DUPLEX_STREAMED' },
    });
    expect(headers.request).toBe('requestHeaders');
    expect(headerMap(headers.requestHeaders!)).toEqual({ 'x-request-id': 'abc', ':path': '/v1' });
    expect(headers.requestHeaders!.endOfStream).toBe(true);
    // Not on the wire (proto3 default): the response body mode reads NONE.
    expect(headers.protocolConfig!.responseBodyMode).toBe(BODY_SEND_MODE_NONE);
    const served = wire({
      responseHeaders: {},
      metadataContext: {
        filterMetadata: {
          'envoy.lb': {
            fields: { 'x-gateway-destination-endpoint-served': { stringValue: '10.0.0.9:8000' } },
          },
        },
      },
    });
    expect(served.request).toBe('responseHeaders');
    expect(served.protocolConfig ?? undefined).toBeUndefined();
    expect(servedEndpoint(served)).toBe('10.0.0.9:8000');
    expect(subsetHint(served)).toBeUndefined();
    const hinted = wire({
      requestBody: { body: Buffer.from('{}'), endOfStream: true },
      metadataContext: {
        filterMetadata: {
          'envoy.lb.subset_hint': {
            fields: {
              'x-gateway-destination-endpoint-subset': {
                listValue: { values: [{ stringValue: '10.0.0.1:80' }] },
              },
            },
          },
        },
      },
    });
    expect(hinted.request).toBe('requestBody');
    expect(Buffer.from(hinted.requestBody!.body!).toString()).toBe('{}');
    expect(subsetHint(hinted)).toEqual(['10.0.0.1:80']);
    expect(servedEndpoint(hinted)).toBeUndefined();
  });

  it('round-trips a streamed body response through the wire encoding (the field the shipped protos lack)', () => {
    const process = (
      extProcService() as unknown as Record<
        string,
        { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }
      >
    ).Process!;
    const msg = bodyResponses('responseBody', Buffer.from('data: x\n\n'), true)[0]!;
    const back = process.responseDeserialize(process.responseSerialize(msg)) as typeof msg;
    const sr = back.responseBody!.response.bodyMutation!.streamedResponse;
    expect(Buffer.from(sr.body).toString()).toBe('data: x\n\n');
    expect(sr.endOfStream).toBe(true);
  });
});
