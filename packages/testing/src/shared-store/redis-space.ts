/** The fleet's space in Redis: one key prefix, each store with its own connections. */
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '@kaltura-ks/redis';
import { createClient } from 'redis';
import type { FleetSpace } from './issuer-fleet.js';

export interface RedisSpaceOptions {
  /** The server the stores connect to; per store (`i`), to send one through a proxy. */
  url: string | ((i: number) => string);
  keyPrefix: string;
  /** Where `size()` looks (default: `url`, when it is one URL). */
  adminUrl?: string;
  /** More store options (all stores). */
  store?: Omit<RedisStoreOptions, 'url' | 'client' | 'keyPrefix'>;
}

export function redisSpace(options: RedisSpaceOptions) {
  const stores: RedisStore[] = [];
  const adminUrl = options.adminUrl ?? (typeof options.url === 'string' ? options.url : undefined);
  return {
    keyPrefix: options.keyPrefix,
    store(i: number): RedisStore {
      const store = createRedisStore({
        url: typeof options.url === 'string' ? options.url : options.url(i),
        keyPrefix: options.keyPrefix,
        reconnectMaxDelayMs: 50,
        // Serves what Redis holds at once; the revocation tests that need the catch-up set it.
        revocationCatchUpMs: 0,
        ...options.store,
      });
      stores.push(store);
      return store;
    },
    async ready() {
      await Promise.all(stores.map((store) => store.ready));
    },
    /** Session keys and user indexes under the prefix, as Redis holds them. */
    async size() {
      return (await sessionKeys(adminUrl, options.keyPrefix)).length;
    },
    async close() {
      await Promise.all(stores.map((store) => store.close()));
    },
  } satisfies FleetSpace<RedisStore> & { keyPrefix: string };
}

export type RedisSpace = ReturnType<typeof redisSpace>;

/** Session keys and user indexes under `prefix`. */
export async function sessionKeys(url: string | undefined, prefix: string): Promise<string[]> {
  if (url === undefined) throw new TypeError('redisSpace: size() needs adminUrl');
  const admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    const names = await admin.keys(`${prefix}*`);
    return names.filter((name) => /:(ks|user):/.test(name));
  } finally {
    admin.destroy();
  }
}
