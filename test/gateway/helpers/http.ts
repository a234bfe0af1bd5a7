/** A small HTTP client for tests (undici.request allows setting Host, unlike fetch). */
import { request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export async function call(
  base: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {},
  signal?: AbortSignal,
): Promise<Reply> {
  const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.json !== undefined) headers['content-type'] ??= 'application/json';
  const r = await request(base + path, {
    method: (opts.method ?? (body !== undefined ? 'POST' : 'GET')) as 'GET',
    headers,
    body,
    signal,
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

/** Asserts nothing; returns the parsed OpenAI error body of a gateway error reply. */
export function errorOf(r: Reply): { message: string; type: string; param: string | null; code: number } {
  return (r.json() as { error: { message: string; type: string; param: string | null; code: number } }).error;
}

/** Sends raw HTTP/1.1 bytes and returns the raw reply (for headers clients refuse to send). */
export async function rawRequest(base: string, text: string): Promise<string> {
  const { connect } = await import('node:net');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    // Written without half-closing: Node servers treat a half-close as the client going away.
    const s = connect(Number(u.port), u.hostname, () => s.write(text));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/** A minimal chat completion request for model `m`; `extra` adds or overrides members. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra };
}
