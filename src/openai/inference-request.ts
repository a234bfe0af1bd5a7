/**
 * CONTRACT: an OpenAI-style request bound for an InferencePool, as a front door parsed it (the HTTP
 * proxy today, an Envoy ext_proc server later). Declared here, with the body parsing, so that every
 * room that reads requests (scheduling, the datastore's objectives, request control) shares one
 * transport-neutral shape; `src/requestcontrol/types.ts` re-exports it with the other routing contracts.
 */
import type { ParsedRequest } from './request.js';

export interface InferenceRequest {
  /** The request id (`x-request-id`, generated when the client sent none). */
  readonly id: string;
  /** Pool key `namespace/name`. */
  readonly pool: string;
  /** Path after any URLRewrite, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw request bytes as received. */
  readonly body: Buffer;
  /** Parsed JSON object, or undefined when the body is empty or not a JSON object. */
  readonly json: Readonly<Record<string, unknown>> | undefined;
  /** `json.model` when it is a string. */
  readonly model: string | undefined;
  readonly stream: boolean;
  /** `performance.now()` when the request arrived. */
  readonly receivedAt: number;
  /**
   * The proxy's subset hint (ext_proc `envoy.lb.subset_hint`): only endpoints whose address appears
   * here (`ip:port` or `ip`; matched on the address, as the reference does) are candidates; an empty
   * list leaves none (NO_READY_ENDPOINT). Undefined: every endpoint of the pool is a candidate.
   */
  readonly endpointSubset?: readonly string[];
}

/** Where a request arrived and what it carried, apart from the parsed body. */
export interface RequestEnvelope {
  readonly id: string;
  readonly pool: string;
  /** Path after any URLRewrite; a query string, if any, is dropped. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly receivedAt: number;
  /** See InferenceRequest.endpointSubset. */
  readonly endpointSubset?: readonly string[];
}

/** The InferenceRequest of a body read once and parsed by `parseRequestBody`. */
export function inferenceRequest(e: RequestEnvelope, parsed: ParsedRequest): InferenceRequest {
  const q = e.path.indexOf('?');
  return {
    id: e.id,
    pool: e.pool,
    path: q < 0 ? e.path : e.path.slice(0, q),
    headers: e.headers,
    body: e.body,
    json: parsed.json,
    model: parsed.model,
    stream: parsed.stream,
    receivedAt: e.receivedAt,
    ...(e.endpointSubset !== undefined ? { endpointSubset: e.endpointSubset } : {}),
  };
}
