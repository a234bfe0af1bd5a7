/**
 * Builders for the picker's answers to Envoy, and readers for what Envoy sends, following the
 * endpoint-picker protocol (gateway-api-inference-extension proposal 004; llm-d-router
 * pkg/epp/handlers). Pure functions over the wire types of ./proto.ts.
 */
import { type GatewayError, gatewayErrorBody } from '../openai/errors.js';
import type {
  CommonResponse,
  HeaderMutation,
  HeaderValue,
  HeaderValueOption,
  HttpHeaders,
  ProcessingRequest,
  ProcessingResponse,
  ProtoStruct,
  ProtoValue,
} from './proto.js';
import { OVERWRITE_IF_EXISTS_OR_ADD } from './proto.js';

/** Header and `envoy.lb` metadata key naming the chosen endpoints (`ip:port[,ip:port…]`). */
export const DESTINATION_ENDPOINT_KEY = 'x-gateway-destination-endpoint';
/** Dynamic-metadata namespace Envoy's load balancer reads the destination from. */
export const DESTINATION_NAMESPACE = 'envoy.lb';
/** Key under `envoy.lb` in the response's metadata_context: the endpoint that served. */
export const DESTINATION_SERVED_KEY = 'x-gateway-destination-endpoint-served';
/** Metadata namespace of the proxy's subset hint, and its key (a list of `ip:port`). */
export const SUBSET_NAMESPACE = 'envoy.lb.subset_hint';
export const SUBSET_KEY = 'x-gateway-destination-endpoint-subset';
/** The ext_proc filter's own attribute namespace (what `response_attributes` are reported under). */
export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';
/** CEL attribute: the upstream host the request went to (`ip:port`). */
export const UPSTREAM_ADDRESS_ATTRIBUTE = 'upstream.address';
/** Why a request was refused with 429 (the reference's header and values). */
export const DROPPED_REASON_HEADER = 'x-llm-d-request-dropped-reason';

/** Largest body chunk sent back in one message (the reference's 62,000-byte limit). */
export const BODY_CHUNK_LIMIT = 62_000;

/** Lower-cased header map of an HttpHeaders message; the last value of a repeated name wins. */
export function headerMap(h: HttpHeaders | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const list = h?.headers?.headers;
  if (list === undefined) return out;
  for (let i = 0; i < list.length; i++) {
    const hv = list[i]!;
    out[hv.key.toLowerCase()] = headerValue(hv);
  }
  return out;
}

/** Envoy fills `raw_value` (bytes); older proxies fill `value`. */
export function headerValue(hv: HeaderValue): string {
  if (hv.rawValue !== undefined && hv.rawValue.length > 0) return hv.rawValue.toString('latin1');
  return hv.value ?? '';
}

export function setHeader(key: string, value: string): HeaderValueOption {
  return {
    header: { key, rawValue: Buffer.from(value, 'latin1') },
    appendAction: OVERWRITE_IF_EXISTS_OR_ADD,
  };
}

function stringValue(v: string): ProtoValue {
  return { stringValue: v };
}

/**
 * The answer to the request headers once an endpoint is chosen: the destination as a header and as
 * `envoy.lb` metadata (same string), the route cache cleared so Envoy re-reads the header, and the
 * Content-Length of the body that follows (it may have been rewritten).
 */
export function requestHeadersResponse(
  destination: string,
  extraHeaders: readonly HeaderValueOption[],
): ProcessingResponse {
  const response: CommonResponse = {
    clearRouteCache: true,
    headerMutation: { setHeaders: [setHeader(DESTINATION_ENDPOINT_KEY, destination), ...extraHeaders] },
  };
  return {
    requestHeaders: { response },
    dynamicMetadata: {
      fields: {
        [DESTINATION_NAMESPACE]: {
          structValue: { fields: { [DESTINATION_ENDPOINT_KEY]: stringValue(destination) } },
        },
      },
    },
  };
}

export type BodyDirection = 'requestBody' | 'responseBody';

/**
 * `body` as streamed body responses of at most BODY_CHUNK_LIMIT bytes each; the last one carries
 * `endOfStream`. An empty body is one empty message (Envoy still needs the end of stream).
 */
export function bodyResponses(
  direction: BodyDirection,
  body: Buffer,
  endOfStream: boolean,
): ProcessingResponse[] {
  const out: ProcessingResponse[] = [];
  const n = body.length;
  let at = 0;
  do {
    const end = Math.min(n, at + BODY_CHUNK_LIMIT);
    out.push(bodyResponse(direction, body.subarray(at, end), endOfStream && end === n));
    at = end;
  } while (at < n);
  return out;
}

export function bodyResponse(
  direction: BodyDirection,
  body: Buffer,
  endOfStream: boolean,
): ProcessingResponse {
  return { [direction]: { response: { bodyMutation: { streamedResponse: { body, endOfStream } } } } };
}

/**
 * The answer to the response headers: drops Content-Length when the body sent back may differ, and
 * sets `setHeaders` (the served endpoint, when the client asked for it).
 */
export function responseHeadersResponse(
  bodyChanges: boolean,
  setHeaders: readonly HeaderValueOption[] = [],
): ProcessingResponse {
  const headerMutation: HeaderMutation = {};
  if (bodyChanges) headerMutation.removeHeaders = ['content-length'];
  if (setHeaders.length > 0) headerMutation.setHeaders = [...setHeaders];
  return {
    responseHeaders: {
      response: bodyChanges || setHeaders.length > 0 ? { headerMutation } : {},
    },
  };
}

/** Why a 429 was answered, as the reference names it. */
function droppedReason(err: GatewayError): string | undefined {
  switch (err.code) {
    case 'POOL_SATURATED':
      return 'rejected-saturated';
    case 'QUEUE_TIMEOUT':
      return 'rejected-ttl-expired';
    default:
      return undefined;
  }
}

/**
 * An error the picker answers itself, as Envoy's ImmediateResponse: the status from the one
 * code → status mapping (src/openai/errors.ts), an OpenAI-style JSON body, and for a shed request the
 * reference's `x-llm-d-request-dropped-reason`.
 */
export function immediateError(err: GatewayError, requestId: string | undefined): ProcessingResponse {
  const setHeaders = [setHeader('content-type', 'application/json')];
  if (requestId !== undefined) setHeaders.push(setHeader('x-request-id', requestId));
  const reason = droppedReason(err);
  if (reason !== undefined) setHeaders.push(setHeader(DROPPED_REASON_HEADER, reason));
  return {
    immediateResponse: {
      status: { code: err.status },
      headers: { setHeaders },
      body: Buffer.from(JSON.stringify(gatewayErrorBody(err))),
      details: err.code,
    },
  };
}

function structField(s: ProtoStruct | null | undefined, key: string): ProtoValue | undefined {
  return s?.fields?.[key];
}

/**
 * The proxy's subset hint: the endpoints (`ip:port`) this request may go to. Undefined when the
 * proxy sent none (every endpoint of the pool is a candidate); an empty list means none is.
 */
export function subsetHint(req: ProcessingRequest): string[] | undefined {
  const ns = req.metadataContext?.filterMetadata?.[SUBSET_NAMESPACE];
  const v = structField(ns, SUBSET_KEY);
  if (v === undefined) return undefined;
  const values = v.listValue?.values;
  if (values === undefined) return typeof v.stringValue === 'string' ? splitList(v.stringValue) : [];
  // (A decoded Value reads '' for an unset string: the same empty list as a null value.)
  const out: string[] = [];
  for (const item of values) if (typeof item.stringValue === 'string') out.push(item.stringValue);
  return out;
}

/**
 * The endpoint that served the request, as the proxy reports it on the response: the protocol's
 * `envoy.lb` / `x-gateway-destination-endpoint-served` metadata, else the ext_proc filter's
 * `upstream.address` attribute (what a plain Envoy can send; `infergate envoy-config` asks for it).
 */
export function servedEndpoint(req: ProcessingRequest): string | undefined {
  const lb = req.metadataContext?.filterMetadata?.[DESTINATION_NAMESPACE];
  const served = structField(lb, DESTINATION_SERVED_KEY)?.stringValue;
  if (served) return served;
  const attr = structField(req.attributes?.[EXT_PROC_FILTER], UPSTREAM_ADDRESS_ATTRIBUTE)?.stringValue;
  return attr || undefined;
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
