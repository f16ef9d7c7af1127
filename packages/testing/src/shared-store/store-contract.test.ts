/**
 * What every `KsSharedStore` must do, run against the in-memory reference and
 * against Redis: the same suite passes. (Redis Cluster runs it in
 * packages/redis/src/cluster.test.ts.)
 */
import { createMemoryStoreHub } from '@kaltura-ks/core/issuer';
import { createRedisStore } from '@kaltura-ks/redis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../redis/src/test-utils/redis-server.js';
import { describeStoreContract } from './store-contract.js';

let server: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describeStoreContract('the in-memory reference', async () => {
  let t = 1_700_000_000_000;
  const hub = createMemoryStoreHub(() => t);
  return {
    stores: [hub.store(), hub.store(), hub.store()],
    elapse: (ms) => {
      t += ms;
    },
    close: async () => {},
  };
});

describeStoreContract('Redis', async () => {
  const keyPrefix = `contract-${++prefixes}:`;
  const [a, b, c] = [0, 1, 2].map(() =>
    createRedisStore({ revocationCatchUpMs: 0, url: server.url, keyPrefix }),
  );
  await Promise.all([a!.ready, b!.ready, c!.ready]);
  return {
    stores: [a!, b!, c!],
    elapse: () => {}, // Redis expires keys on its own clock: the contract polls.
    close: async () => {
      await Promise.all([a!.close(), b!.close(), c!.close()]);
    },
  };
});
