/**
 * Turns prompt drafts into the requests vLLM's benchmark sends: streaming with
 * `stream_options.include_usage`, `max_tokens` (completions) or `max_completion_tokens` (chat) set to
 * the draft's output length, and `ignore_eos: true` by default so the server produces exactly that
 * many tokens (vLLM's `--ignore-eos`; the simulator honours it).
 */
import { OBJECTIVE_HEADER, type SplitPicker } from './mix.js';
import type { BenchRequest, Endpoint, PromptDraft } from './types.js';

export interface EncodeOptions {
  endpoint: Endpoint;
  /** The model name sent when no model split applies (vLLM's --served-model-name or --model). */
  model: string;
  ignoreEos: boolean;
  /** Sent when set (LMCache sends 0). */
  temperature?: number | undefined;
  /** Chooses `model` per request (LoRA adapters, criticality by model name). */
  modelMix?: SplitPicker | undefined;
  /** Chooses the x-gateway-inference-objective header per request. */
  objectiveMix?: SplitPicker | undefined;
  /** Headers on every request (e.g. LMCache's x-user-id is added per conversation by the runner). */
  headers?: Readonly<Record<string, string>> | undefined;
}

export class RequestFactory {
  constructor(readonly opts: EncodeOptions) {}

  /**
   * The request for `draft`, sent as request number `index`. `mixIndex` is the index the mixes draw
   * with (a conversation uses its user id, so all its rounds go to the same adapter).
   */
  build(
    index: number,
    draft: PromptDraft,
    mixIndex = index,
    extraHeaders?: Record<string, string>,
  ): BenchRequest {
    const o = this.opts;
    const model = o.modelMix ? o.modelMix.pick(mixIndex) : o.model;
    const objective = o.objectiveMix?.pick(mixIndex);
    let headers: Record<string, string> | undefined;
    if (o.headers || objective !== undefined || extraHeaders) {
      headers = { ...o.headers, ...extraHeaders };
      if (objective !== undefined) headers[OBJECTIVE_HEADER] = objective;
    }
    const payload: Record<string, unknown> = { model };
    if (o.endpoint === '/v1/chat/completions') {
      payload.messages = draft.messages;
      payload.max_completion_tokens = draft.maxTokens;
    } else {
      let prompt = '';
      for (let i = 0; i < draft.messages.length; i++) prompt += draft.messages[i]!.content;
      payload.prompt = prompt;
      payload.max_tokens = draft.maxTokens;
    }
    if (o.temperature !== undefined) payload.temperature = o.temperature;
    payload.stream = true;
    payload.stream_options = { include_usage: true };
    if (o.ignoreEos) payload.ignore_eos = true;
    return {
      index,
      body: JSON.stringify(payload),
      model,
      objective,
      headers,
      promptTokens: draft.promptTokens,
      maxTokens: draft.maxTokens,
      group: draft.group,
    };
  }
}
