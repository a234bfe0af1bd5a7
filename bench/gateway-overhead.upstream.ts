/**
 * The minimal fast upstream of bench/gateway-overhead.ts: node:http answering every request with a
 * small OpenAI-style chat completion (246 bytes of JSON, with usage) after reading the body, and
 * `GET /metrics` with an idle vLLM-style page so that the scheduler of the InferencePool arm sees a
 * healthy, empty model server. Prints `upstream ready http://127.0.0.1:<port>` and runs until
 * SIGTERM / SIGINT.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
});
const HEADERS = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) };
const METRICS = [
  '# TYPE vllm:num_requests_running gauge',
  'vllm:num_requests_running{model_name="bench-model"} 0',
  '# TYPE vllm:num_requests_waiting gauge',
  'vllm:num_requests_waiting{model_name="bench-model"} 0',
  '# TYPE vllm:kv_cache_usage_perc gauge',
  'vllm:kv_cache_usage_perc{model_name="bench-model"} 0',
  '',
].join('\n');
const METRICS_HEADERS = { 'content-type': 'text/plain; version=0.0.4', 'content-length': METRICS.length };

const server = createServer({ noDelay: true }, (req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, METRICS_HEADERS);
      res.end(METRICS);
      return;
    }
    res.writeHead(200, HEADERS);
    res.end(BODY);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`upstream ready http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
