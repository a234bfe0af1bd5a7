/**
 * Workload vocabulary. A workload turns a request index (0, 1, 2 …) into a prompt draft, always the
 * same draft for the same seed, flags and index, so two runs send byte-identical requests. Model
 * and header choices (LoRA / criticality mixes) and the JSON encoding are applied afterwards, by
 * RequestFactory (encode.ts).
 */

export type Endpoint = '/v1/completions' | '/v1/chat/completions';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A request before its model, headers and encoding are chosen. */
export interface PromptDraft {
  /**
   * The prompt as chat messages. For /v1/completions the contents are concatenated in order (no
   * template); synthetic text starts every token with a space, so token counts add up.
   */
  messages: ChatMessage[];
  /** Prompt length in stand-in tokens (src/sim/tokenizer.ts), contents only, without any template. */
  promptTokens: number;
  /** Output length asked for: `max_tokens` / `max_completion_tokens`. */
  maxTokens: number;
  /** Which part of the workload it belongs to (shared-prefix group, conversation), for reports. */
  group?: string | undefined;
}

/** A workload whose requests are independent of each other: request i can be built at any time. */
export interface IndexedWorkload {
  readonly kind: 'indexed';
  /** The dataset name as given to --dataset-name. */
  readonly name: string;
  draft(index: number): PromptDraft;
  /** The parameters that define it, for the JSON report. */
  describe(): Record<string, unknown>;
}

/** The request that goes on the wire. */
export interface BenchRequest {
  /** Position in the run (the workload index; for conversations, the order of sending). */
  index: number;
  /** JSON body, built once. */
  body: string;
  model: string;
  /** The `x-gateway-inference-objective` chosen by an objective mix, if any. */
  objective: string | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  promptTokens: number;
  maxTokens: number;
  group: string | undefined;
}
