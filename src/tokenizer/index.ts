/**
 * The tokenizer room: how prompts become token ids as the model server sees them.
 * `loadTokenizer('stand-in')` is the simulator's stand-in; any other value is a local Hugging Face
 * tokenizer.json (or a directory holding one). Nothing here fetches from the network.
 */
import { readFileSync } from 'node:fs';
import { HfTokenizer } from './hf-tokenizer.js';
import { STAND_IN_TOKENIZER, StandInTokenizer } from './stand-in-tokenizer.js';
import type { PromptTokenizer } from './types.js';

export { type ChatTemplateRequest, chatTemplateRequest, messageText } from './chat-request.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { STAND_IN_TOKENIZER, StandInTokenizer } from './stand-in-tokenizer.js';
export type { ChatMessage, PromptTokenizer } from './types.js';

const loaded = new Map<string, PromptTokenizer>();

/**
 * The tokenizer named by `spec` (`stand-in`, or a path), loaded once per process and shared.
 * `chatTemplatePath`: a Jinja file overriding the tokenizer's own template. Throws with the path
 * when the files cannot be read.
 */
/** The tokenizers loaded so far in this process (for metrics). */
export function loadedTokenizers(): Iterable<PromptTokenizer> {
  return loaded.values();
}

export function loadTokenizer(spec: string = STAND_IN_TOKENIZER, chatTemplatePath?: string): PromptTokenizer {
  const key = `${spec}\u0000${chatTemplatePath ?? ''}`;
  let t = loaded.get(key);
  if (!t) {
    if (spec === STAND_IN_TOKENIZER) t = new StandInTokenizer();
    else {
      const chatTemplate =
        chatTemplatePath === undefined ? undefined : readFileSync(chatTemplatePath, 'utf8');
      t = new HfTokenizer(spec, { chatTemplate });
    }
    loaded.set(key, t);
  }
  return t;
}
