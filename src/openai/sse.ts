/**
 * Incremental Server-Sent Events reader for OpenAI-style streams (`data: {json}\n\n`, `data: [DONE]`).
 * Feed raw chunks as they arrive (any split, including mid-line or mid-UTF-8 sequence); each complete
 * event's data is handed to `onData`. It never buffers more than one incomplete event.
 */
export class SseReader {
  private readonly decoder = new TextDecoder();
  private pending = '';
  private data: string[] = [];

  constructor(private readonly onData: (data: string) => void) {}

  push(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text.length === 0) return;
    let buf = this.pending + text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      let line = buf.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line);
    }
    buf = buf.slice(start);
    this.pending = buf;
  }

  /** Flush an event left without its blank line at end of stream. */
  end(): void {
    if (this.pending.length) {
      this.line(this.pending);
      this.pending = '';
    }
    this.dispatch();
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    if (line.startsWith('data:')) {
      this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    }
    // event:, id:, retry: are not used by OpenAI-style streams.
  }

  private dispatch(): void {
    if (this.data.length === 0) return;
    const d = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
    this.data = [];
    this.onData(d);
  }
}

/** Token usage as OpenAI reports it. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** Reads `usage` from a parsed response body or final stream chunk, when present. */
export function usageOf(body: unknown): Usage | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const u = (body as { usage?: unknown }).usage;
  if (typeof u !== 'object' || u === null) return undefined;
  const p = (u as { prompt_tokens?: unknown }).prompt_tokens;
  const c = (u as { completion_tokens?: unknown }).completion_tokens;
  if (typeof p !== 'number' && typeof c !== 'number') return undefined;
  return { promptTokens: typeof p === 'number' ? p : 0, completionTokens: typeof c === 'number' ? c : 0 };
}

/**
 * True for a stream chunk that counts as a token for TTFT: vLLM's benchmark counts the first chunk
 * whose `choices` is non-empty (the role-only chat chunk included, since vLLM sends it after prefill).
 */
export function chunkHasChoices(chunk: unknown): boolean {
  if (typeof chunk !== 'object' || chunk === null) return false;
  const c = (chunk as { choices?: unknown }).choices;
  return Array.isArray(c) && c.length > 0;
}
