// Exported for users only. The session codec and the key layout are the
// store's own (and the tests'); import them from their modules inside the package.
export type {
  RedisStoreClient,
  RedisStoreClusterClient,
  RedisSubscriberClient,
  RedisSubscriberCluster,
} from './connection.js';
export { KEY_LAYOUT_VERSION } from './keys.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export type { RedisConnectionName, RedisStoreErrorHandler, RedisStoreErrorInfo } from './report.js';
export type { RedisStore } from './store.js';
