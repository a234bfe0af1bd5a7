/**
 * The reflector's recovery rules against a small API-server stand-in on loopback (the real
 * kube-apiserver cannot be made to misbehave on cue; test/k8s/ covers the real one, restarts
 * included): a watch closed at once with no event is a failure that backs off, not a normal end;
 * and a reflector waiting in a long backoff retries at once when told the server answers again.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../util/log.js';
import { KubeApi } from './api.js';
import { Reflector } from './reflector.js';
import { BACKEND_TRAFFIC_POLICIES, GATEWAYS, NAMESPACES, SERVICES } from './resources.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP server on 127.0.0.1 answering with `handler`, and a KubeApi pointed at it. */
async function standIn(handler: Handler): Promise<KubeApi> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'infergate-reflector-'));
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );
  const api = await KubeApi.connect({ kubeconfig });
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  cleanups.push(() => api.close());
  return api;
}

function list(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [] }));
}

/** A watch that stays open and sends one bookmark (closed when the test ends). */
function openWatch(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '6' } } })}\n`);
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!check()) throw new Error(`timed out after 10 s waiting for ${what}`);
}

describe('Reflector recovery', () => {
  it('treats a watch closed at once with no event as a failure (backoff), and recovers when watches stay open', async () => {
    let closeWatches = true;
    let watches = 0;
    const api = await standIn((req, res) => {
      if (!req.url?.includes('watch=true')) return list(res);
      watches++;
      if (closeWatches) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end();
      } else openWatch(res);
    });
    const r = new Reflector({
      api,
      resource: SERVICES,
      onChange: () => undefined,
      logger: silentLogger(),
      backoffMs: { initial: 200, max: 400 },
    });
    cleanups.push(() => r.stop());
    r.start();
    await r.ready;
    await until(() => r.lastError === 'SHORT_WATCH', 'the short watch to count as a failure');
    expect(r.state).toBe('failing');
    closeWatches = false;
    const seen = watches;
    await until(() => watches > seen && r.lastError === undefined, 'a watch that stays open');
    expect(r.state).toBe('synced');
  });

  it('retries at once when told the server answers again, instead of waiting out its backoff', async () => {
    let refuse = true;
    const api = await standIn((req, res) => {
      if (refuse) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'ServiceUnavailable', message: 'starting' }));
        return;
      }
      if (req.url?.includes('watch=true')) openWatch(res);
      else list(res);
    });
    const common = { api, onChange: () => undefined, logger: silentLogger() };
    // `waiting` would sleep a minute after its first failure; `quick` retries every 100 ms.
    const waiting = new Reflector({
      ...common,
      resource: NAMESPACES,
      backoffMs: { initial: 60_000, max: 60_000 },
    });
    const quick = new Reflector({
      ...common,
      resource: SERVICES,
      backoffMs: { initial: 100, max: 100 },
      onRecovered: () => waiting.retryNow(),
    });
    cleanups.push(
      () => waiting.stop(),
      () => quick.stop(),
    );
    waiting.start();
    quick.start();
    await until(() => waiting.lastError === '503 ServiceUnavailable', 'the first failure');
    expect(waiting.state).toBe('starting');
    refuse = false;
    await until(() => waiting.state === 'synced', 'the waiting reflector to list once the other recovered');
    expect([quick.state, waiting.lists, waiting.lastError]).toEqual(['synced', 1, undefined]);
  });

  it('an optional kind the gateway may not list (403) is ready as missing; a required one keeps failing', async () => {
    const api = await standIn((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'not granted' }));
    });
    const common = {
      api,
      onChange: () => undefined,
      logger: silentLogger(),
      backoffMs: { initial: 50, max: 50 },
    };
    const optional = new Reflector({ ...common, resource: BACKEND_TRAFFIC_POLICIES, missingRetryMs: 60_000 });
    const required = new Reflector({ ...common, resource: GATEWAYS, missingRetryMs: 60_000 });
    cleanups.push(
      () => optional.stop(),
      () => required.stop(),
    );
    optional.start();
    required.start();
    await optional.ready;
    expect([optional.state, optional.lastError]).toEqual(['missing', '403 Forbidden']);
    await until(() => required.lastError === '403 Forbidden', 'the required kind to fail');
    expect(required.state).toBe('starting');
  });
});
