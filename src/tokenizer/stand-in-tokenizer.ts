/** The simulator's stand-in tokenizer and ChatML-style template behind the PromptTokenizer interface. */
import { applyChatTemplate, tokenize } from './stand-in.js';
import type { ChatMessage, PromptTokenizer } from './types.js';

export const STAND_IN_TOKENIZER = 'stand-in';

export class StandInTokenizer implements PromptTokenizer {
  readonly name = STAND_IN_TOKENIZER;

  encode(text: string, _addSpecialTokens: boolean): number[] {
    return tokenize(text);
  }

  renderChat(messages: readonly ChatMessage[]): string {
    return applyChatTemplate(messages);
  }
}
