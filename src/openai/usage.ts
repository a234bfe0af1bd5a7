/**
 * Token usage from a non-streamed OpenAI-style JSON answer without parsing the whole answer: the
 * top-level `"usage":{…}` member is found from the end (where model servers put it) and only that
 * object is read (its two counts scanned in place when they are plain integers, else the object is
 * parsed). A long completion is then no more expensive to count than a short one. Falls back to a
 * full parse when the body looks unusual.
 */
import { type Usage, usageOf } from './sse.js';

const USAGE_KEY = Buffer.from('"usage"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export function usageFromJsonBody(body: Buffer): Usage | undefined {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at < 0) return undefined;
  let i = at + USAGE_KEY.length;
  while (isSpace(body[i])) i++;
  if (body[i] !== COLON) return fullParse(body);
  i++;
  while (isSpace(body[i])) i++;
  if (body[i] !== OPEN) return undefined; // "usage": null
  // One pass to the matching `}`, reading the two counts on the way when they are plain integers
  // (members of the usage object itself, depth 1). Anything unusual: parse the object instead.
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  let end = -1;
  let prompt = -1;
  let completion = -1;
  let plain = true;
  for (let j = i; j < body.length; j++) {
    const c = body[j];
    if (inString) {
      if (c === BACKSLASH) {
        escaped = true;
        j++;
      } else if (c === QUOTE) {
        inString = false;
        // An escape in a member name of the usage object: compare names the way JSON.parse does.
        if (depth === 1 && escaped) plain = false;
        else if (depth === 1) {
          const which = countKey(body, stringStart, j);
          if (which !== NOT_A_COUNT) {
            const n = integerValueAfterKey(body, j + 1);
            if (n === NOT_PLAIN) plain = false;
            else if (n !== NOT_A_KEY) {
              if (which === PROMPT) prompt = n;
              else completion = n;
            }
          }
        }
      }
    } else if (c === QUOTE) {
      inString = true;
      escaped = false;
      stringStart = j + 1;
    } else if (c === OPEN) depth++;
    else if (c === CLOSE && --depth === 0) {
      end = j;
      break;
    }
  }
  if (end < 0) return fullParse(body);
  if (plain) {
    if (prompt < 0 && completion < 0) return undefined;
    return { promptTokens: Math.max(prompt, 0), completionTokens: Math.max(completion, 0) };
  }
  try {
    return usageOf({ usage: JSON.parse(body.toString('utf8', i, end + 1)) });
  } catch {
    return fullParse(body);
  }
}

const PROMPT_KEY = Buffer.from('prompt_tokens');
const COMPLETION_KEY = Buffer.from('completion_tokens');
const NOT_A_COUNT = 0;
const PROMPT = 1;
const COMPLETION = 2;
/** integerValueAfterKey: the string was a value, not a key (no `:` after it). */
const NOT_A_KEY = -1;
/** integerValueAfterKey: a key whose value is not a plain integer (null, float, string …). */
const NOT_PLAIN = -2;

/** Which count the string body[from, to) names, if any. */
function countKey(body: Buffer, from: number, to: number): number {
  const n = to - from;
  if (n === PROMPT_KEY.length && body.compare(PROMPT_KEY, 0, n, from, to) === 0) return PROMPT;
  if (n === COMPLETION_KEY.length && body.compare(COMPLETION_KEY, 0, n, from, to) === 0) return COMPLETION;
  return NOT_A_COUNT;
}

/** After a closing quote at `k - 1`: the member's value when it is a plain integer (≤ 15 digits). */
function integerValueAfterKey(body: Buffer, k: number): number {
  while (isSpace(body[k])) k++;
  if (body[k] !== COLON) return NOT_A_KEY;
  k++;
  while (isSpace(body[k])) k++;
  let n = 0;
  let digits = 0;
  for (let d = body[k]; d !== undefined && d >= 0x30 && d <= 0x39; d = body[++k]) {
    n = n * 10 + (d - 0x30);
    digits++;
  }
  if (digits === 0 || digits > 15) return NOT_PLAIN;
  while (isSpace(body[k])) k++;
  const after = body[k];
  return after === COMMA || after === CLOSE ? n : NOT_PLAIN;
}

function fullParse(body: Buffer): Usage | undefined {
  try {
    return usageOf(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}
