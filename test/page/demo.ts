/**
 * For the page tests: a running `infergate demo` (the real CLI: simulated replicas + the gateway on
 * OS-chosen loopback ports) and bounded traffic to its inference port.
 */
import { request } from 'undici';
import { type CliProcess, startCli } from '../helpers/cli.js';

export interface RunningDemo {
  cli: CliProcess;
  admin: string;
  inference: string;
  standard: string;
}

export async function startDemo(): Promise<RunningDemo> {
  const cli = startCli([
    'demo',
    '--replicas',
    '2',
    '--time-scale',
    '0.05',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--inference-port',
    '0',
    '--admin-port',
    '0',
  ]);
  const admin = (await cli.waitForLine(/^admin ready (\S+)$/, 40_000))[1]!;
  const inference = (await cli.waitForLine(/^listener default\/demo-gateway\/inference ready (\S+)$/))[1]!;
  const standard = (await cli.waitForLine(/^listener default\/demo-gateway\/http ready (\S+)$/))[1]!;
  return { cli, admin, inference, standard };
}

export interface TrafficResult {
  sent: number;
  ok: number;
}

/**
 * Sends at most `count` chat requests (streamed and not, the canary model and the base model) with
 * `concurrency` in flight, stopping early after `maxMs` or when `stop()` says so.
 */
export async function sendTraffic(
  demo: RunningDemo,
  opts: { count: number; concurrency: number; maxMs: number; stop?: () => boolean },
): Promise<TrafficResult> {
  const deadline = Date.now() + opts.maxMs;
  const result: TrafficResult = { sent: 0, ok: 0 };
  const worker = async () => {
    while (result.sent < opts.count && Date.now() < deadline && !opts.stop?.()) {
      const i = result.sent++;
      // The standard port reaches the replicas as a Service: only the base model is served there.
      const standard = i % 5 === 4;
      const body = JSON.stringify({
        model: standard || i % 4 === 3 ? '/model/qwen' : 'travel-helper',
        messages: [{ role: 'user', content: `Plan day ${i % 7} of a week in Kyoto.` }],
        max_tokens: 24,
        stream: i % 2 === 0,
      });
      const url = standard ? demo.standard : demo.inference;
      const res = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
      });
      await res.body.text();
      if (res.statusCode === 200) result.ok++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return result;
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
  return (await res.body.json()) as T;
}
