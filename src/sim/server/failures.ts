/**
 * Seeded failure injection for generate requests. One draw per accepted request, in arrival order,
 * so the same seed and the same request sequence give the same failures:
 *   u < failureRate                          → an error response of one of `types` (second draw)
 *   u < failureRate + hangRate               → accept, never answer (until the client gives up)
 *   u < failureRate + hangRate + disconnect  → drop the connection after k tokens, k uniform in
 *                                               [1, max_tokens − 1] (third draw)
 * Statuses are those vLLM itself returns (400, 404, 500, 503); 429 is not a vLLM status but is what
 * a rate-limiting proxy in front of it answers, so it is offered for gateway tests.
 */
import { randInt, SeededRng } from '../../util/rng.js';
import { SimHttpError } from './errors.js';

export const FAILURE_TYPES = [
  'server-error',
  'unavailable',
  'bad-request',
  'not-found',
  'rate-limit',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

export function isFailureType(s: string): s is FailureType {
  return (FAILURE_TYPES as readonly string[]).includes(s);
}

const RESPONSES: Readonly<Record<FailureType, { status: number; type: string; message: string }>> = {
  'server-error': {
    status: 500,
    type: 'InternalServerError',
    message:
      'EngineCore encountered an issue. See stack trace (above) for the root cause. (injected failure)',
  },
  unavailable: {
    status: 503,
    type: 'ServiceUnavailableError',
    message: 'Service Unavailable (injected failure)',
  },
  'bad-request': { status: 400, type: 'BadRequestError', message: 'Bad request (injected failure)' },
  'not-found': {
    status: 404,
    type: 'NotFoundError',
    message: 'The model does not exist. (injected failure)',
  },
  'rate-limit': { status: 429, type: 'RateLimitError', message: 'Too Many Requests (injected failure)' },
};

export function injectedError(type: FailureType): SimHttpError {
  const r = RESPONSES[type];
  return new SimHttpError('INJECTED', r.status, r.message, r.type);
}

export interface FailureConfig {
  failureRate: number;
  failureTypes: readonly FailureType[];
  hangRate: number;
  disconnectRate: number;
}

export type Injection =
  | { kind: 'none' }
  | { kind: 'error'; type: FailureType }
  | { kind: 'hang' }
  | { kind: 'disconnect'; afterTokens: number };

const NONE: Injection = { kind: 'none' };

export class FailureInjector {
  private readonly cfg: FailureConfig;
  private readonly rng: SeededRng;
  readonly enabled: boolean;

  constructor(cfg: FailureConfig, seed: number) {
    this.cfg = cfg;
    this.rng = new SeededRng(seed);
    this.enabled = cfg.failureRate > 0 || cfg.hangRate > 0 || cfg.disconnectRate > 0;
  }

  /** The fate of the next request whose effective max_tokens is `maxTokens`. */
  next(maxTokens: number): Injection {
    if (!this.enabled) return NONE;
    const { failureRate, hangRate, disconnectRate, failureTypes } = this.cfg;
    const u = this.rng.next();
    if (u < failureRate && failureTypes.length > 0) {
      return { kind: 'error', type: failureTypes[randInt(this.rng, 0, failureTypes.length - 1)]! };
    }
    if (u < failureRate + hangRate) return { kind: 'hang' };
    if (u < failureRate + hangRate + disconnectRate) {
      return { kind: 'disconnect', afterTokens: randInt(this.rng, 1, Math.max(1, maxTokens - 1)) };
    }
    return NONE;
  }
}
