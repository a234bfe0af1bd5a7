/**
 * Kubernetes mode, measured against a real API server (etcd + kube-apiserver from
 * scripts/deps/30-kube.sh) with `infergate serve --kubernetes` as a child process:
 *
 * 1. apply → traffic follows: 50 changes, each ONE API write (the InferencePool's selector flipped
 *    between two simulated Pods); a client sends requests back to back and records when the first
 *    response from the newly selected Pod arrives. Latency = that time − the time the write returned.
 * 2. scale: 1,000 Pods (with status, as a kubelet sets it) in 50 InferencePools of 20; the gateway's
 *    RSS after sync, CPU while idle, and CPU and time per change while 100 Pod readiness flips are
 *    written one after another.
 *
 *   flock -w 900 /work/bench.lock npx tsx bench/k8s-watch.ts [--changes 50] [--pods 1000] [--pools 50]
 *
 * Writes bench/results/k8s-watch.json. Wall-clock times on a shared two-core machine; the
 * simulator runs at --time-scale 0.05 (its latencies are not the point here).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasKubeTools, startKubeEnv } from '../test/helpers/kube.js';
import { complete, runPod, startServe, startSims } from '../test/k8s/helpers.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '50' },
    pods: { type: 'string', default: '1000' },
    pools: { type: 'string', default: '50' },
  },
});
const CHANGES = Number(values.changes);
const PODS = Number(values.pods);
const POOLS = Number(values.pools);

const V1 = 'inference.networking.k8s.io/v1';
const poolSpec = (labels: Record<string, string>) => ({
  selector: { matchLabels: labels },
  targetPorts: [{ number: 8000 }],
});
const GW = 'gateway.networking.k8s.io/v1';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** utime + stime of a process, in ms (from /proc). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ = 100
}

function rssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  if (!hasKubeTools()) throw new Error('kube-apiserver / etcd missing: run npm run test:deps');
  const env = await startKubeEnv();
  const sims = await startSims(2, ['bench-model']);
  const result: Record<string, unknown> = {
    machine: 'shared 2-core VM (other engineers running builds and tests at the same time)',
    simulator: 'infergate sim, --time-scale 0.05',
    date: new Date().toISOString(),
  };
  try {
    await env.apply([
      {
        apiVersion: GW,
        kind: 'GatewayClass',
        metadata: { name: 'infergate' },
        spec: { controllerName: 'infergate.io/gateway-controller' },
      },
      {
        apiVersion: GW,
        kind: 'Gateway',
        metadata: { name: 'gw', namespace: 'default' },
        spec: { gatewayClassName: 'infergate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
      {
        apiVersion: GW,
        kind: 'HTTPRoute',
        metadata: { name: 'r', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'gw' }],
          rules: [
            {
              backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: 'flip' }],
            },
          ],
        },
      },
      {
        apiVersion: V1,
        kind: 'InferencePool',
        metadata: { name: 'flip', namespace: 'default' },
        spec: poolSpec({ app: 'a' }),
      },
    ]);
    await runPod(
      env,
      { name: 'pod-a', labels: { app: 'a' }, containerPort: 8000, hostPort: sims.ports[0]! },
      1,
    );
    await runPod(
      env,
      { name: 'pod-b', labels: { app: 'b' }, containerPort: 8000, hostPort: sims.ports[1]! },
      2,
    );
    const serve = startServe(
      env,
      [80],
      ['--debug-headers', '--no-status', '--scrape-interval', '5s'],
      'bench',
    );
    try {
      const url = await serve.url('default/gw/http');
      const ep = (app: string) => `127.0.0.1:${sims.ports[app === 'a' ? 0 : 1]}`;

      // 1. apply → traffic follows
      const latencies: number[] = [];
      let current = 'a';
      for (let i = 0; i < CHANGES; i++) {
        const next = current === 'a' ? 'b' : 'a';
        await env.apply([
          {
            apiVersion: V1,
            kind: 'InferencePool',
            metadata: { name: 'flip', namespace: 'default' },
            spec: poolSpec({ app: next }),
          },
        ]);
        const written = performance.now();
        const deadline = written + 10_000;
        let followed = Number.NaN;
        while (performance.now() < deadline) {
          const r = await complete(url, 'bench-model');
          if (r.endpoint === ep(next)) {
            followed = performance.now() - written;
            break;
          }
        }
        latencies.push(followed);
        current = next;
      }
      const ok = latencies.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      result.applyToTraffic = {
        changes: CHANGES,
        followedWithin10s: ok.length,
        p50Ms: Math.round(percentile(ok, 50)),
        p99Ms: Math.round(percentile(ok, 99)),
        minMs: Math.round(ok[0] ?? Number.NaN),
        maxMs: Math.round(ok.at(-1) ?? Number.NaN),
        note: 'one API write per change (the pool selector); includes the 100 ms coalescing window, the plan rebuild and one request round trip of polling granularity',
      };
      console.log('apply → traffic follows', result.applyToTraffic);

      // 2. 1,000 Pods in 50 pools
      const pid = serve.proc.child.pid!;
      const perPool = Math.ceil(PODS / POOLS);
      const t0 = performance.now();
      for (let p = 0; p < POOLS; p++) {
        await env.apply([
          {
            apiVersion: V1,
            kind: 'InferencePool',
            metadata: { name: `pool-${p}`, namespace: 'default' },
            spec: poolSpec({ pool: `p${p}` }),
          },
        ]);
      }
      for (let i = 0; i < PODS; i++) {
        const p = Math.floor(i / perPool);
        await env.apply([
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: `w-${i}`, namespace: 'default', labels: { pool: `p${p}` } },
            spec: {
              nodeName: 'sim-node',
              containers: [{ name: 'vllm', image: 'vllm', ports: [{ containerPort: 8000 }] }],
            },
          },
        ]);
        await env.setPodStatus('default', `w-${i}`, {
          podIP: `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
          ready: true,
        });
      }
      const loaded = performance.now() - t0;
      // Let the gateway settle, then measure idle CPU over 10 s.
      await new Promise((r) => setTimeout(r, 5000));
      const rssAfterSync = rssMiB(pid);
      let c0 = cpuMs(pid);
      await new Promise((r) => setTimeout(r, 10_000));
      const idleCpu = (cpuMs(pid) - c0) / 10_000;
      // 100 readiness flips, one write each, back to back.
      c0 = cpuMs(pid);
      const f0 = performance.now();
      for (let i = 0; i < 100; i++) {
        const n = (i * 7) % PODS;
        await env.setPodStatus('default', `w-${n}`, {
          podIP: `10.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`,
          ready: i % 2 === 1,
        });
      }
      await new Promise((r) => setTimeout(r, 2000));
      const churnWall = performance.now() - f0;
      const churnCpu = cpuMs(pid) - c0;
      result.scale = {
        pods: PODS,
        pools: POOLS,
        secondsToCreate: Math.round(loaded / 100) / 10,
        gatewayRssMiB: Math.round(rssAfterSync),
        idleCpuCores: Math.round(idleCpu * 1000) / 1000,
        flips: 100,
        churnWallSeconds: Math.round(churnWall / 100) / 10,
        churnCpuSeconds: Math.round(churnCpu / 100) / 10,
        cpuMsPerFlip: Math.round(churnCpu / 100),
        note: 'RSS of the gateway process (node + tsx; scheduler scrape loops for 1,000 unreachable endpoints at --scrape-interval 5s included); CPU from /proc utime+stime',
      };
      console.log('scale', result.scale);
    } finally {
      await serve.stop();
    }
  } finally {
    await sims.stop();
    await env.stop();
  }
  writeFileSync(new URL('./results/k8s-watch.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}

await main();
