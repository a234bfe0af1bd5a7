import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sumSamples } from '../scraping/promtext.js';
import { createPromRegistry, GatewayMetrics, type RequestRecord } from './gateway-metrics.js';

const base: RequestRecord = {
  listener: 'default/gw/http',
  route: 'HTTPRoute default/r',
  backend: 'InferencePool default/p',
  model: 'm',
  targetModel: 'm-v1',
  status: 200,
  durationSeconds: 0.2,
  ttftSeconds: 0.05,
  promptTokens: 10,
  completionTokens: 20,
};

async function scrape(m: GatewayMetrics) {
  return parsePrometheusText(await m.registry.metrics()).families;
}

describe('GatewayMetrics', () => {
  it('counts requests, tokens and latencies per label set, across scrapes', async () => {
    const m = new GatewayMetrics(createPromRegistry({ defaultMetrics: false }));
    m.requestStarted();
    m.requestFinished(base);
    m.requestStarted();
    m.requestFinished({
      ...base,
      status: 503,
      ttftSeconds: undefined,
      promptTokens: undefined,
      completionTokens: undefined,
    });
    let f = await scrape(m);
    expect(
      sumSamples(f, 'infergate_requests_total', { status: '200', model: 'm', target_model: 'm-v1' }),
    ).toBe(1);
    expect(sumSamples(f, 'infergate_requests_total', { status: '503' })).toBe(1);
    expect(sumSamples(f, 'infergate_prompt_tokens_total', { model: 'm', target_model: 'm-v1' })).toBe(10);
    expect(sumSamples(f, 'infergate_completion_tokens_total', { backend: 'InferencePool default/p' })).toBe(
      20,
    );
    expect(sumSamples(f, 'infergate_request_duration_seconds_count')).toBe(2);
    expect(sumSamples(f, 'infergate_time_to_first_token_seconds_count')).toBe(1);
    expect(sumSamples(f, 'infergate_requests_in_flight')).toBe(0);
    // Counts accumulate across scrapes (a scrape hands pending counts over, it does not reset them).
    m.requestStarted();
    m.requestFinished(base);
    m.attempt('InferencePool default/p', '10.0.0.1:8000', 'response');
    m.attempt('InferencePool default/p', '10.0.0.1:8000', 'response');
    f = await scrape(m);
    expect(sumSamples(f, 'infergate_requests_total', { status: '200' })).toBe(2);
    expect(sumSamples(f, 'infergate_prompt_tokens_total')).toBe(20);
    expect(sumSamples(f, 'infergate_upstream_attempts_total', { result: 'response' })).toBe(2);
  });

  it('folds model names beyond the cap into `other`', async () => {
    const m = new GatewayMetrics(createPromRegistry({ defaultMetrics: false }));
    for (let i = 0; i < 105; i++) {
      m.requestStarted();
      m.requestFinished({ ...base, model: `user-model-${i}`, targetModel: undefined });
    }
    const f = await scrape(m);
    const models = new Set(f.get('infergate_requests_total')!.samples.map((s) => s.labels.model));
    expect(models.size).toBe(101);
    expect(sumSamples(f, 'infergate_requests_total', { model: 'other' })).toBe(5);
  });

  it('counts every request when more raw model names arrive than its lookup maps remember', async () => {
    const m = new GatewayMetrics(createPromRegistry({ defaultMetrics: false }));
    // Two passes over 600 distinct names: the second pass hits the remembered and the forgotten ones.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < 600; i++) {
        m.requestStarted();
        m.requestFinished({ ...base, model: `user-model-${i}`, targetModel: `user-model-${i}` });
      }
    }
    m.requestStarted();
    m.requestFinished({ ...base, model: 'user-model-3', targetModel: 'user-model-3', status: 429 });
    const f = await scrape(m);
    expect(sumSamples(f, 'infergate_requests_total')).toBe(1201);
    expect(sumSamples(f, 'infergate_requests_total', { model: 'user-model-3', status: '200' })).toBe(2);
    expect(sumSamples(f, 'infergate_requests_total', { model: 'user-model-3', status: '429' })).toBe(1);
    expect(sumSamples(f, 'infergate_requests_total', { model: 'other', target_model: 'other' })).toBe(1000);
    expect(sumSamples(f, 'infergate_request_duration_seconds_count')).toBe(1201);
    expect(sumSamples(f, 'infergate_prompt_tokens_total')).toBe(12010);
  });

  it('counts upstream attempts per backend, endpoint and result', async () => {
    const m = new GatewayMetrics(createPromRegistry({ defaultMetrics: false }));
    m.attempt('Service default/a:80', '10.0.0.1:8000', 'response');
    m.attempt('Service default/a:80', '10.0.0.1:8000', 'connect_error');
    m.attempt('Service default/a:80', '10.0.0.2:8000', 'response');
    m.attempt('Service default/b:80', '10.0.0.1:8000', 'response');
    const f = await scrape(m);
    const n = (labels: Record<string, string>) => sumSamples(f, 'infergate_upstream_attempts_total', labels);
    expect(n({ backend: 'Service default/a:80' })).toBe(3);
    expect(n({ endpoint: '10.0.0.1:8000', result: 'response' })).toBe(2);
    expect(n({ result: 'connect_error' })).toBe(1);
  });
});

describe('FastHistogram exposition', () => {
  it('renders cumulative buckets, sum and count that a Prometheus parser reads', async () => {
    const m = new GatewayMetrics(createPromRegistry({ defaultMetrics: false }));
    for (const d of [0.004, 0.02, 0.02, 3, 500]) {
      m.requestStarted();
      m.requestFinished({ ...base, durationSeconds: d });
    }
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE infergate_request_duration_seconds histogram');
    const f = parsePrometheusText(text).families;
    const le = (v: string) => sumSamples(f, 'infergate_request_duration_seconds_bucket', { le: v });
    expect(le('0.005')).toBe(1);
    expect(le('0.025')).toBe(3);
    expect(le('5')).toBe(4);
    expect(le('300')).toBe(4);
    expect(le('+Inf')).toBe(5);
    expect(sumSamples(f, 'infergate_request_duration_seconds_count')).toBe(5);
    expect(sumSamples(f, 'infergate_request_duration_seconds_sum')).toBeCloseTo(503.044);
    const t =
      f.get('infergate_request_duration_seconds_bucket') ?? f.get('infergate_request_duration_seconds');
    expect(t?.samples.every((s) => s.labels.route === 'HTTPRoute default/r')).toBe(true);
  });
});
