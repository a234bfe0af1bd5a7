/** KV-event subscribers and the block index they feed (see service.ts). */
export { KvBlockIndex, type KvBlockIndexOptions, type StoreOutcome } from './block-index.js';
export {
  decodeKvEventBatch,
  type EngineHashKey,
  engineHashKey,
  type KvEvent,
  type KvEventBatch,
  KvEventDecodeError,
} from './decode.js';
export {
  KV_EVENTS_PORT_LABEL,
  KV_REPLAY_PORT_LABEL,
  type KvEndpointRef,
  type KvEndpointStatus,
  KvEventHub,
  KvEventsService,
  type KvHubParams,
} from './service.js';
export { EndpointSubscriber, type SubscriberStatus } from './subscriber.js';
export { hashTokenBlock, hashTokenBlocks, rootHash } from './token-hash.js';
