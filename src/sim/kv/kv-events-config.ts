/**
 * vLLM's `--kv-events-config` (vllm/config/kv_events.py): the same JSON fields, defaults and port
 * offset per data-parallel rank — here per replica, so replica i of a simulator process publishes
 * where DP rank i of one vLLM server would.
 */

export interface KvEventsConfig {
  enableKvCacheEvents: boolean;
  /** "zmq" when enabled, "null" otherwise (vLLM's default rule). */
  publisher: 'null' | 'zmq';
  /** PUB address; `*` host binds every interface; port `*` lets the OS choose. Default tcp://*:5557. */
  endpoint: string;
  /** ROUTER address serving replays, or null for none. */
  replayEndpoint: string | null;
  /** Batches kept for replay (default 10,000). */
  bufferSteps: number;
  /** ZMQ send high-water mark (default 100,000). */
  hwm: number;
  /** Batches waiting to be sent before new ones are dropped (default 100,000). */
  maxQueueSize: number;
  /** Topic frame of every message (default ""). */
  topic: string;
}

/** Event layout on the wire: `map` = current vLLM (tagged maps), `array` = vLLM ≤ 0.23 (tagged arrays). */
export type KvEventsLayout = 'map' | 'array';

const FIELDS = new Set([
  'enable_kv_cache_events',
  'publisher',
  'endpoint',
  'replay_endpoint',
  'buffer_steps',
  'hwm',
  'max_queue_size',
  'topic',
]);

export class KvEventsConfigError extends Error {
  readonly code = 'SIM_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'KvEventsConfigError';
  }
}

function fail(message: string): never {
  throw new KvEventsConfigError(`--kv-events-config: ${message}`);
}

function posInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${field} must be a positive integer`);
  return v;
}

function endpointOf(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^(tcp:\/\/.+:(\d+|\*)|ipc:\/\/.+|inproc:\/\/.+)$/.test(v))
    fail(`${field} must be tcp://host:port, ipc://path or inproc://name`);
  return v;
}

/** Parses the flag's JSON (snake_case, as vLLM takes it). Unknown fields are errors. */
export function parseKvEventsConfig(text: string): KvEventsConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) fail(`unknown field "${k}"`);
  const enable = o.enable_kv_cache_events ?? false;
  if (typeof enable !== 'boolean') fail('enable_kv_cache_events must be a boolean');
  const publisher = o.publisher ?? (enable ? 'zmq' : 'null');
  if (publisher !== 'zmq' && publisher !== 'null') fail('publisher must be "zmq" or "null"');
  const topic = o.topic ?? '';
  if (typeof topic !== 'string') fail('topic must be a string');
  return {
    enableKvCacheEvents: enable,
    publisher,
    endpoint: o.endpoint === undefined ? 'tcp://*:5557' : endpointOf(o.endpoint, 'endpoint'),
    replayEndpoint:
      o.replay_endpoint === undefined || o.replay_endpoint === null
        ? null
        : endpointOf(o.replay_endpoint, 'replay_endpoint'),
    bufferSteps: o.buffer_steps === undefined ? 10_000 : posInt(o.buffer_steps, 'buffer_steps'),
    hwm: o.hwm === undefined ? 100_000 : posInt(o.hwm, 'hwm'),
    maxQueueSize: o.max_queue_size === undefined ? 100_000 : posInt(o.max_queue_size, 'max_queue_size'),
    topic,
  };
}

/** True when the config publishes anything. */
export function kvEventsActive(c: KvEventsConfig | null | undefined): c is KvEventsConfig {
  return !!c && c.enableKvCacheEvents && c.publisher === 'zmq';
}

/**
 * vLLM's offset_endpoint_port: rank 0 unchanged; tcp ports + rank (an OS-chosen `*` port stays
 * `*`); inproc names get `_dp<rank>`; ipc paths are left as they are.
 */
export function offsetEndpoint(endpoint: string, rank: number): string {
  if (rank === 0) return endpoint;
  if (endpoint.startsWith('inproc://')) return `${endpoint}_dp${rank}`;
  if (endpoint.startsWith('tcp://')) {
    const at = endpoint.lastIndexOf(':');
    const port = endpoint.slice(at + 1);
    if (port === '*') return endpoint;
    return `${endpoint.slice(0, at)}:${Number(port) + rank}`;
  }
  return endpoint;
}

/** "tcp://*:5557" and friends → what ZMQ binds. */
export function bindAddress(endpoint: string): string {
  return endpoint.replace('tcp://*:', 'tcp://0.0.0.0:');
}
