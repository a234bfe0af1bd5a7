import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AccessLog, type AccessRecord, formatAccessLine } from './access-log.js';

/** What the line must equal: pino's shape around the record's own JSON.stringify. */
function reference(r: AccessRecord, time: number): string {
  return `{"level":30,"time":${time},${JSON.stringify(r).slice(1, -1)},"msg":"access"}\n`;
}

const full: AccessRecord = {
  id: 'aac7d495-0c1e-4c5e-9d55-2f0a1c1d2e3f',
  listener: 'default/example-gateway/http',
  route: 'HTTPRoute default/mirror-route',
  rule: 0,
  backend: 'InferencePool default/vllm-llama2-7b-pool',
  endpoint: '127.0.0.1:34039',
  method: 'POST',
  path: '/v1/chat/completions',
  model: '/model/llama2',
  target_model: '/model/llama2',
  status: 200,
  prompt_tokens: 29,
  completion_tokens: 100,
  ttft_ms: 12.4,
  duration_ms: 215.4,
  retries: 0,
  reason: 'score → 127.0.0.1:34039 (score 7.00, 2/2 candidates)',
  mirrors: ['Service default/vllm-llama2-7b-pool-1:8000', 'Service default/x:80:dropped'],
};

describe('formatAccessLine', () => {
  it.each<[string, AccessRecord]>([
    ['every field', full],
    [
      'only the required fields',
      { id: 'r1', method: 'GET', path: '/', status: 404, duration_ms: 0.1, retries: 0 },
    ],
    [
      'undefined fields left out, as JSON.stringify does',
      {
        ...full,
        listener: undefined,
        rule: undefined,
        model: undefined,
        ttft_ms: undefined,
        error: 'NO_ROUTE',
        mirrors: undefined,
      },
    ],
    ['an empty mirror list', { ...full, mirrors: [] }],
    [
      'strings that need escaping (quotes, backslashes, control characters, non-ASCII)',
      {
        ...full,
        id: 'a"b\\c',
        path: '/v1/x?q=\u0001\n\t',
        model: 'modèle "fr" ✓',
        reason: 'emoji 😀 pair',
        mirrors: ['tab\there'],
      },
    ],
    [
      'lone surrogates (escaped as JSON.stringify escapes them)',
      { ...full, model: 'bad \ud800 end', path: '/\udc00' },
    ],
    [
      'negative and fractional numbers',
      { ...full, status: 499, duration_ms: 1234.5, ttft_ms: 0, retries: 2 },
    ],
  ])('%s', (_name, record) => {
    const line = formatAccessLine(record, 1795382053085);
    expect(line).toBe(reference(record, 1795382053085));
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'access', id: record.id });
  });

  it('writes non-finite numbers as null (valid JSON)', () => {
    const line = formatAccessLine({ ...full, prompt_tokens: Number.POSITIVE_INFINITY }, 1);
    expect(JSON.parse(line).prompt_tokens).toBeNull();
  });
});

describe('AccessLog', () => {
  it('writes every line to a sink at once', () => {
    const lines: string[] = [];
    const log = new AccessLog({ kind: 'sink', sink: { write: (l: string) => lines.push(l) } });
    log.write({ ...full, id: 'one' });
    log.write({ ...full, id: 'two' });
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['one', 'two']);
    log.close();
  });

  it('batches lines to a file and writes them all out on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-access-'));
    try {
      const path = join(dir, 'nested', 'access.log');
      const log = new AccessLog({ kind: 'file', path });
      for (let i = 0; i < 2000; i++) log.write({ ...full, id: `r${i}` });
      log.close();
      // A request that finishes while the gateway closes still gets its line.
      log.write({ ...full, id: 'late' });
      // Batches are written asynchronously; close() hands everything over.
      const read = () => (existsSync(path) ? readFileSync(path, 'utf8') : '');
      await vi.waitFor(() => expect(read().split('\n')).toHaveLength(2002), { timeout: 10_000 });
      const ids = read()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).id);
      expect(ids).toHaveLength(2001);
      expect(ids[0]).toBe('r0');
      expect(ids[1999]).toBe('r1999');
      expect(ids[2000]).toBe('late');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at once, naming the path, when the file cannot be opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-access-'));
    try {
      const notADir = join(dir, 'file');
      writeFileSync(notADir, '');
      expect(() => new AccessLog({ kind: 'file', path: join(notADir, 'access.log') })).toThrow(
        /cannot open the access log .*file\/access\.log/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
