/**
 * The Prometheus metric each benchmark figure corresponds to on the Grafana dashboard
 * (deploy/grafana/infergate.json) and the gateway's live page: the gateway's own `infergate_*`
 * family, then the replicas' `vllm:*` one. The benchmark measures at the client; these are the same
 * quantities as the gateway and the model servers see them, so a run can be read beside the
 * dashboard.
 */

const TTFT = 'infergate_time_to_first_token_seconds · vllm:time_to_first_token_seconds';
const TPOT = 'infergate_time_per_output_token_seconds · vllm:time_per_output_token_seconds';
const ITL = 'vllm:inter_token_latency_seconds';
const E2EL = 'infergate_request_duration_seconds';

const BY_KEY: Readonly<Record<string, string>> = {
  completed: 'infergate_requests_total{status="200"}',
  failed: 'infergate_requests_total{status=~"[45].."}',
  request_throughput: 'infergate_requests_total',
  input_token_throughput: 'infergate_prompt_tokens_total · vllm:prompt_tokens_total',
  output_token_throughput: 'infergate_completion_tokens_total · vllm:generation_tokens_total',
  total_token_throughput: 'infergate_prompt_tokens_total + infergate_completion_tokens_total',
  prefix_cache_hit_rate: 'vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total',
};

const BY_METRIC: Readonly<Record<string, string>> = { ttft: TTFT, tpot: TPOT, itl: ITL, e2el: E2EL };

/** The dashboard's metric names for a figure key (`ttft.p99`, `request_throughput` …), if any. */
export function dashboardMetric(figureKey: string): string | undefined {
  const direct = BY_KEY[figureKey];
  if (direct !== undefined) return direct;
  const dot = figureKey.indexOf('.');
  return dot > 0 ? BY_METRIC[figureKey.slice(0, dot)] : undefined;
}

/** Per-replica charts of the report and the dashboard's replica panels. */
export const REPLICA_METRICS = {
  running: 'vllm:num_requests_running',
  waiting: 'vllm:num_requests_waiting',
  kvUsage: 'vllm:kv_cache_usage_perc',
} as const;
