/**
 * One issuer process of a fleet, minting through an app token at the benchmark
 * emulator, with or without the Redis store; driven by its parent over IPC
 * (`spawnIssuerWorker` from @kaltura-ks/redis's test utilities). The setup is
 * the JSON in its first argument.
 */
import { createKsIssuer } from '@kaltura-ks/core/issuer';
import { runIssuerWorker } from '../../../../packages/redis/src/test-utils/issuer-worker.js';

export interface FleetIssuerConfig {
  url: string;
  partnerId: number;
  appToken: { id: string; token: string; hashType: 'SHA256' };
  /** Share the cache, the single flight and revocations through this Redis… */
  redisUrl?: string;
  /** …or this Redis Cluster (its nodes); none when both are absent. */
  clusterUrls?: string[];
  keyPrefix?: string;
  /** The issuer's storeTimeoutMs and the store's failFastAfterMs. */
  storeTimeoutMs?: number;
  /** The Kaltura client's connection pool. */
  maxConnections: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as FleetIssuerConfig;

await runIssuerWorker({
  ...(config.redisUrl === undefined && config.clusterUrls === undefined
    ? {}
    : {
        redis: {
          ...(config.clusterUrls === undefined
            ? { url: config.redisUrl }
            : { cluster: { rootNodes: config.clusterUrls.map((url) => ({ url })) } }),
          keyPrefix: config.keyPrefix ?? 'bench:',
          // Matches storeTimeoutMs below (the defaults match too: 1 s each).
          failFastAfterMs: config.storeTimeoutMs,
        },
      }),
  // Kaltura (the emulator) counts the mints: its stats are what the benchmark reports.
  createIssuer: ({ store, onEvent }) =>
    createKsIssuer({
      partnerId: config.partnerId,
      serviceUrl: config.url,
      appToken: config.appToken,
      clientOptions: { maxConnections: config.maxConnections },
      store,
      onEvent,
      max: 100_000,
      // A 20 ms Kaltura behind a lock: generous waits, so a slow machine blurs no counts.
      lockWaitMs: 15_000,
      storeTimeoutMs: config.storeTimeoutMs,
    }),
});
