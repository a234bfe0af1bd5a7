/**
 * Header handling of a proper proxy: hop-by-hop headers (RFC 9110 §7.6.1, plus every header the
 * Connection header names) are not forwarded in either direction; the gateway sets `x-request-id`,
 * `x-forwarded-for`, `x-forwarded-proto` and `x-gateway-destination-endpoint` (as the reference
 * endpoint picker's proxy does) upstream, and `x-request-id` on every response.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader } from 'node:http';
import type { HeaderModifierPlan } from '../config/plan.js';
import { DECISION_RESPONSE_HEADER, ENDPOINT_RESPONSE_HEADER } from '../requestcontrol/index.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
  'expect', // 100-continue is answered by the gateway's own server; the upstream gets the whole body
]);

/** Headers the gateway itself sets upstream; a client's values are replaced (x-forwarded-for: appended). */
const SET_BY_GATEWAY = new Set([
  'content-length',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-gateway-destination-endpoint',
]);

export const REQUEST_ID = 'x-request-id';
export const DESTINATION_ENDPOINT = 'x-gateway-destination-endpoint';
/** Response header naming the endpoint that answered (`serve --debug-headers` only: an internal address). */
export const DEBUG_ENDPOINT = ENDPOINT_RESPONSE_HEADER;
/** One-line JSON of the scheduling decision (`serve --debug-headers` only). */
export const DEBUG_DECISION = DECISION_RESPONSE_HEADER;
/** The request header clients used to ask for DEBUG_ENDPOINT; the gateway ignores it (issue 12). */
export const DEBUG_REQUEST = 'x-infergate-debug';

/** Upstream request headers as a flat [name, value, …] list, with one slot left for the endpoint. */
export interface UpstreamHeaders {
  list: string[];
  /** Index in `list` of the x-gateway-destination-endpoint value (set per attempt). */
  endpointSlot: number;
  /** Index of the Host value, or -1 when the client sent none. */
  hostSlot: number;
}

export interface UpstreamHeaderOptions {
  requestId: string;
  /** URLRewrite hostname: replaces Host. */
  host?: string;
  modifier?: HeaderModifierPlan;
  /** Client address, appended to x-forwarded-for. */
  remoteAddress?: string;
}

export function buildUpstreamHeaders(req: IncomingMessage, opts: UpstreamHeaderOptions): UpstreamHeaders {
  const raw = req.rawHeaders;
  const connectionTokens = connectionHeaderTokens(req.headers.connection);
  const list: string[] = [];
  let forwardedFor: string | undefined;
  let hostSlot = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens?.has(lower)) continue;
    if (SET_BY_GATEWAY.has(lower)) {
      if (lower === 'x-forwarded-for')
        forwardedFor = forwardedFor ? `${forwardedFor}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (lower === 'host') {
      if (hostSlot >= 0) continue;
      hostSlot = list.length + 1;
      list.push('host', opts.host ?? raw[i + 1]!);
      continue;
    }
    list.push(name, raw[i + 1]!);
  }
  if (hostSlot < 0 && opts.host !== undefined) {
    hostSlot = list.length + 1;
    list.push('host', opts.host);
  }
  if (opts.modifier) applyModifier(list, opts.modifier);
  const xff = opts.remoteAddress
    ? forwardedFor
      ? `${forwardedFor}, ${opts.remoteAddress}`
      : opts.remoteAddress
    : forwardedFor;
  if (xff) list.push('x-forwarded-for', xff);
  list.push('x-forwarded-proto', 'http', REQUEST_ID, opts.requestId, DESTINATION_ENDPOINT, '');
  // The modifier may have removed/moved Host; find its slot again.
  if (opts.modifier) hostSlot = findSlot(list, 'host');
  return { list, endpointSlot: list.length - 1, hostSlot };
}

/** Gateway API RequestHeaderModifier: set replaces, add appends another value, remove deletes. */
function applyModifier(list: string[], m: HeaderModifierPlan): void {
  const drop = new Set<string>();
  for (const r of m.remove) drop.add(r.toLowerCase());
  for (const s of m.set) drop.add(s.name.toLowerCase());
  if (drop.size > 0) {
    let w = 0;
    for (let r = 0; r < list.length; r += 2) {
      if (drop.has(list[r]!.toLowerCase())) continue;
      list[w++] = list[r]!;
      list[w++] = list[r + 1]!;
    }
    list.length = w;
  }
  for (const s of m.set) list.push(s.name, s.value);
  for (const a of m.add) list.push(a.name, a.value);
}

function findSlot(list: readonly string[], lowerName: string): number {
  for (let i = 0; i < list.length; i += 2) if (list[i]!.toLowerCase() === lowerName) return i + 1;
  return -1;
}

function connectionHeaderTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  let set: Set<string> | undefined;
  for (const t of value.split(',')) {
    const token = t.trim().toLowerCase();
    if (token.length === 0 || token === 'close' || token === 'keep-alive') continue;
    set ??= new Set();
    set.add(token);
  }
  return set;
}

/**
 * The Host of a mirrored copy: Envoy appends `-shadow` to the host name (before any port), so the
 * mirror can tell copies from primary traffic.
 */
export function shadowHost(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close > 0 ? `${host.slice(0, close + 1)}-shadow${host.slice(close + 1)}` : `${host}-shadow`;
  }
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? `${host.slice(0, colon)}-shadow${host.slice(colon)}` : `${host}-shadow`;
}

/**
 * Response headers for the client from an upstream response, as a flat [name, value, …] list for
 * `writeHead` (cheaper than an object): hop-by-hop removed, `x-request-id` added; `content-length`
 * dropped when the body is transformed (the client then gets chunked encoding).
 */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  requestId: string,
  dropContentLength: boolean,
): OutgoingHttpHeader[] {
  const connectionTokens = connectionHeaderTokens(
    typeof upstream.connection === 'string' ? upstream.connection : undefined,
  );
  const out: OutgoingHttpHeader[] = [];
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || connectionTokens?.has(name)) continue;
    if (dropContentLength && name === 'content-length') continue;
    out.push(name, value);
  }
  out.push(REQUEST_ID, requestId);
  return out;
}
