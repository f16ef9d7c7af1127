export { decodeSession, encodeSession } from './codec.js';
export { type RedisKeyLayout, redisKeyLayout } from './keys.js';
export {
  createRedisStore,
  type RedisStore,
  type RedisStoreClient,
  type RedisStoreOptions,
  type RedisSubscriberClient,
} from './redis-store.js';
export type { RedisConnectionName, RedisStoreErrorHandler, RedisStoreErrorInfo } from './report.js';
