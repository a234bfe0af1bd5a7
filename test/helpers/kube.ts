/**
 * A real Kubernetes API server for tests: etcd + kube-apiserver (built by scripts/deps/30-kube.sh)
 * on 127.0.0.1 with free ports, a self-signed serving certificate (openssl), token
 * authentication (user `admin` in system:masters) and RBAC, with the Gateway API and Inference
 * Extension CRDs (or another set, CrdFile) installed and their watches answering. No controllers run: tests create Pods,
 * set their status as a kubelet would, and write EndpointSlices themselves.
 *
 * One environment per test file (start in beforeAll, stop in afterAll): it takes ≈ 5–10 s to start.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { KubeApi, KubeApiError, type KubeObject } from '../../src/k8s/api.js';
import { reservePort } from '../../src/util/ports.js';
import { depsCache, toolPath } from './deps.js';

/** A CRD file relative to `<cache>/crds/` (see scripts/deps/30-kube.sh) or absolute; `only` keeps
 *  the CRDs of those names (`plural.group`) from a file that holds many; `patch` edits each. */
export type CrdFile = string | { file: string; only?: readonly string[]; patch?: (crd: KubeObject) => void };

/** Drops one field from the `required` list of every served version's `spec` schema. */
function notRequired(field: string): (crd: KubeObject) => void {
  return (crd) => {
    const versions = (crd.spec as { versions: { schema: { openAPIV3Schema: Schema } }[] }).versions;
    for (const v of versions) {
      const spec = v.schema.openAPIV3Schema.properties?.spec;
      if (spec?.required) spec.required = spec.required.filter((r) => r !== field);
    }
  };
}
interface Schema {
  properties?: Record<string, Schema>;
  required?: string[];
}

const GATEWAY_API_CRDS: readonly CrdFile[] = [
  'gateway-api-v1.7.0/gateway.networking.k8s.io_gatewayclasses.yaml',
  'gateway-api-v1.7.0/gateway.networking.k8s.io_gateways.yaml',
  'gateway-api-v1.7.0/gateway.networking.k8s.io_httproutes.yaml',
  'gateway-api-v1.7.0/gateway.networking.k8s.io_referencegrants.yaml',
];

/** The CRDs installed by default: Gateway API, the Inference Extension's current versions, and
 *  Envoy Gateway's BackendTrafficPolicy (seed 003 writes one). */
export const CRD_FILES: readonly CrdFile[] = [
  ...GATEWAY_API_CRDS,
  'inference-extension-v1.6.2/inference.networking.k8s.io_inferencepools.yaml',
  'inference-extension-v1.4.0/inference.networking.x-k8s.io_inferencepools.yaml',
  'inference-extension-v1.4.0/inference.networking.x-k8s.io_inferenceobjectives.yaml',
  'inference-extension-v1.4.0/inference.networking.x-k8s.io_inferencemodelrewrites.yaml',
  'inference-extension-v0.5.1/inference.networking.x-k8s.io_inferencemodels.yaml',
  'envoy-gateway-v1.9.1/gateway.envoyproxy.io_backendtrafficpolicies.yaml',
];

/**
 * An ASM-on-Istio cluster as seed 004 has it: the Inference Extension's first release (v1alpha1
 * InferencePool and InferenceModel, one CRD name each, so not beside the default set), Istio's
 * Gateway and VirtualService, and LLMRoute. ASM installs its own copies of the inference CRDs, and
 * its v1alpha1 InferencePool takes a pool without `spec.extensionRef` (seed 004 writes none; the
 * upstream v0.1.0 CRD requires it), so that one requirement is dropped. Alibaba Cloud does not
 * publish LLMRoute's CRD; the stand-in in test/k8s/fixtures names the kind and leaves its schema open.
 */
export const ISTIO_CRD_FILES: readonly CrdFile[] = [
  ...GATEWAY_API_CRDS,
  {
    file: 'inference-extension-v0.1.0/inference.networking.x-k8s.io_inferencepools.yaml',
    patch: notRequired('extensionRef'),
  },
  'inference-extension-v0.1.0/inference.networking.x-k8s.io_inferencemodels.yaml',
  {
    file: 'istio-api-v1.32.0/customresourcedefinitions.gen.yaml',
    only: ['gateways.networking.istio.io', 'virtualservices.networking.istio.io'],
  },
  join(dirname(fileURLToPath(import.meta.url)), '..', 'k8s', 'fixtures', 'llmroute-crd.yaml'),
];

const ADMIN_TOKEN = 'infergate-test-admin-token';

export interface KubeEnv {
  /** https://127.0.0.1:<port> */
  server: string;
  /** A kubeconfig file for user `admin` (system:masters). */
  kubeconfig: string;
  /** Admin client. */
  api: KubeApi;
  /** Server-side applies every object of a YAML text (or the objects given); returns them as stored. */
  apply(input: string | readonly object[]): Promise<KubeObject[]>;
  /** Deletes an object (no error when it is already gone). */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void>;
  /** The REST path of a kind's collection (`namespace` for namespaced kinds). */
  pathOf(apiVersion: string, kind: string, namespace?: string): Promise<string>;
  /** Gets an object, or undefined when it does not exist. */
  get(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined>;
  /** Sets a Pod's status as a kubelet would: Running, the pod IP and host IP, and its Ready condition. */
  setPodStatus(
    namespace: string,
    name: string,
    s: { podIP: string; hostIP?: string; ready: boolean },
  ): Promise<void>;
  /**
   * A kubeconfig file for a ServiceAccount (a token from the TokenRequest API, one hour), so a test
   * runs with that account's RBAC instead of system:masters.
   */
  kubeconfigFor(namespace: string, serviceAccount: string): Promise<string>;
  /**
   * Stops kube-apiserver and starts it again (same port, same etcd): SIGKILL by default, as a crash;
   * `SIGTERM` for a graceful stop (it drains for up to a minute first).
   */
  restartApiServer(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** kube-apiserver's stderr so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export function hasKubeTools(): boolean {
  return toolPath('kube-apiserver') !== undefined && toolPath('etcd') !== undefined;
}

/** Starts etcd + kube-apiserver and installs the CRDs (CRD_FILES unless `crds` says otherwise). */
export async function startKubeEnv(o: { crds?: readonly CrdFile[] } = {}): Promise<KubeEnv> {
  const etcdBin = toolPath('etcd');
  const apiserverBin = toolPath('kube-apiserver');
  if (!etcdBin || !apiserverBin)
    throw new Error('etcd / kube-apiserver are not installed: run npm run test:deps');
  const dir = mkdtempSync(join(tmpdir(), 'infergate-kube-'));
  const children: ChildProcess[] = [];
  let apiLog = '';
  try {
    // Serving certificate (SAN 127.0.0.1); its key also signs service-account tokens.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(join(dir, 'tokens.csv'), `${ADMIN_TOKEN},admin,admin-uid,"system:masters"\n`);

    const [etcdClient, etcdPeer, securePort] = [
      await reservePort(),
      await reservePort(),
      await reservePort(),
    ];
    const etcd = spawn(
      etcdBin,
      [
        '--name',
        'default',
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${etcdClient}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${etcdClient}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(etcd);
    etcd.stderr?.on('data', () => undefined);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
      20_000,
      'etcd health',
    );

    const server = `https://127.0.0.1:${securePort}`;
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-private-key-file=${join(dir, 'tls.key')}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'tls.key')}`,
      `--service-account-signing-key-file=${join(dir, 'tls.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--v=0',
    ];
    let apiserver: ChildProcess;
    const startApiServer = async () => {
      apiserver = spawn(apiserverBin, apiArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(apiserver);
      apiserver.stderr?.setEncoding('utf8').on('data', (d: string) => {
        apiLog = (apiLog + d).slice(-20_000);
      });
      await waitFor(
        async () => {
          if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited:\n${apiLog}`);
          return (await insecureGet(`${server}/readyz`)) === 200;
        },
        60_000,
        'kube-apiserver /readyz',
      );
    };
    await startApiServer();

    const kubeconfig = join(dir, 'kubeconfig.yaml');
    const ca = readFileSync(join(dir, 'tls.crt')).toString('base64');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${ca}`,
        'users:',
        `- name: admin\n  user:\n    token: ${ADMIN_TOKEN}`,
        'contexts:',
        '- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default',
        'current-context: test',
        '',
      ].join('\n'),
    );
    const api = await KubeApi.connect({ kubeconfig });
    const discovery = new Discovery(api);

    const env: KubeEnv = {
      server,
      kubeconfig,
      api,
      async apply(input) {
        const objects = typeof input === 'string' ? parseYaml(input) : (input as KubeObject[]);
        const out: KubeObject[] = [];
        for (const o of objects) {
          const ns = (await discovery.namespaced(o.apiVersion!, o.kind!))
            ? (o.metadata.namespace ?? 'default')
            : undefined;
          const path = `${await discovery.path(o.apiVersion!, o.kind!, ns)}/${o.metadata.name}`;
          out.push(
            await api.json<KubeObject>(
              'PATCH',
              `${path}?fieldManager=infergate-test&force=true`,
              o,
              'application/apply-patch+yaml',
            ),
          );
        }
        return out;
      },
      async remove(apiVersion, kind, namespace, name) {
        const path = `${await discovery.path(apiVersion, kind, namespace)}/${name}`;
        try {
          await api.json('DELETE', `${path}?gracePeriodSeconds=0`);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.status === 404)) throw err;
        }
      },
      pathOf: (apiVersion, kind, namespace) => discovery.path(apiVersion, kind, namespace),
      async get(apiVersion, kind, namespace, name) {
        const path = `${await discovery.path(apiVersion, kind, namespace)}/${name}`;
        try {
          return await api.json<KubeObject>('GET', path);
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) return undefined;
          throw err;
        }
      },
      async setPodStatus(namespace, name, s) {
        await api.json(
          'PATCH',
          `/api/v1/namespaces/${namespace}/pods/${name}/status`,
          {
            status: {
              phase: 'Running',
              podIP: s.podIP,
              podIPs: [{ ip: s.podIP }],
              hostIP: s.hostIP ?? '127.0.0.1',
              conditions: [{ type: 'Ready', status: s.ready ? 'True' : 'False' }],
            },
          },
          'application/merge-patch+json',
        );
      },
      async kubeconfigFor(namespace, serviceAccount) {
        const tr = await api.json<{ status: { token: string } }>(
          'POST',
          `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
          { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
        );
        const file = join(dir, `kubeconfig.${namespace}.${serviceAccount}.yaml`);
        writeFileSync(
          file,
          readFileSync(kubeconfig, 'utf8').replace(/token: .*/, `token: ${tr.status.token}`),
        );
        return file;
      },
      async restartApiServer(signal = 'SIGKILL') {
        apiserver.kill(signal);
        await new Promise((r) => apiserver.once('exit', r));
        await startApiServer();
      },
      logs: () => apiLog,
      async stop() {
        await api.close();
        await stopAll(children);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await installCrds(env, o.crds ?? CRD_FILES);
    return env;
  } catch (err) {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function installCrds(env: KubeEnv, files: readonly CrdFile[]): Promise<void> {
  const crds: KubeObject[] = [];
  for (const entry of files) {
    const file = typeof entry === 'string' ? entry : entry.file;
    const only = typeof entry === 'string' ? undefined : entry.only;
    const patch = typeof entry === 'string' ? undefined : entry.patch;
    const path = isAbsolute(file) ? file : join(depsCache, 'crds', file);
    for (const o of parseYaml(readFileSync(path, 'utf8'))) {
      if (o.kind !== 'CustomResourceDefinition') continue;
      if (only && !only.includes(o.metadata.name ?? '')) continue;
      patch?.(o);
      crds.push(o);
    }
  }
  await env.apply(crds);
  // Established, then the watch of every served version answers 200 (it may answer 429 for a moment).
  for (const crd of crds) {
    const spec = crd.spec as {
      group: string;
      names: { plural: string };
      versions: { name: string; served: boolean }[];
    };
    for (const v of spec.versions.filter((x) => x.served)) {
      const path = `/apis/${spec.group}/${v.name}/${spec.names.plural}?limit=1`;
      await waitFor(
        async () => {
          try {
            await env.api.json('GET', path);
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        `CRD ${spec.names.plural}.${spec.group}/${v.name}`,
      );
    }
  }
}

export function parseYaml(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const d of parseAllDocuments(text) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    const v = d.toJS() as KubeObject | null;
    if (v && typeof v === 'object' && v.kind) out.push(v);
  }
  return out;
}

/** Which REST path serves a kind: from the API server's discovery documents, cached. */
class Discovery {
  private readonly byGroupVersion = new Map<string, Map<string, { name: string; namespaced: boolean }>>();
  constructor(private readonly api: KubeApi) {}

  private async resources(apiVersion: string) {
    let m = this.byGroupVersion.get(apiVersion);
    if (!m) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = await this.api.json<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        'GET',
        base,
      );
      m = new Map();
      for (const r of list.resources) if (!r.name.includes('/')) m.set(r.kind, r);
      this.byGroupVersion.set(apiVersion, m);
    }
    return m;
  }

  async namespaced(apiVersion: string, kind: string): Promise<boolean> {
    const r = (await this.resources(apiVersion)).get(kind);
    if (!r) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    return r.namespaced;
  }

  async path(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const r = (await this.resources(apiVersion)).get(kind);
    if (!r) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return r.namespaced ? `${base}/namespaces/${namespace ?? 'default'}/${r.name}` : `${base}/${r.name}`;
  }
}

async function insecureGet(url: string): Promise<number> {
  const { request, Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const res = await request(url, { dispatcher, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  } finally {
    await dispatcher.close();
  }
}

/** Polls `check` every 100 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
      if (err instanceof Error && err.message.includes('exited')) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    [...children].reverse().map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await new Promise((r) => c.once('exit', r));
      clearTimeout(t);
    }),
  );
}
