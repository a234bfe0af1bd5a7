/**
 * Starts the gateway in-process on OS-chosen ports for a test, with an in-memory access log, through
 * the composition root. Its InferencePools are routed by the real scheduler registry (`serve`'s
 * default: scrapes, picker, objectives, admission), seeded; a test that needs to see the PoolRouter
 * calls passes its own `poolRegistryFactory` (helpers/routers.ts).
 */
import { InfergateProcess } from '../../../src/app/index.js';
import type { Plan } from '../../../src/config/plan.js';
import {
  DEFAULT_OUTLIER_OPTIONS,
  defaultGatewayOptions,
  type Gateway,
  type GatewayOptions,
} from '../../../src/gateway/index.js';
import {
  createSchedulerRegistry,
  type PoolRouterRegistryFactory,
} from '../../../src/requestcontrol/index.js';
import type { AccessRecord } from '../../../src/telemetry/access-log.js';
import { silentLogger } from '../../../src/util/log.js';
import { SeededRng } from '../../../src/util/rng.js';

export interface TestGateway {
  gw: Gateway;
  /** Base URL of the socket serving a declared port. */
  url(declaredPort: number): string;
  admin: string;
  access: AccessRecord[];
  /** Waits until `n` access-log lines were written (a request is logged when it has fully ended). */
  waitForAccess(n: number, timeoutMs?: number): Promise<AccessRecord[]>;
  close(): Promise<void>;
}

export async function startGateway(
  plan: Plan,
  overrides: Partial<GatewayOptions> & { poolRegistryFactory?: PoolRouterRegistryFactory } = {},
): Promise<TestGateway> {
  const { poolRegistryFactory, ...gatewayOverrides } = overrides;
  const access: AccessRecord[] = [];
  const declared = [...new Set(plan.listeners.map((l) => l.port))];
  const opts: GatewayOptions = {
    ...defaultGatewayOptions(silentLogger()),
    host: '127.0.0.1',
    ports: { map: new Map(declared.map((p) => [p, 0])), offset: 0 },
    adminPort: 0,
    seed: 42,
    outlier: DEFAULT_OUTLIER_OPTIONS,
    accessLog: {
      kind: 'sink',
      sink: {
        write(line: string) {
          access.push(JSON.parse(line) as AccessRecord);
        },
      },
    },
    ...gatewayOverrides,
  };
  const realScheduler: PoolRouterRegistryFactory = (o) =>
    createSchedulerRegistry({ ...o, rng: new SeededRng(42).fork('scheduler'), scrapeIntervalMs: 20 });
  const proc = await InfergateProcess.start(plan, {
    gateway: opts,
    poolRouters: poolRegistryFactory ?? realScheduler,
  });
  const gw = proc.gateway;
  return {
    gw,
    url(port: number) {
      const l = gw.listeners().find((x) => x.declaredPort === port);
      if (!l) throw new Error(`no listener on declared port ${port}`);
      return l.url;
    },
    admin: proc.adminUrl ?? '',
    access,
    async waitForAccess(n: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (access.length < n) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${n} access-log lines (have ${access.length})`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return access;
    },
    close: () => proc.close(),
  };
}
