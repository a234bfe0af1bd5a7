import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sumSamples } from '../scraping/promtext.js';
import { type ObjectiveRequestRecord, ReferenceObjectiveMetrics } from './reference-metrics.js';

const ok: ObjectiveRequestRecord = {
  model: 'chat',
  targetModel: 'chat-v2',
  status: 200,
  durationSeconds: 0.3,
  promptTokens: 100,
  completionTokens: 20,
};

async function scrape(registry: Registry) {
  return parsePrometheusText(await registry.metrics()).families;
}

describe('ReferenceObjectiveMetrics', () => {
  it('counts requests, errors, durations and tokens per (model, target) and running per model, across scrapes', async () => {
    const registry = new Registry();
    const m = new ReferenceObjectiveMetrics(registry);
    m.started('chat');
    m.started('chat');
    m.finished(ok, true);
    let f = await scrape(registry);
    const pair = { model_name: 'chat', target_model_name: 'chat-v2' };
    expect(sumSamples(f, 'inference_objective_request_total', { ...pair, priority: '0' })).toBe(1);
    expect(sumSamples(f, 'inference_objective_running_requests', { model_name: 'chat' })).toBe(1);
    expect(sumSamples(f, 'inference_objective_request_duration_seconds_sum', pair)).toBeCloseTo(0.3);
    expect(sumSamples(f, 'inference_objective_input_tokens_bucket', { ...pair, le: '128' })).toBe(1);
    expect(sumSamples(f, 'inference_objective_input_tokens_bucket', { ...pair, le: '64' })).toBe(0);
    expect(sumSamples(f, 'inference_objective_output_tokens_count', pair)).toBe(1);

    // An error is counted by code and not observed in the histograms; the counts keep adding up.
    m.finished({ ...ok, status: 502 }, true);
    m.finished({ ...ok, targetModel: undefined }, false);
    f = await scrape(registry);
    expect(sumSamples(f, 'inference_objective_request_total', { ...pair, priority: '0' })).toBe(2);
    expect(sumSamples(f, 'inference_objective_request_error_total', { ...pair, error_code: '502' })).toBe(1);
    expect(sumSamples(f, 'inference_objective_request_duration_seconds_count', pair)).toBe(1);
    expect(sumSamples(f, 'inference_objective_running_requests', { model_name: 'chat' })).toBe(0);
    // No target model: the target label is the model itself.
    expect(
      sumSamples(f, 'inference_objective_request_total', { model_name: 'chat', target_model_name: 'chat' }),
    ).toBe(1);
  });

  it('caps distinct model names (then "other") and keeps counting', async () => {
    const registry = new Registry();
    const m = new ReferenceObjectiveMetrics(registry);
    for (let i = 0; i < 1005; i++) m.finished({ ...ok, model: `m${i}`, targetModel: undefined }, false);
    const f = await scrape(registry);
    expect(sumSamples(f, 'inference_objective_request_total')).toBe(1005);
    expect(sumSamples(f, 'inference_objective_request_total', { model_name: 'other' })).toBe(5);
  });
});
