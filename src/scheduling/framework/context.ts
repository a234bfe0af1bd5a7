/**
 * One request as the scheduler sees it. Built once per routing decision and kept by the decision
 * until the request completes (plugins find their per-request data here at dispatch/completion).
 * The prompt is rendered lazily and only up to the characters some configured plugin reads.
 */
import type { InferenceRequest } from '../../openai/inference-request.js';
import { renderPrompt } from './prompt.js';

export class SchedulingContext {
  readonly request: InferenceRequest;
  /** The model sent upstream (after objective / rewrite draw); LoRA adapters are looked up by it. */
  readonly targetModel: string | undefined;
  /** Higher first; negative = sheddable. */
  readonly priority: number;
  /** `performance.now()` at scheduling time; every plugin judges freshness against it. */
  now: number;
  /** Leading prompt characters to render (the largest any configured plugin asked for). */
  private readonly promptLimit: number;
  private promptText: string | undefined;
  private data: Map<object, unknown> | undefined;

  constructor(
    request: InferenceRequest,
    targetModel: string | undefined,
    priority: number,
    promptLimit: number,
    now = performance.now(),
  ) {
    this.request = request;
    this.targetModel = targetModel;
    this.priority = priority;
    this.promptLimit = promptLimit;
    this.now = now;
  }

  /** The rendered prompt, cut at the configured limit ('' when no plugin reads it). */
  prompt(): string {
    if (this.promptText === undefined) this.promptText = renderPrompt(this.request, this.promptLimit);
    return this.promptText;
  }

  /** Prompt size estimate in tokens (body bytes / 4: cheap and the same for every request shape). */
  estPromptTokens(): number {
    return Math.ceil(this.request.body.length / 4);
  }

  /** `max_completion_tokens` / `max_tokens` when the client set one. */
  maxOutputTokens(): number | undefined {
    const j = this.request.json;
    if (!j) return undefined;
    const v = j.max_completion_tokens ?? j.max_tokens;
    return typeof v === 'number' && v > 0 ? v : undefined;
  }

  /** Per-request plugin data, keyed by the plugin instance. */
  get<T>(owner: object): T | undefined {
    return this.data?.get(owner) as T | undefined;
  }

  set(owner: object, value: unknown): void {
    if (!this.data) this.data = new Map();
    this.data.set(owner, value);
  }
}
