import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadPlanFromObjects } from './index.js';

const pool = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name, namespace: 'llm', uid: 'u1', resourceVersion: '7', generation: 2, managedFields: [] },
  spec: { selector: { matchLabels: { app: name } }, targetPorts: [{ number: 8000 }], ...extra },
});

const pod = (name: string, app: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'llm', labels: { app } },
  spec: { containers: [{ name: 'vllm', ports: [{ containerPort: 8000 }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('loadPlanFromObjects (objects from the API server)', () => {
  it('builds pools and endpoints from API objects, naming them `cluster ns/Kind/name`', () => {
    const r = loadPlanFromObjects([
      pool('qwen'),
      pod('qwen-0', 'qwen', '10.0.0.1'),
      pod('qwen-1', 'qwen', '10.0.0.2'),
    ]);
    expect(r.plan?.pools.get('llm/qwen')?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual([
      '10.0.0.1:8000',
      '10.0.0.2:8000',
    ]);
    expect(r.files).toEqual([]);
    expect(r.plan?.pools.get('llm/qwen')?.source).toMatchObject({ file: 'cluster', kind: 'InferencePool' });
  });

  it('notes fields it does not know instead of refusing the object (the API server validated it)', () => {
    const r = loadPlanFromObjects([pool('qwen', { futureField: true })]);
    expect(r.plan).toBeDefined();
    const d = r.diagnostics.find((x) => x.code === 'UNKNOWN_FIELD');
    expect(d?.severity).toBe('info');
    expect(formatDiagnostic(d!)).toMatch(/^info: cluster llm\/InferencePool\/qwen spec\.futureField: /);
  });

  it('with dropInvalid leaves out only the object with an error and serves the rest', () => {
    const bad = pool('broken', { targetPorts: [{ number: 8000 }, { number: 8000 }] });
    const strictLoad = loadPlanFromObjects([pool('qwen'), bad]);
    expect(strictLoad.plan).toBeUndefined();
    const r = loadPlanFromObjects([pool('qwen'), bad], { dropInvalid: true });
    expect([...(r.plan?.pools.keys() ?? [])]).toEqual(['llm/qwen']);
    const dropped = r.diagnostics.find((d) => d.object === 'llm/InferencePool/broken');
    expect(dropped?.severity).toBe('warning');
    expect(dropped?.message).toMatch(/left out of the plan/);
  });

  it('names the older object of a duplicated modelName by its cluster origin', () => {
    const model = (name: string, ts: string) => ({
      apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
      kind: 'InferenceModel',
      metadata: { name, namespace: 'llm', creationTimestamp: ts },
      spec: { modelName: 'chat', poolRef: { name: 'qwen', group: 'inference.networking.k8s.io' } },
    });
    const r = loadPlanFromObjects([
      pool('qwen'),
      model('newer', '2026-01-02T00:00:00Z'),
      model('older', '2026-01-01T00:00:00Z'),
    ]);
    const d = r.diagnostics.find((x) => x.code === 'DUPLICATE_MODEL_NAME');
    expect(d?.object).toBe('llm/InferenceModel/newer');
    expect(d?.message).toContain('(cluster llm/InferenceModel/older)');
  });
});
