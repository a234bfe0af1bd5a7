/**
 * How a prompt becomes token ids, the way the model server does it: chat messages rendered with
 * the model's chat template, then encoded. The simulator and the precise prefix-cache scorer use the
 * same implementation so that the gateway's view of a prompt's blocks is the server's.
 */

/**
 * One chat message with its text content (content parts already joined), and the other fields of
 * vLLM's conversation message the template may read (tool_calls, tool_call_id, name, reasoning;
 * chat-request.ts builds them from a request).
 */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  readonly [field: string]: unknown;
}

export interface PromptTokenizer {
  /** `stand-in` or the tokenizer file it was loaded from. */
  readonly name: string;
  /**
   * Token ids of `text`. `addSpecialTokens`: add the model's BOS/EOS as its tokenizer config says
   * (vLLM does for /v1/completions prompts, not for rendered chat templates, which carry their own).
   */
  encode(text: string, addSpecialTokens: boolean): number[];
  /**
   * The chat template applied to `messages`, with the assistant generation prompt appended unless
   * `vars` says otherwise; `vars`: the template's other variables (chat-request.ts), over the
   * tokenizer's own (BOS/EOS).
   */
  renderChat(messages: readonly ChatMessage[], vars?: Readonly<Record<string, unknown>>): string;
  /**
   * `text` cut where the tokenizer itself cuts it before encoding (at its added tokens), so that
   * encode(text, addSpecialTokens) is exactly the concatenation of encodePiece over the pieces — a
   * caller may then cache per piece. Undefined when no exact cut exists (added tokens that strip
   * neighbouring whitespace or match after normalisation, or special tokens that would be added).
   */
  pieces?(text: string, addSpecialTokens: boolean): string[] | undefined;
  /** Token ids of one piece from `pieces` (an added token's id, or the text between two). */
  encodePiece?(piece: string): readonly number[];
  /** Which implementations serve this tokenizer and why (for the startup log). */
  describe?(): Readonly<Record<string, string | undefined>>;
  /** How its chat template has rendered so far (a Hugging Face tokenizer with a template). */
  readonly chatTemplateStats?: Readonly<{ kind: string; compiled: number; library: number }>;
}
