/**
 * The model name in OpenAI JSON bodies, in both directions of a rewrite (an InferenceModel target
 * draw or an InferenceModelRewrite). The two directions have different contracts:
 *
 * - Request (`rewriteModel`): replaces the top-level `"model"` value of the client's body, whatever
 *   it is, keeping every other byte as the client sent it (key order, spacing, escapes, number
 *   spellings): a one-pass scan of the top-level object on the raw bytes, skipping nested values
 *   without decoding them. Bodies the scanner does not understand are re-serialised from the parsed
 *   JSON instead (same meaning, different bytes).
 * - Response (`ModelRewriter`): the model server answers with the name it was sent (`upstream`) and
 *   the client must see the name it asked for (`client`). The rewrite is textual on the JSON member
 *   `"model":"<upstream>"` (the compact form model servers emit, in whole bodies and SSE chunks), so
 *   bytes other than the name are left exactly as the server sent them. A `"model"` member written
 *   with other spacing falls back to parse → replace → stringify.
 */

// ---- Request direction -------------------------------------------------------------------------

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MODEL_KEY = Buffer.from('model');

/** The body with its model set to `model`; `json` is the parsed body, used only for the fallback. */
export function rewriteModel(body: Buffer, model: string, json?: Readonly<Record<string, unknown>>): Buffer {
  const spans = findModelValues(body);
  if (spans && spans.length > 0) {
    const replacement = Buffer.from(JSON.stringify(model));
    const parts: Buffer[] = [];
    let at = 0;
    for (const [start, end] of spans) {
      parts.push(body.subarray(at, start), replacement);
      at = end;
    }
    parts.push(body.subarray(at));
    return Buffer.concat(parts);
  }
  const obj = json ?? (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
  return Buffer.from(JSON.stringify({ ...obj, model }));
}

/**
 * Byte ranges [start, end) of every top-level `"model"` value (JSON allows duplicates; parsers keep
 * the last, so all are replaced). Undefined when the body is not a well-formed JSON object.
 */
export function findModelValues(b: Buffer): [number, number][] | undefined {
  const n = b.length;
  let i = skipWs(b, 0);
  if (b[i] !== 0x7b /* { */) return undefined;
  i = skipWs(b, i + 1);
  const spans: [number, number][] = [];
  if (b[i] === 0x7d /* } */) return spans;
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(b, i);
    if (keyEnd < 0) return undefined;
    const isModel = keyEnd - i - 2 === 5 && b.compare(MODEL_KEY, 0, 5, i + 1, keyEnd - 1) === 0;
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a /* : */) return undefined;
    i = skipWs(b, i + 1);
    const valueEnd = skipValue(b, i);
    if (valueEnd < 0) return undefined;
    if (isModel) spans.push([i, valueEnd]);
    i = skipWs(b, valueEnd);
    if (b[i] === 0x2c /* , */) {
      i = skipWs(b, i + 1);
      continue;
    }
    if (b[i] === 0x7d) return skipWs(b, i + 1) === n ? spans : undefined;
    return undefined;
  }
}

function skipWs(b: Buffer, i: number): number {
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the string starting at the quote `b[i]`, or −1. */
function stringEnd(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let k = q - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the JSON value starting at `b[i]`, or −1. */
function skipValue(b: Buffer, i: number): number {
  const n = b.length;
  const c = b[i];
  if (c === undefined) return -1;
  if (c === QUOTE) return stringEnd(b, i);
  if (c === 0x7b || c === 0x5b /* [ */) {
    let depth = 0;
    let j = i;
    while (j < n) {
      const d = b[j]!;
      if (d === QUOTE) {
        j = stringEnd(b, j);
        if (j < 0) return -1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // number, true, false, null: up to the next delimiter
  let j = i;
  while (j < n) {
    const d = b[j]!;
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j > i ? j : -1;
}

// ---- Response direction ------------------------------------------------------------------------

/** Rewrites `"model":"<upstream>"` back to `"model":"<client>"` in response bodies and SSE chunks. */
export class ModelRewriter {
  private readonly needle: string;
  private readonly replacement: string;

  constructor(
    readonly upstream: string,
    readonly client: string,
  ) {
    this.needle = `"model":${JSON.stringify(upstream)}`;
    this.replacement = `"model":${JSON.stringify(client)}`;
  }

  /** The JSON text with every `"model":"<upstream>"` member naming `client` instead. */
  rewriteText(text: string): string {
    if (text.includes(this.needle)) return text.replaceAll(this.needle, this.replacement);
    if (!text.includes('"model"')) return text;
    // Unusual spacing: fall back to a structural rewrite of the top-level member.
    try {
      const obj: unknown = JSON.parse(text);
      if (typeof obj === 'object' && obj !== null && (obj as { model?: unknown }).model === this.upstream) {
        (obj as { model: string }).model = this.client;
        return JSON.stringify(obj);
      }
    } catch {
      // Not JSON: leave it alone.
    }
    return text;
  }

  rewriteBuffer(body: Buffer): Buffer {
    const text = body.toString('utf8');
    const out = this.rewriteText(text);
    return out === text ? body : Buffer.from(out, 'utf8');
  }
}
