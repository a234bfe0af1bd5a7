import { describe, expect, it } from 'vitest';
import type { KubeObject } from './api.js';
import { peerEndpoints } from './peers.js';

const pod = (name: string, status: { podIP?: string; phase?: string }, deleting = false): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    status,
  }) as KubeObject;

describe('peerEndpoints', () => {
  it('lists Pods with an IP, not deleted, not finished; IPv6 bracketed; sorted and unique', () => {
    const eps = peerEndpoints(
      [
        pod('b', { podIP: '10.0.0.2', phase: 'Running' }),
        pod('a', { podIP: '10.0.0.1', phase: 'Pending' }),
        pod('v6', { podIP: 'fd00::3', phase: 'Running' }),
        pod('no-ip', { phase: 'Pending' }),
        pod('gone', { podIP: '10.0.0.4', phase: 'Running' }, true),
        pod('done', { podIP: '10.0.0.5', phase: 'Succeeded' }),
        pod('failed', { podIP: '10.0.0.6', phase: 'Failed' }),
        pod('same-ip', { podIP: '10.0.0.2', phase: 'Running' }),
      ],
      9190,
    );
    expect(eps).toEqual(['tcp://10.0.0.1:9190', 'tcp://10.0.0.2:9190', 'tcp://[fd00::3]:9190']);
  });
});
