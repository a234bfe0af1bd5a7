/**
 * The smallest REST client the Kubernetes mode needs: JSON requests and line-delimited watch streams
 * against one API server. Credentials come from @kubernetes/client-node's KubeConfig (kubeconfig
 * files, in-cluster service-account tokens, exec and auth-provider plugins); the transport is undici,
 * one keep-alive connection pool per server. Headers are re-applied on every request so rotated
 * service-account tokens are picked up.
 */
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, request } from 'undici';

/** A non-2xx answer of the API server (`reason` from its Status body when there is one). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** One watch event as the API server streams it. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/** The parts of a Kubernetes object every caller reads; the rest is passed through untouched. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

export interface KubeApiOptions {
  /** Kubeconfig file; without one, the in-cluster service account (KUBERNETES_SERVICE_HOST). */
  kubeconfig?: string;
  /** Context of the kubeconfig to use (default: its current-context). */
  context?: string;
}

/** A JSON REST client for one API server. */
export class KubeApi {
  private readonly dispatcher: Dispatcher;
  readonly server: string;

  private constructor(
    private readonly config: KubeConfig,
    tls: RequestOptions,
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.dispatcher = new Agent({
      connect: {
        ...(tls.ca !== undefined ? { ca: tls.ca as Buffer } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert as Buffer } : {}),
        ...(tls.key !== undefined ? { key: tls.key as Buffer } : {}),
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
        ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
      },
      keepAliveTimeout: 30_000,
      // Watches are long-lived streams: only our own timers end them.
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
  }

  /** From a kubeconfig file, or the in-cluster service account when none is given. */
  static async connect(o: KubeApiOptions = {}): Promise<KubeApi> {
    // Loaded on first use: the client library is large and only the Kubernetes mode needs it.
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (o.kubeconfig !== undefined) {
      // Read ourselves so a missing file is a clear error rather than an empty config.
      kc.loadFromString(readFileSync(o.kubeconfig, 'utf8'));
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
    } else {
      throw new Error(
        'no --kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST is unset)',
      );
    }
    if (o.context !== undefined) kc.setCurrentContext(o.context);
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    return new KubeApi(kc, tls);
  }

  /** The namespace of the kubeconfig's current context, or the pod's own namespace in a cluster. */
  defaultNamespace(): string | undefined {
    const ns = this.config.getContextObject(this.config.getCurrentContext())?.namespace;
    if (ns) return ns;
    try {
      return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  private async headers(contentType?: string): Promise<Record<string, string>> {
    const opts: RequestOptions = {};
    await this.config.applyToHTTPSOptions(opts);
    const out: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (typeof v === 'string') out[k.toLowerCase()] = v;
    }
    if (opts.auth) out.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (contentType !== undefined) out['content-type'] = contentType;
    return out;
  }

  /** A JSON request; resolves with the decoded body, rejects with KubeApiError on a non-2xx status. */
  async json<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    contentType = 'application/json',
    signal?: AbortSignal,
  ): Promise<T> {
    const res = await request(`${this.server}${path}`, {
      method,
      dispatcher: this.dispatcher,
      headers: await this.headers(body !== undefined ? contentType : undefined),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) throw apiError(res.statusCode, text, method, path);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Opens a watch (`path` carries the query) and calls `onEvent` per line until the server ends the
   * stream (resolves) or `signal` aborts it (resolves). Rejects with KubeApiError when the server
   * refuses the watch, or with the transport error.
   */
  async watch(path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.server}${path}`, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: await this.headers(),
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw apiError(res.statusCode, text, 'WATCH', path);
    }
    let rest = '';
    try {
      for await (const chunk of res.body) {
        rest += (chunk as Buffer).toString('utf8');
        let nl = rest.indexOf('\n');
        while (nl >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
          nl = rest.indexOf('\n');
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 300);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    // not a Status body
  }
  return new KubeApiError(status, reason, `${method} ${path.split('?')[0]}: ${status} ${message}`);
}
