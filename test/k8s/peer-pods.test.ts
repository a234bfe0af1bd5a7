/**
 * Peer discovery for load sharing on a real API server: two `serve --kubernetes` replicas find each
 * other as the Pods matching `--peer-selector` (Pod objects whose IPs are the loopback addresses the
 * replicas publish on), lose a peer whose Pod is deleted although its process still runs, and find it
 * again when the Pod comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservePort } from '../../src/util/ports.js';
import { hasTool } from '../helpers/deps.js';
import { type KubeEnv, startKubeEnv } from '../helpers/kube.js';
import { eventually, type Serve, startServe } from './helpers.js';

const IPS = { a: '127.0.0.21', b: '127.0.0.22' } as const;

const gatewayPod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'gw' } },
  spec: { containers: [{ name: 'gateway', image: 'infergate' }] },
});

describe.skipIf(!hasTool('kube-apiserver') || !hasTool('etcd'))(
  'peer gateways found as Pods (--peer-selector)',
  () => {
    let env: KubeEnv;
    const serves: Partial<Record<'a' | 'b', Serve>> = {};

    async function runGatewayPod(name: 'a' | 'b'): Promise<void> {
      await env.apply([gatewayPod(`gw-${name}`)]);
      await env.setPodStatus('default', `gw-${name}`, { podIP: IPS[name], ready: true });
    }

    beforeAll(async () => {
      env = await startKubeEnv();
      // Another Pod in the namespace that the selector must not pick.
      await env.apply([
        { ...gatewayPod('other'), metadata: { name: 'other', namespace: 'default', labels: { app: 'x' } } },
      ]);
      await env.setPodStatus('default', 'other', { podIP: '127.0.0.23', ready: true });
      await runGatewayPod('a');
      await runGatewayPod('b');
      const port = await reservePort();
      for (const name of ['a', 'b'] as const) {
        serves[name] = startServe(
          env,
          [80],
          ['--no-status', '--peer-listen', `tcp://${IPS[name]}:${port}`, '--peer-selector', 'app=gw'],
          `peer-${name}`,
          { POD_NAMESPACE: 'default' },
        );
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(Object.values(serves).map((s) => s?.stop()));
      await env?.stop();
    });

    const peersOf = (s: Serve | undefined) => s!.metric('infergate_peer_gateways');

    it('each replica hears the other, found by its Pod', async () => {
      await eventually(async () => (await peersOf(serves.a)) === 1, 30_000, 'a to hear b');
      await eventually(async () => (await peersOf(serves.b)) === 1, 30_000, 'b to hear a');
      expect(await serves.a!.metric('infergate_peer_load_messages_received_total')).toBeGreaterThan(0);
      // Subscribed to both gateway Pods (its own included), not to the Pod the selector leaves out.
      expect(await serves.a!.metric('infergate_peer_connections')).toBe(2);
    });

    it("a deleted Pod's replica is no longer heard, though its process runs; back with its Pod", async () => {
      await env.remove('v1', 'Pod', 'default', 'gw-b');
      // a disconnects from b; b's counts go once b has been silent for the expiry (3.5 s).
      await eventually(async () => (await peersOf(serves.a)) === 0, 20_000, 'a to drop b');
      expect(await serves.a!.metric('infergate_peer_connections')).toBe(1);
      expect(serves.b!.proc.child.exitCode).toBeNull();
      await runGatewayPod('b');
      await eventually(async () => (await peersOf(serves.a)) === 1, 20_000, 'a to hear b again');
    });
  },
);
