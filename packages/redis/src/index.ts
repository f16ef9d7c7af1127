export { decodeSession, encodeSession } from './codec.js';
export type {
  RedisStoreClient,
  RedisStoreClusterClient,
  RedisSubscriberClient,
  RedisSubscriberCluster,
} from './connection.js';
export {
  KEY_LAYOUT_VERSION,
  type PartnerKeys,
  type RedisKeyLayout,
  redisKeyLayout,
} from './keys.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export type { RedisConnectionName, RedisStoreErrorHandler, RedisStoreErrorInfo } from './report.js';
export type { RedisStore } from './store.js';
