/**
 * CONTRACT: one model-server endpoint of an InferencePool — a pod IP and one of the pool's target
 * ports. `src/requestcontrol/types.ts` re-exports it with the other routing contracts.
 */
import type { Labels } from '../util/labels.js';

export interface Endpoint {
  /** `address:port`, the value of `x-gateway-destination-endpoint`. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly podName?: string;
  readonly labels: Labels;
}
