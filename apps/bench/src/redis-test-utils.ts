/**
 * @kaltura-ks/redis's test utilities (a throwaway redis-server, issuer
 * processes driven over IPC), by path: the package does not export them.
 */

export type { WorkerStorm } from '../../../packages/redis/src/test-utils/issuer-worker.js';
export {
  type RedisCluster,
  startRedisCluster,
} from '../../../packages/redis/src/test-utils/redis-cluster.js';
export {
  type RedisServer,
  startRedisServer,
} from '../../../packages/redis/src/test-utils/redis-server.js';
export {
  type IssuerWorker,
  spawnIssuerWorker,
} from '../../../packages/redis/src/test-utils/worker-handle.js';
