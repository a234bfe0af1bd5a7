/**
 * Token usage from a non-streamed OpenAI-style JSON answer without parsing the whole answer: the
 * top-level `"usage":{…}` member is found from the end (where model servers put it) and only that
 * object is parsed. A long completion is then no more expensive to count than a short one. Falls
 * back to a full parse when the body looks unusual.
 */
import { type Usage, usageOf } from './sse.js';

const USAGE_KEY = Buffer.from('"usage"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;

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
  let depth = 0;
  let inString = false;
  let end = -1;
  for (let j = i; j < body.length; j++) {
    const c = body[j];
    if (inString) {
      if (c === BACKSLASH) j++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN) depth++;
    else if (c === CLOSE && --depth === 0) {
      end = j;
      break;
    }
  }
  if (end < 0) return fullParse(body);
  try {
    return usageOf({ usage: JSON.parse(body.toString('utf8', i, end + 1)) });
  } catch {
    return fullParse(body);
  }
}

function fullParse(body: Buffer): Usage | undefined {
  try {
    return usageOf(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}
