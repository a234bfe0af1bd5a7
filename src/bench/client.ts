/**
 * The HTTP side of the load generator: one undici Pool per target (keep-alive, no pipelining), one
 * streamed POST per request, timed like vLLM's benchmark client (vllm/benchmarks/lib/
 * endpoint_request_func.py):
 * - the clock starts just before the request is handed to undici;
 * - every SSE event whose `choices` is non-empty is a token chunk: the first sets TTFT, each later
 *   one adds a gap to the ITL list, the last sets the E2E latency (the usage-only chunk does not);
 * - output tokens come from the final usage chunk (`stream_options.include_usage`); without one,
 *   the number of token chunks (minus a role-only first chat chunk) is used;
 * - prompt tokens come from usage too, else from the workload's own count.
 * Events are timestamped once per network read. Token chunks are recognised by a scan for
 * `"choices":[` rather than JSON.parse; only the first token chunk, non-token chunks (usage,
 * errors) and, when the caller needs the answer text, every token chunk are parsed.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { chunkHasChoices, SseReader, usageOf } from '../openai/sse.js';
import type { RequestOutcome } from './stats.js';
import type { BenchRequest, Endpoint } from './workload/types.js';

/** One request as measured. Times are wall-clock ms. */
export interface RequestRecord extends RequestOutcome {
  index: number;
  /** When it was sent, in ms since the run started. */
  startMs: number;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  model: string;
  objective: string | undefined;
  group: string | undefined;
  /** The answer's text, only when asked for (multi-round conversations need it). */
  text: string;
  /**
   * Prompt tokens the server found in its prefix cache when it first scheduled the request
   * (`usage.prompt_tokens_details.cached_tokens`: vLLM with --enable-prompt-tokens-details, the
   * simulator likewise); undefined when the server does not say.
   */
  cachedTokens: number | undefined;
}

/** Where successful requests' inter-token gaps (ms) are pooled. */
export interface ItlSink {
  push(gaps: readonly number[]): void;
}

export interface SendOptions {
  /** Aborts the request (run stopped, grace over): counted as `aborted`. */
  signal: AbortSignal;
  /** Per-request limit in wall ms; past it the request is aborted and counted as `timeout`. */
  timeoutMs: number;
  collectText: boolean;
  itl: ItlSink;
  /** performance.now() of the run start. */
  runStart: number;
}

export interface ClientOptions {
  /** Socket limit; undefined = one per concurrent request. */
  connections?: number | undefined;
  /** Sent as `Authorization: Bearer …` (vLLM's benchmark reads OPENAI_API_KEY the same way). */
  apiKey?: string | undefined;
  /** Headers on every request (a request's own headers win). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Sends `x-request-id: <prefix><request index>` when set. */
  requestIdPrefix?: string | undefined;
}

const CHOICES_KEY = '"choices":';

/**
 * 1 when the event's `choices` array is non-empty, 0 when it is empty or absent, -1 when the scan
 * cannot tell (unusual whitespace): the caller then parses.
 */
export function scanChoices(data: string): 1 | 0 | -1 {
  const at = data.indexOf(CHOICES_KEY);
  if (at < 0) return data.indexOf('"choices"') < 0 ? 0 : -1;
  let i = at + CHOICES_KEY.length;
  while (data.charCodeAt(i) === 32) i++;
  if (data.charCodeAt(i) !== 91 /* [ */) return data.startsWith('null', i) ? 0 : -1;
  i++;
  while (data.charCodeAt(i) === 32) i++;
  const c = data.charCodeAt(i);
  if (c === 93 /* ] */) return 0;
  if (c === 123 /* { */) return 1;
  return -1;
}

interface ChoiceDelta {
  choices?: { text?: unknown; delta?: { content?: unknown; role?: unknown } }[];
}

const TEXT_KEY = '"text":"';
const CONTENT_KEY = '"content":"';

/**
 * A token chunk's text without JSON.parse: the string after `"text":"` (completions) or
 * `"content":"` (chat). Undefined when neither key is there or the string has escapes: the caller
 * then parses. (Inside a JSON string a quote is escaped, so these keys cannot match string content.)
 */
export function scanChunkText(data: string): string | undefined {
  let start = data.indexOf(TEXT_KEY);
  if (start >= 0) start += TEXT_KEY.length;
  else {
    start = data.indexOf(CONTENT_KEY);
    if (start < 0) return undefined;
    start += CONTENT_KEY.length;
  }
  const end = data.indexOf('"', start);
  if (end < 0) return undefined;
  const text = data.slice(start, end);
  return text.indexOf('\\') < 0 ? text : undefined;
}

/** The text a token chunk carries (chat `delta.content` or completions `text`). */
function chunkText(chunk: ChoiceDelta): string {
  const choice = chunk.choices?.[0];
  if (!choice) return '';
  if (typeof choice.text === 'string') return choice.text;
  const content = choice.delta?.content;
  return typeof content === 'string' ? content : '';
}

/** Per-request stream state; `onEvent` is handed to the SseReader. */
class StreamState {
  now = 0;
  firstTokenAt = Number.NaN;
  lastTokenAt = Number.NaN;
  tokenChunks = 0;
  roleOnlyFirst = false;
  usagePrompt: number | undefined;
  usageCompletion: number | undefined;
  usageCached: number | undefined;
  streamError = false;
  text = '';
  readonly gaps: number[] = [];

  constructor(private readonly collectText: boolean) {}

  readonly onEvent = (data: string): void => {
    if (data === '[DONE]') return;
    let kind = scanChoices(data);
    let parsed: unknown;
    if (kind === -1) {
      parsed = safeParse(data);
      kind = chunkHasChoices(parsed) ? 1 : 0;
    }
    if (kind === 1) {
      const now = this.now;
      if (this.tokenChunks === 0) {
        this.firstTokenAt = now;
        parsed ??= safeParse(data);
        const text = chunkText(parsed as ChoiceDelta);
        this.roleOnlyFirst = text === '' && (parsed as ChoiceDelta).choices?.[0]?.delta?.role !== undefined;
        if (this.collectText) this.text += text;
      } else {
        this.gaps.push(now - this.lastTokenAt);
        if (this.collectText) {
          this.text += scanChunkText(data) ?? chunkText((parsed ?? safeParse(data)) as ChoiceDelta);
        }
      }
      this.lastTokenAt = now;
      this.tokenChunks++;
      return;
    }
    parsed ??= safeParse(data);
    const usage = usageOf(parsed);
    if (usage) {
      this.usagePrompt = usage.promptTokens;
      this.usageCompletion = usage.completionTokens;
      this.usageCached = cachedTokensOf(parsed);
    }
    if (parsed === undefined || (typeof parsed === 'object' && parsed !== null && 'error' in parsed)) {
      this.streamError = true;
    }
  };
}

/** `usage.prompt_tokens_details.cached_tokens` of a parsed usage chunk, if present. */
function cachedTokensOf(chunk: unknown): number | undefined {
  const details = (chunk as { usage?: { prompt_tokens_details?: { cached_tokens?: unknown } | null } }).usage
    ?.prompt_tokens_details;
  const cached = details?.cached_tokens;
  return typeof cached === 'number' ? cached : undefined;
}

function safeParse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Network error codes that mean the request never got an answer. */
function errorKey(err: unknown, signal: AbortSignal, timedOut: boolean, responded: boolean): string {
  if (signal.aborted) return 'aborted';
  if (timedOut) return 'timeout';
  if (responded) return 'stream-error';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? `network:${code}` : 'network';
}

export class TargetClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly baseHeaders: Record<string, string>;
  private readonly requestIdPrefix: string | undefined;

  constructor(
    readonly baseUrl: string,
    readonly endpoint: Endpoint,
    opts: ClientOptions = {},
  ) {
    const url = new URL(baseUrl);
    this.path = url.pathname.replace(/\/+$/, '') + endpoint;
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? null,
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 60_000,
    });
    this.baseHeaders = { 'content-type': 'application/json', ...opts.headers };
    this.requestIdPrefix = opts.requestIdPrefix;
    if (opts.apiKey) this.baseHeaders.authorization = `Bearer ${opts.apiKey}`;
  }

  /** Sends one request and resolves with its record; never rejects. */
  async send(req: BenchRequest, opts: SendOptions): Promise<RequestRecord> {
    const state = new StreamState(opts.collectText);
    // One controller per request, fed by the run's signal and by the per-request timeout.
    const controller = new AbortController();
    let timedOut = false;
    const onRunAbort = (): void => controller.abort();
    if (opts.signal.aborted) controller.abort();
    else opts.signal.addEventListener('abort', onRunAbort, { once: true });
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(1, Math.min(opts.timeoutMs, 2_147_483_647)),
    );
    let headers = req.headers ? { ...this.baseHeaders, ...req.headers } : this.baseHeaders;
    if (this.requestIdPrefix !== undefined)
      headers = { ...headers, 'x-request-id': `${this.requestIdPrefix}${req.index}` };
    let status = 0;
    let error: string | undefined;
    const sentAt = performance.now();
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers,
        body: req.body,
        signal: controller.signal,
      });
      status = res.statusCode;
      if (status !== 200) {
        await res.body.dump().catch(() => undefined);
        error = String(status);
      } else {
        const reader = new SseReader(state.onEvent);
        await new Promise<void>((resolve, reject) => {
          res.body.on('data', (chunk: Buffer) => {
            state.now = performance.now();
            reader.push(chunk);
          });
          res.body.on('end', () => {
            state.now = performance.now();
            reader.end();
            resolve();
          });
          res.body.on('error', reject);
        });
        if (state.streamError) error = 'stream-error';
        else if (state.tokenChunks === 0) error = 'no-token';
      }
    } catch (err) {
      error = errorKey(err, opts.signal, timedOut, status !== 0);
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onRunAbort);
    }
    const success = error === undefined;
    if (success && state.gaps.length > 0) opts.itl.push(state.gaps);
    const fallbackOutput = state.tokenChunks - (state.roleOnlyFirst ? 1 : 0);
    return {
      index: req.index,
      startMs: sentAt - opts.runStart,
      status,
      success,
      error,
      ttftMs: state.firstTokenAt - sentAt,
      latencyMs: state.lastTokenAt - sentAt,
      promptTokens: state.usagePrompt ?? req.promptTokens,
      outputTokens: state.usageCompletion ?? Math.max(0, fallbackOutput),
      cachedTokens: state.usageCached,
      model: req.model,
      objective: req.objective,
      group: req.group,
      text: state.text,
    };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
