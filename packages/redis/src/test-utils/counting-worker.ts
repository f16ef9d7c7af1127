/**
 * A worker process for the fleet tests: an issuer whose minter counts its
 * calls, takes `mintDelayMs` (like a Kaltura round trip) and never answers
 * for `hangUserIds` (a holder that will be killed). Its configuration is the
 * JSON in its first argument.
 *
 *   node --import tsx/esm --conditions=@kaltura-ks/source counting-worker.ts '{"name":"a",...}'
 */
import { createKsIssuer, type KsIssuerOptions, type KsSession } from '@kaltura-ks/core/issuer';
import { runIssuerWorker } from './issuer-worker.js';

export interface CountingWorkerConfig {
  name: string;
  redisUrl: string;
  keyPrefix: string;
  mintDelayMs?: number;
  hangUserIds?: string[];
  reconnectMaxDelayMs?: number;
  issuer?: Pick<
    KsIssuerOptions,
    'lockTtlMs' | 'lockWaitMs' | 'storeTimeoutMs' | 'mintTimeoutMs' | 'expiresInSeconds'
  >;
}

const config = JSON.parse(process.argv[2] ?? '{}') as CountingWorkerConfig;
const hang = new Set(config.hangUserIds ?? []);
let n = 0;

await runIssuerWorker({
  redis: {
    url: config.redisUrl,
    keyPrefix: config.keyPrefix,
    reconnectMaxDelayMs: config.reconnectMaxDelayMs ?? 250,
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
          const issuedAt = Date.now();
          return {
            ks: `${config.name}:${++n}:${request.userId}`,
            partnerId: 1,
            userId: request.userId,
            type: request.type,
            privileges: request.privileges,
            issuedAt,
            expiresAt: issuedAt + request.expiresInSeconds * 1000,
          };
        },
      }),
    }),
});
