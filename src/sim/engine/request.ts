/**
 * One request inside a simulated engine: its token sequence (prompt + generated), block hashes,
 * block table, scheduling state and timestamps (engine milliseconds). Generated text is
 * deterministic: each token is a VOCABULARY word drawn from a generator seeded by the replica seed
 * and the prompt, so equal prompts give equal answers (like greedy decoding).
 */
import { SeededRng } from '../../util/rng.js';
import { hashBlock, ROOT_BLOCK_HASH } from '../kv/block-hash.js';
import type { KvSequence } from '../kv/kv-cache-manager.js';
import { tokenize, VOCABULARY } from '../tokenizer.js';
import type { LoraAdapter } from './lora.js';

export type RequestStatus = 'waiting' | 'running' | 'preempted' | 'swapped' | 'finished' | 'aborted';
export type FinishReason = 'stop' | 'length';

/** Each VOCABULARY word as emitted (with its leading space) and its token id under `tokenize`. */
export const WORD_TEXT: readonly string[] = VOCABULARY.map((w) => ` ${w}`);
export const WORD_TOKEN_ID: Uint32Array = Uint32Array.from(WORD_TEXT, (t) => tokenize(t)[0]!);

/** Receives a request's output as the engine produces it. */
export interface TokenSink {
  /**
   * Buffers one generated token's text; `finish` is set on the last token. Called in engine-time
   * order. Returns true when the buffered output must be written at once (a first token, the last
   * one, an injected disconnect point); other tokens may wait for the driver's write interval.
   */
  onToken(req: EngineRequest, text: string, finish: FinishReason | null): boolean;
  /** Writes what was buffered (at most one socket write). Returns the number of socket writes. */
  flush(): number;
}

export interface EngineRequestInit {
  id: string;
  promptTokens: ArrayLike<number>;
  /** Upper bound on generated tokens (already clamped to max_model_len − prompt). */
  maxTokens: number;
  /**
   * Simulated EOS: the request stops ("stop") after a length drawn uniformly from
   * mean × [1 − range, 1 + range] with its own generator (so equal prompts stop at equal lengths);
   * null: never (ignore_eos, or early stop disabled).
   */
  eos: { mean: number; range: number } | null;
  /** Stop strings (`stop` request field); empty for none. */
  stop: readonly string[];
  lora: LoraAdapter | null;
  /** Engine time the HTTP request arrived (ms) and the time it reaches the scheduler. */
  arrivalMs: number;
  queuedMs: number;
  /** Replica seed mixed into the token generator. */
  seed: number;
  sink: TokenSink;
  /** The request's max_tokens / max_completion_tokens as sent (for vLLM's histogram), or null. */
  maxTokensParam: number | null;
  /** Tokens per KV block (the engine's block size): block hashes are computed as blocks fill. */
  blockSize: number;
}

export class EngineRequest implements KvSequence {
  readonly id: string;
  readonly promptLen: number;
  readonly maxTokens: number;
  /** Generated tokens after which the simulated EOS ends the request (Infinity: never). */
  readonly naturalLength: number;
  readonly stop: readonly string[];
  readonly lora: LoraAdapter | null;
  readonly arrivalMs: number;
  readonly queuedMs: number;
  readonly sink: TokenSink;
  readonly maxTokensParam: number | null;
  readonly blockSize: number;

  status: RequestStatus = 'waiting';
  finishReason: FinishReason | null = null;
  /** The stop string that ended the request, when one did (vLLM's stop_reason). */
  stopReason: string | null = null;

  // KvSequence
  numComputedTokens = 0;
  blocks: number[] = [];
  numCachedBlocks = 0;
  readonly blockHashes: number[] = [];

  /** Prompt tokens served from the prefix cache when first scheduled (usage.cached_tokens). */
  numCachedPromptTokens = 0;
  numPreemptions = 0;
  /** Generated text so far, as word indices. */
  readonly output: number[] = [];
  firstScheduledMs = -1;
  lastScheduledMs = -1;
  firstTokenMs = -1;
  /** First token after the most recent scheduling (vLLM's prefill/decode split after preemption). */
  firstTokenSinceScheduledMs = -1;
  lastTokenMs = -1;
  finishedMs = -1;
  /** Set while the request is in the engine's `touched` list (collected once per wake-up). */
  pendingFlush = false;
  /** The sink asked for an immediate write (see TokenSink.onToken). Cleared by the driver. */
  flushUrgent = false;
  /** Set while the request is in the driver's list of deferred writes. */
  flushDeferred = false;
  /**
   * Engine times (ms) at which the unflushed tokens became visible (their steps' ends), oldest
   * first: the driver measures each token's emission error when it writes them. Grows on demand.
   */
  unflushedDueMs: Float64Array = new Float64Array(4);
  unflushedCount = 0;
  /** Text of the token sampled last by `sampleNext` (a VOCABULARY word, or shorter at a stop string). */
  lastText = '';

  private tokens: Uint32Array;
  private count: number;
  private readonly rng: SeededRng;
  private readonly hashKey: number;
  private textTail = '';

  constructor(init: EngineRequestInit) {
    this.id = init.id;
    this.promptLen = init.promptTokens.length;
    this.maxTokens = init.maxTokens;
    this.stop = init.stop;
    this.lora = init.lora;
    this.arrivalMs = init.arrivalMs;
    this.queuedMs = init.queuedMs;
    this.sink = init.sink;
    this.maxTokensParam = init.maxTokensParam;
    this.blockSize = init.blockSize;
    this.hashKey = init.lora ? init.lora.hashKey : 0;
    const cap = Math.max(16, this.promptLen + Math.min(init.maxTokens, 4096));
    this.tokens = new Uint32Array(cap);
    let seed = (init.seed ^ Math.imul(this.hashKey, 0x9e3779b1)) | 0;
    for (let i = 0; i < this.promptLen; i++) {
      const t = init.promptTokens[i]! >>> 0;
      this.tokens[i] = t;
      seed = (Math.imul(seed ^ t, 0x01000193) + i) | 0;
    }
    this.count = this.promptLen;
    this.rng = new SeededRng(seed >>> 0);
    this.naturalLength =
      init.eos && init.eos.mean > 0
        ? Math.max(1, Math.round(init.eos.mean * (1 - init.eos.range + 2 * init.eos.range * this.rng.next())))
        : Number.POSITIVE_INFINITY;
    this.extendHashes();
  }

  get numTokens(): number {
    return this.count;
  }

  get numOutputTokens(): number {
    return this.count - this.promptLen;
  }

  /** Tokens still to compute before the next token can be sampled. */
  get numPendingTokens(): number {
    return this.count - this.numComputedTokens;
  }

  /** Token ids [start, end) of prompt + output (KV events carry them). */
  tokenSlice(start: number, end: number): number[] {
    return Array.from(this.tokens.subarray(start, Math.min(end, this.count)));
  }

  /** The adapter as KV events name it (vLLM's lora_id, lora_name), null for the base model. */
  get kvLora(): { readonly id: number; readonly name: string } | null {
    return this.lora;
  }

  /** Generated text so far. */
  outputText(): string {
    let s = '';
    for (let i = 0; i < this.output.length; i++) s += WORD_TEXT[this.output[i]!]!;
    return s;
  }

  /**
   * Samples the next token (after a step computed every pending token), leaves its text in
   * `lastText` and decides whether the request finishes: a stop string, the simulated EOS,
   * max_tokens or max_model_len (`maxTokens` is already clamped to it). Allocation-free unless a
   * stop string is set.
   */
  sampleNext(): FinishReason | null {
    const word = Math.floor(this.rng.next() * WORD_TEXT.length);
    let text = WORD_TEXT[word]!;
    this.push(WORD_TOKEN_ID[word]!);
    this.output.push(word);
    const n = this.count - this.promptLen;
    let finish: FinishReason | null = null;
    if (this.stop.length > 0) {
      const window = this.textTail + text;
      for (let i = 0; i < this.stop.length; i++) {
        const s = this.stop[i]!;
        const at = window.indexOf(s);
        if (at < 0) continue;
        finish = 'stop';
        this.stopReason = s;
        text = at >= this.textTail.length ? text.slice(0, at - this.textTail.length) : '';
        break;
      }
      this.textTail = window.slice(-64);
    }
    if (finish === null) {
      if (n >= this.naturalLength) finish = 'stop';
      else if (n >= this.maxTokens) finish = 'length';
    }
    this.lastText = text;
    return finish;
  }

  /** True when the next sampled token will end the request by length (EOS or max_tokens). */
  get nextTokenIsLast(): boolean {
    const n = this.count - this.promptLen + 1;
    return n >= this.naturalLength || n >= this.maxTokens;
  }

  /** Records that a token became visible at engine time `dueMs` and is not written yet. */
  addUnflushed(dueMs: number): void {
    if (this.unflushedCount === this.unflushedDueMs.length) {
      const next = new Float64Array(this.unflushedDueMs.length * 2);
      next.set(this.unflushedDueMs);
      this.unflushedDueMs = next;
    }
    this.unflushedDueMs[this.unflushedCount++] = dueMs;
  }

  private push(token: number): void {
    if (this.count === this.tokens.length) {
      const next = new Uint32Array(this.tokens.length * 2);
      next.set(this.tokens);
      this.tokens = next;
    }
    this.tokens[this.count++] = token;
    this.extendHashes();
  }

  /** Appends the hashes of blocks that became full. */
  private extendHashes(): void {
    const bs = this.blockSize;
    const full = Math.floor(this.count / bs);
    let parent =
      this.blockHashes.length === 0 ? ROOT_BLOCK_HASH : this.blockHashes[this.blockHashes.length - 1]!;
    for (let b = this.blockHashes.length; b < full; b++) {
      parent = hashBlock(parent, this.tokens, b * bs, bs, this.hashKey);
      this.blockHashes.push(parent);
    }
  }
}
