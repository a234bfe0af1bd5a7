/**
 * Helpers for the simulator's end-to-end tests: scrape /metrics through a real Prometheus text
 * parser, read SSE streams chunk by chunk, post JSON.
 */
import { createRequire } from 'node:module';
import { SseReader } from '../../src/openai/sse.js';
import { parsePrometheusText, type Sample } from '../../src/scraping/promtext.js';

export interface PromFamily {
  name: string;
  help: string;
  type: string;
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

export const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => PromFamily[];

/**
 * One /metrics answer. `families` comes from the `parse-prometheus-text-format` package (proof that
 * a standard parser reads the text, with types and labels); values are read with the project's own
 * parser, since that package drops _sum/_count of labelled histograms.
 */
export class Scrape {
  readonly families: Map<string, PromFamily>;
  private readonly samples: Sample[] = [];
  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    for (const fam of parsePrometheusText(text).families.values()) this.samples.push(...fam.samples);
  }

  private sample(name: string, labels: Record<string, string>): Sample {
    const s = this.samples.find(
      (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
    );
    if (!s) throw new Error(`no sample ${name} with ${JSON.stringify(labels)}`);
    return s;
  }

  /** Value of the first sample named `name` whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.sample(name, labels).value;
  }

  /** Like `value`, or `fallback` when there is no such sample (yet). */
  valueOr(name: string, labels: Record<string, string>, fallback: number): number {
    const s = this.samples.find(
      (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
    );
    return s ? s.value : fallback;
  }

  /** Sum and count of a histogram. */
  hist(name: string, labels: Record<string, string> = {}): { sum: number; count: number } {
    return {
      sum: this.sample(`${name}_sum`, labels).value,
      count: this.sample(`${name}_count`, labels).value,
    };
  }
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return new Scrape(await res.text());
}

/** Polls /metrics until `pred` holds; fails after `timeoutMs` (a guard, not a timing assertion). */
export async function waitForMetrics(
  baseUrl: string,
  pred: (s: Scrape) => boolean,
  timeoutMs = 20_000,
): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(baseUrl);
    if (pred(s)) return s;
    if (Date.now() > deadline)
      throw new Error(`metrics condition not met in ${timeoutMs} ms:\n${s.text.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function postJson(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/** Reads an SSE response to the end; returns each event's data (JSON-parsed, or the raw `[DONE]`). */
export async function readSse(res: Response): Promise<unknown[]> {
  const events: unknown[] = [];
  const reader = new SseReader((d) => events.push(d === '[DONE]' ? d : JSON.parse(d)));
  const body = res.body;
  if (!body) throw new Error('no body');
  for await (const chunk of body) reader.push(chunk as Uint8Array);
  reader.end();
  return events;
}

/** Reads a stream until `count` events arrived, leaving the connection open. */
export async function readSseEvents(res: Response, count: number): Promise<unknown[]> {
  const events: unknown[] = [];
  const reader = new SseReader((d) => events.push(d === '[DONE]' ? d : JSON.parse(d)));
  const it = res.body![Symbol.asyncIterator]();
  while (events.length < count) {
    const { value, done } = await it.next();
    if (done) break;
    reader.push(value as Uint8Array);
  }
  return events;
}

/** A prompt of `n` distinct words (each one token under the stand-in tokenizer), offset by `seed`. */
export function words(n: number, seed = 0): string {
  const vocab = [
    'alpha',
    'bravo',
    'delta',
    'echo',
    'gamma',
    'hotel',
    'india',
    'kilo',
    'lima',
    'mike',
    'oscar',
    'papa',
  ];
  let s = '';
  for (let i = 0; i < n; i++) s += ` ${vocab[(i * 7 + seed * 13 + Math.floor(i / 12)) % vocab.length]}`;
  return s;
}
