import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildPodManifests, parseLabels, podManifestsYaml } from './pods.js';

describe('Pod manifests for simulated replicas', () => {
  const replicas = [
    { index: 0, host: '127.0.0.1', port: 41001 },
    { index: 1, host: '127.0.0.1', port: 41002 },
  ];

  it('maps the target port to each replica with hostPort and marks the Pod Running and Ready', () => {
    const [p0] = buildPodManifests(replicas, { labels: { app: 'qwq-32b' }, targetPort: 8000 });
    expect(p0).toMatchObject({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sim-0', namespace: 'default', labels: { app: 'qwq-32b' } },
      status: {
        phase: 'Running',
        podIP: '127.0.0.1',
        hostIP: '127.0.0.1',
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    expect(p0!.spec.containers[0]!.ports[0]).toMatchObject({ containerPort: 8000, hostPort: 41001 });
  });

  it('writes one YAML document per replica', () => {
    const text = podManifestsYaml(replicas, { labels: parseLabels('app=x,tier=gpu'), namePrefix: 'qwq' });
    const docs = parseAllDocuments(text).map(
      (d) => d.toJS() as { metadata: { name: string; labels: unknown } },
    );
    expect(docs.map((d) => d.metadata.name)).toEqual(['qwq-0', 'qwq-1']);
    expect(docs[1]!.metadata.labels).toEqual({ app: 'x', tier: 'gpu' });
  });

  it('rejects labels without a value separator', () => {
    expect(() => parseLabels('app')).toThrow(/key=value/);
  });
});
