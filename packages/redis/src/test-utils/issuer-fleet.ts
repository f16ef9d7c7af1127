/**
 * A fleet of issuers in one process, each with its own Redis store (its own
 * connections), each counting its own mints, the sessions it ended and its
 * events — for the issuer tests against a single Redis and against a cluster.
 */
import {
  createKsIssuer,
  type KsIssuer,
  type KsIssuerEvent,
  type KsMinter,
  type KsSession,
  type KsSharedStore,
  type MintRequest,
} from '@kaltura-ks/core/issuer';
import { createRedisStore, type RedisStoreOptions } from '../redis-store.js';
import type { RedisStore } from '../store.js';
import { signedSession } from './signed-session.js';

export interface IssuerFleetOptions {
  /** Where the stores connect: a URL, or (for a cluster) a client made per store. */
  connect: () => Pick<RedisStoreOptions, 'url' | 'client'>;
  keyPrefix: string;
  hold?: boolean;
  lockTtlMs?: number;
  lockWaitMs?: number;
  storeTimeoutMs?: number;
  /** More store options (all stores). */
  store?: Omit<RedisStoreOptions, 'url' | 'client' | 'keyPrefix'>;
  /** The partner of issuer `i` (default 1). */
  partner?: (i: number) => number;
  /** What issuer `i` mints for a request (default: what was asked). */
  answer?: (request: MintRequest, i: number) => MintRequest;
  /** What issuer `i` is given instead of its store (to hold calls back at chosen points). */
  wrap?: (store: RedisStore, i: number) => KsSharedStore;
}

export interface IssuerFleet {
  readonly issuers: KsIssuer[];
  readonly stores: RedisStore[];
  readonly events: KsIssuerEvent[][];
  readonly mints: number[];
  /** Every KS minted, in order. */
  readonly minted: string[];
  /** Every KS ended at "Kaltura" (`minter.end`), in order. */
  readonly ended: string[];
  total(): number;
  advance(ms: number): void;
  release(): void;
  hang(value: boolean): void;
  close(): Promise<void>;
}

export async function issuerFleet(size: number, options: IssuerFleetOptions): Promise<IssuerFleet> {
  let t = Date.now();
  const now = () => t;
  let release: () => void = () => {};
  let gate = options.hold ? new Promise<void>((r) => (release = r)) : undefined;
  let hang = false;
  const mints: number[] = Array(size).fill(0);
  const minted: string[] = [];
  const ended: string[] = [];
  const events: KsIssuerEvent[][] = [];
  const issuers: KsIssuer[] = [];
  const stores: RedisStore[] = [];
  for (let i = 0; i < size; i++) {
    const partnerId = options.partner?.(i) ?? 1;
    const minter: KsMinter = {
      kind: 'counted',
      async mint(request) {
        mints[i]!++;
        if (gate) await gate;
        if (hang) return new Promise<KsSession>(() => {});
        const session = signedSession(options.answer?.(request, i) ?? request, now(), partnerId);
        minted.push(session.ks);
        return session;
      },
      async end(session) {
        ended.push(session.ks);
      },
    };
    const store = createRedisStore({
      ...options.connect(),
      keyPrefix: options.keyPrefix,
      reconnectMaxDelayMs: 50,
      ...options.store,
    });
    stores.push(store);
    const log: KsIssuerEvent[] = [];
    events.push(log);
    issuers.push(
      createKsIssuer({
        partnerId,
        minter,
        store: options.wrap?.(store, i) ?? store,
        now,
        onEvent: (e) => log.push(e),
        lockTtlMs: options.lockTtlMs,
        lockWaitMs: options.lockWaitMs ?? 5_000,
        storeTimeoutMs: options.storeTimeoutMs ?? 250,
      }),
    );
  }
  await Promise.all(stores.map((store) => store.ready));
  return {
    issuers,
    stores,
    events,
    mints,
    minted,
    ended,
    total: () => mints.reduce((a, b) => a + b, 0),
    advance: (ms: number) => {
      t += ms;
    },
    release: () => {
      gate = undefined;
      release();
    },
    hang: (value: boolean) => {
      hang = value;
    },
    async close() {
      await Promise.all(issuers.map((issuer) => issuer.close()));
      await Promise.all(stores.map((store) => store.close()));
    },
  };
}

/** `store`, with some of its methods replaced. */
export function delegate(store: KsSharedStore, overrides: Partial<KsSharedStore>): KsSharedStore {
  return {
    get: (key) => store.get(key),
    set: (key, session, ttlMs, fence) => store.set(key, session, ttlMs, fence),
    lock: (key, ttlMs) => store.lock(key, ttlMs),
    waitFor: (key, accept, timeoutMs, signal) => store.waitFor(key, accept, timeoutMs, signal),
    revoke: (partnerId, userId) => store.revoke(partnerId, userId),
    onRevoke: (partnerId, listener) => store.onRevoke(partnerId, listener),
    ...overrides,
  };
}

export const storeErrors = (events: KsIssuerEvent[]) =>
  events.filter((e) => e.type === 'store-error');

/** Events of one type. */
export function eventsOf<T extends KsIssuerEvent['type']>(
  events: KsIssuerEvent[],
  type: T,
): Extract<KsIssuerEvent, { type: T }>[] {
  return events.filter((e): e is Extract<KsIssuerEvent, { type: T }> => e.type === type);
}
