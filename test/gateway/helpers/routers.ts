/**
 * Pool router registries for tests of the gateway side of the PoolRouter contract: one that rewrites
 * the model (as an InferenceModel target draw does) and records every onDispatch / onComplete call.
 */
import type { Plan } from '../../../src/config/plan.js';
import { GatewayError } from '../../../src/openai/errors.js';
import type {
  Endpoint,
  InferenceRequest,
  PoolRouter,
  PoolRouterRegistry,
  RequestOutcome,
  RoutingDecision,
} from '../../../src/requestcontrol/types.js';

export interface RecordingRegistry extends PoolRouterRegistry {
  requests: InferenceRequest[];
  dispatched: { id: string; endpoint: string }[];
  completed: { id: string; endpoint: string; outcome: RequestOutcome }[];
  syncs: number;
}

/**
 * Routes every request to the pool's ready endpoints in plan order (all of them, as fallbacks).
 * `rewrite` maps a client model to the model sent upstream; the response must be rewritten back.
 * A request for model `unknown` is rejected with MODEL_NOT_FOUND; `shed-me` with POOL_SATURATED.
 */
export function recordingRegistry(rewrite: Record<string, string> = {}): RecordingRegistry {
  let plan: Plan | undefined;
  const reg: RecordingRegistry = {
    requests: [],
    dispatched: [],
    completed: [],
    syncs: 0,
    sync(p) {
      plan = p;
      reg.syncs++;
    },
    get(key) {
      const pool = plan?.pools.get(key);
      if (pool === undefined) return undefined;
      const endpoints: Endpoint[] = pool.endpoints
        .filter((e) => e.ready)
        .map((e) => ({ id: `${e.address}:${e.port}`, address: e.address, port: e.port, labels: e.labels }));
      const router: PoolRouter = {
        async route(req): Promise<RoutingDecision> {
          reg.requests.push(req);
          if (req.model === 'unknown') throw new GatewayError('MODEL_NOT_FOUND', 'no such model', 'model');
          if (req.model === 'shed-me')
            throw new GatewayError('POOL_SATURATED', 'every endpoint is saturated');
          if (endpoints.length === 0) throw new GatewayError('NO_READY_ENDPOINT', 'no ready endpoint');
          const target = req.model !== undefined ? rewrite[req.model] : undefined;
          let body = req.body;
          if (target !== undefined && req.json)
            body = Buffer.from(JSON.stringify({ ...req.json, model: target }));
          return {
            endpoints,
            body,
            targetModel: target ?? req.model,
            responseModel: target !== undefined ? { upstream: target, client: req.model! } : undefined,
            reason: 'test router',
            onDispatch(ep) {
              reg.dispatched.push({ id: req.id, endpoint: ep.id });
            },
            onComplete(ep, outcome) {
              reg.completed.push({ id: req.id, endpoint: ep.id, outcome });
            },
          };
        },
      };
      return router;
    },
    async close() {},
  };
  return reg;
}
