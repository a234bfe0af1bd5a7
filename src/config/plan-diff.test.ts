import { describe, expect, it } from 'vitest';
import { differsOnlyInEndpoints, loadPlanFromObjects, type Plan } from './index.js';

const pool = (name: string, port = 8000) => ({
  apiVersion: 'inference.networking.k8s.io/v1',
  kind: 'InferencePool',
  metadata: { name, namespace: 'llm' },
  spec: {
    selector: { matchLabels: { app: name } },
    targetPorts: [{ number: port }],
    endpointPickerRef: { name: `${name}-epp`, port: { number: 9002 } },
  },
});

const pod = (name: string, app: string, ip: string, ready = true) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'llm', labels: { app } },
  spec: { containers: [{ name: 'vllm', ports: [{ containerPort: 8000 }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'llm' },
  spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8000 }] },
};

const route = (weight: number) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: 'llm' },
  spec: {
    rules: [
      {
        backendRefs: [
          { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'qwen', weight },
          { name: 'web', port: 80, weight: 1 },
        ],
      },
    ],
  },
});

function plan(objects: object[]): Plan {
  const r = loadPlanFromObjects(objects, { dropInvalid: true });
  if (!r.plan) throw new Error(JSON.stringify(r.diagnostics));
  return r.plan;
}

describe('differsOnlyInEndpoints', () => {
  const base = [
    pool('qwen'),
    service,
    route(1),
    pod('qwen-0', 'qwen', '10.0.0.1'),
    pod('web-0', 'web', '10.0.1.1'),
  ];

  it('is true for pod churn: Pods added, removed, turning unready, in pools and behind Services', () => {
    const a = plan(base);
    const b = plan([
      ...base.filter((o) => (o as { kind: string }).kind !== 'Pod'),
      pod('qwen-0', 'qwen', '10.0.0.1', false),
      pod('qwen-1', 'qwen', '10.0.0.2'),
      pod('web-1', 'web', '10.0.1.2'),
    ]);
    expect(b.pools.get('llm/qwen')?.endpoints.map((e) => [e.address, e.ready])).toEqual([
      ['10.0.0.1', false],
      ['10.0.0.2', true],
    ]);
    expect(
      b.services
        .get('llm/web')
        ?.endpointsByPort.get(80)
        ?.map((e) => e.address),
    ).toEqual(['10.0.1.2']);
    expect(differsOnlyInEndpoints(a, b)).toBe(true);
    expect(differsOnlyInEndpoints(a, plan(base))).toBe(true);
  });

  it('is false when routing changes: a route weight, a pool target port, a new pool', () => {
    const a = plan(base);
    expect(differsOnlyInEndpoints(a, plan([...base.slice(0, 2), route(5), ...base.slice(3)]))).toBe(false);
    expect(differsOnlyInEndpoints(a, plan([pool('qwen', 8001), ...base.slice(1)]))).toBe(false);
    expect(differsOnlyInEndpoints(a, plan([...base, pool('other')]))).toBe(false);
  });
});
