/**
 * The simulator's deterministic stand-in tokenizer, shared with the benchmark's text synthesis so
 * that "a prompt of N tokens" means the same to both, and with the precise prefix-cache scorer when
 * it routes to simulators that use it (the default `--tokenizer stand-in`).
 *
 * Rules (roughly 4–5 characters per token on English text, like BPE tokenizers of current models):
 * - a run of ASCII letters is cut into pieces of at most 6 letters;
 * - every digit, punctuation mark and non-ASCII character is a piece of its own;
 * - whitespace joins the piece that follows it; trailing whitespace is one piece.
 * A token id is the 32-bit FNV-1a hash of its piece, so equal text gives equal ids.
 */
import { hashString32 } from '../util/rng.js';

const PIECE = /\s*(?:[A-Za-z]{1,6}|[^\sA-Za-z])|\s+$/gu;

export function tokenize(text: string): number[] {
  const ids: number[] = [];
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) {
    if (m[0].length === 0) {
      PIECE.lastIndex++;
      continue;
    }
    ids.push(hashString32(m[0]));
  }
  return ids;
}

export function countTokens(text: string): number {
  let n = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) {
    if (m[0].length === 0) {
      PIECE.lastIndex++;
      continue;
    }
    n++;
  }
  return n;
}

/** Common short English words: each, with its leading space, is exactly one token. */
export const VOCABULARY: readonly string[] = (
  'the of and to in is was he for it with as his on be at by had are but from or have an they which ' +
  'one you were her all she there would their we him been has when who will more no if out so said ' +
  'what up its about into than them can only other new some could time these two may then do first ' +
  'any my now such like our over man me even most made after also did many before must through back ' +
  'years where much your way well down should because each just those people how too little state ' +
  'good very make world still own see men work long get here between both life being under never day ' +
  'same another know while last might us great old year off come since against go came right used ' +
  'take three states himself few house use during without again place around however home small found ' +
  'thought went say part once general high upon school every does got united left number course war ' +
  'until always away something fact though water less public put think almost hand enough far took ' +
  'head yet system set better told nothing night end why called didnt eyes find going look asked later ' +
  'point knew city next program give group toward young days let room side social present given'
)
  .split(' ')
  .filter((w) => w.length > 0 && w.length <= 6);

/**
 * Text of exactly `nTokens` tokens under `tokenize`, drawn from VOCABULARY with `next()` (a uniform
 * [0,1) source). Every token carries its leading space, so token counts add up when texts are
 * concatenated: countTokens(a + b) === countTokens(a) + countTokens(b).
 */
export function synthText(next: () => number, nTokens: number): string {
  const parts = new Array<string>(Math.max(0, nTokens));
  for (let i = 0; i < nTokens; i++) parts[i] = ` ${VOCABULARY[Math.floor(next() * VOCABULARY.length)]}`;
  return parts.join('');
}

const ROLE_START = '<|im_start|>';
const ROLE_END = '<|im_end|>\n';

/** The stand-in's ChatML-style template: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then the assistant header. */
export function applyChatTemplate(messages: readonly { role: string; content: string }[]): string {
  let s = '';
  for (const m of messages) s += `${ROLE_START}${m.role}\n${m.content}${ROLE_END}`;
  return `${s}${ROLE_START}assistant\n`;
}
