/**
 * A worker process for the fleet tests: an issuer whose minter counts its
 * calls, signs a real KS (with `TEST_ADMIN_SECRET`, for partner 1) after
 * `mintDelayMs` (like a Kaltura round trip), never answers for `hangUserIds`
 * (a holder that will be killed), and ends sessions with `session.end` at
 * `serviceUrl` (the emulator) when given. Its configuration is the JSON in its
 * first argument.
 *
 *   node --import tsx/esm --conditions=@kaltura-ks/source counting-worker.ts '{"name":"a",...}'
 */
import { createKalturaClient } from '@kaltura-ks/core/client';
import { createKsIssuer, type KsIssuerOptions, type KsSession } from '@kaltura-ks/core/issuer';
import { signedSession } from '@kaltura-ks/testing/signed-session';
import type { RedisStoreOptions } from '../redis-store.js';
import { runIssuerWorker } from './issuer-worker.js';

export interface CountingWorkerConfig {
  name: string;
  /** A single Redis… */
  redisUrl?: string;
  /** …or the root nodes of a Redis Cluster (`redis://host:port` each). */
  clusterUrls?: string[];
  keyPrefix: string;
  mintDelayMs?: number;
  hangUserIds?: string[];
  reconnectMaxDelayMs?: number;
  /** Kaltura (the emulator) for `session.end`; partner 1 must have `TEST_ADMIN_SECRET`. */
  serviceUrl?: string;
  issuer?: Pick<
    KsIssuerOptions,
    'lockTtlMs' | 'lockWaitMs' | 'storeTimeoutMs' | 'mintTimeoutMs' | 'expiresInSeconds'
  >;
  store?: Pick<RedisStoreOptions, 'failFastAfterMs' | 'pollIntervalMs'>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as CountingWorkerConfig;
const hang = new Set(config.hangUserIds ?? []);
const kaltura =
  config.serviceUrl === undefined
    ? undefined
    : createKalturaClient({ serviceUrl: config.serviceUrl, partnerId: 1 });

await runIssuerWorker({
  redis: {
    ...(config.clusterUrls === undefined
      ? { url: config.redisUrl }
      : { cluster: { rootNodes: config.clusterUrls.map((url) => ({ url })) } }),
    keyPrefix: config.keyPrefix,
    reconnectMaxDelayMs: config.reconnectMaxDelayMs ?? 250,
    ...config.store,
  },
  createIssuer: ({ store, onEvent, countMints }) =>
    createKsIssuer({
      partnerId: 1,
      ...config.issuer,
      store,
      onEvent,
      minter: countMints({
        kind: 'counting',
        async mint(request): Promise<KsSession> {
          if (hang.has(request.userId)) return new Promise<KsSession>(() => {});
          await new Promise((resolve) => setTimeout(resolve, config.mintDelayMs ?? 0));
          return signedSession(request, Date.now());
        },
        ...(kaltura === undefined
          ? {}
          : {
              end: (session: KsSession) => kaltura.session.end({ ks: session.ks }),
              close: () => kaltura.close(),
            }),
      }),
    }),
});
