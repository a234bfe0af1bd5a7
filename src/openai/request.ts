/**
 * Reading an OpenAI-style request body once: JSON object, `model`, `stream`, and whether the client
 * asked for usage in the stream. Used by the gateway for every JSON body it proxies.
 */
import { GatewayError } from './errors.js';

export interface ParsedRequest {
  /** The parsed body when it is a JSON object; undefined otherwise. */
  json: Record<string, unknown> | undefined;
  model: string | undefined;
  stream: boolean;
  /** `stream_options.include_usage === true`. */
  includeUsage: boolean;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

const EMPTY: ParsedRequest = { json: undefined, model: undefined, stream: false, includeUsage: false };

/**
 * Parses `body` as JSON. With `strict` (InferencePool routes), malformed JSON or a non-object body is
 * a BAD_REQUEST; otherwise (Service routes) such bodies are passed through unread. An empty body
 * (GET /v1/models) is never an error: the router decides what to do with a request without a model.
 */
export function parseRequestBody(body: Buffer, strict: boolean): ParsedRequest {
  if (body.length === 0) return EMPTY;
  let value: unknown;
  try {
    // JSON is UTF-8 (RFC 8259): on pool routes invalid bytes are refused, not replaced by U+FFFD.
    value = JSON.parse(strict ? STRICT_UTF8.decode(body) : body.toString('utf8'));
  } catch (err) {
    if (!strict) return EMPTY;
    const why = err instanceof Error ? err.message : String(err);
    throw new GatewayError('BAD_REQUEST', `The request body is not valid JSON: ${why}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (strict) throw new GatewayError('BAD_REQUEST', 'The request body must be a JSON object.');
    return EMPTY;
  }
  const json = value as Record<string, unknown>;
  const model = typeof json.model === 'string' ? json.model : undefined;
  if (strict && json.model !== undefined && model === undefined) {
    throw new GatewayError('BAD_REQUEST', 'The field `model` must be a string.', 'model');
  }
  if (strict && json.stream !== undefined && json.stream !== null && typeof json.stream !== 'boolean') {
    throw new GatewayError('BAD_REQUEST', 'The field `stream` must be a boolean.', 'stream');
  }
  const so = json.stream_options;
  const includeUsage =
    typeof so === 'object' && so !== null && (so as { include_usage?: unknown }).include_usage === true;
  return { json, model, stream: json.stream === true, includeUsage };
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The body with `stream_options.include_usage: true` added, so that the model server reports token
 * usage at the end of a stream the client did not ask usage for. Returns undefined when the body
 * already asks for it or is not a JSON object. `body` is what goes upstream (it may differ from the
 * parsed client body after a model rewrite). The common case (no `stream_options`) is a byte splice
 * after the opening `{`: the rest of the bytes are untouched.
 */
export function withStreamUsage(body: Buffer, parsed: ParsedRequest): Buffer | undefined {
  if (parsed.json === undefined || parsed.includeUsage) return undefined;
  if (parsed.json.stream_options === undefined) {
    let i = 0;
    while (i < body.length && isSpace(body[i]!)) i++;
    if (body[i] !== OPEN_BRACE) return undefined;
    let j = i + 1;
    while (j < body.length && isSpace(body[j]!)) j++;
    const member = body[j] === CLOSE_BRACE ? STREAM_USAGE_MEMBER : STREAM_USAGE_MEMBER_COMMA;
    return Buffer.concat([body.subarray(0, i + 1), member, body.subarray(i + 1)]);
  }
  // Rare: the client sent stream_options without include_usage. Merge structurally.
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const so = (json as { stream_options?: unknown }).stream_options;
  const merged =
    typeof so === 'object' && so !== null ? { ...so, include_usage: true } : { include_usage: true };
  return Buffer.from(JSON.stringify({ ...json, stream_options: merged }), 'utf8');
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

const STREAM_USAGE_MEMBER = Buffer.from('"stream_options":{"include_usage":true}');
const STREAM_USAGE_MEMBER_COMMA = Buffer.from('"stream_options":{"include_usage":true},');
