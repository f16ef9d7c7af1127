/**
 * A fleet of issuers in one process, each with its own store (for Redis: its
 * own connections) in one shared space, each counting its own mints, the
 * sessions it ended and its events. The same fixture runs the fleet against
 * the in-memory hub and against Redis (`memorySpace`, and `redisSpace` in
 * ./redis-space.ts).
 */
import {
  createKsIssuer,
  createMemoryStoreHub,
  type KsIssuer,
  type KsIssuerEvent,
  type KsMinter,
  type KsSession,
  type KsSharedStore,
  type MintRequest,
} from '@kaltura-ks/core/issuer';
import { signedSession } from './signed-session.js';

/** The stores of one fleet, sharing one space (one Redis prefix, one memory hub). */
export interface FleetSpace<S extends KsSharedStore = KsSharedStore> {
  /** A new store of the space, for issuer `i`. */
  store(i: number): S;
  /** Resolves once every store made so far can be used. */
  ready(): Promise<void>;
  /** How many sessions and user indexes the space holds. */
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface IssuerFleetOptions<Space extends FleetSpace> {
  /** Opens the fleet's space; `now` is the fleet's clock (what `advance` moves). */
  open: (now: () => number) => Space;
  /** Where the clock starts (default: the real time at creation). */
  start?: number;
  /** The issuers' jitter source (default: Math.random). */
  random?: () => number;
  /** Mints wait at a gate until `release()`. */
  hold?: boolean;
  lockTtlMs?: number;
  lockWaitMs?: number;
  /**
   * Default 5 s: generous, as a loaded machine needs. A store call that times out makes its
   * issuer go on alone (by design), which the counts and `reach` these tests check would show
   * (a revoke answered `reach: 'instance'` once a Redis call took over the 250 ms it was).
   */
  storeTimeoutMs?: number;
  /** The partner of issuer `i` (default 1). */
  partner?: (i: number) => number;
  /** What issuer `i` mints for a request (default: what was asked). */
  answer?: (request: MintRequest, i: number) => MintRequest;
  /** What issuer `i` is given instead of its store (to hold calls back at chosen points). */
  wrap?: (store: ReturnType<Space['store']>, i: number) => KsSharedStore;
}

export interface IssuerFleet<Space extends FleetSpace = FleetSpace> {
  readonly space: Space;
  readonly issuers: KsIssuer[];
  readonly stores: ReturnType<Space['store']>[];
  readonly events: KsIssuerEvent[][];
  readonly mints: number[];
  /** Every KS minted, in order. */
  readonly minted: string[];
  /** Every KS ended at "Kaltura" (`minter.end`), in order. */
  readonly ended: string[];
  total(): number;
  now(): number;
  advance(ms: number): void;
  release(): void;
  hang(value: boolean): void;
  close(): Promise<void>;
}

export async function issuerFleet<Space extends FleetSpace>(
  size: number,
  options: IssuerFleetOptions<Space>,
): Promise<IssuerFleet<Space>> {
  let t = options.start ?? Date.now();
  const now = () => t;
  const space = options.open(now);
  let release: () => void = () => {};
  let gate = options.hold ? new Promise<void>((r) => (release = r)) : undefined;
  let hang = false;
  const mints: number[] = Array(size).fill(0);
  const minted: string[] = [];
  const ended: string[] = [];
  const events: KsIssuerEvent[][] = [];
  const issuers: KsIssuer[] = [];
  const stores: ReturnType<Space['store']>[] = [];
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
    const store = space.store(i) as ReturnType<Space['store']>;
    stores.push(store);
    const log: KsIssuerEvent[] = [];
    events.push(log);
    issuers.push(
      createKsIssuer({
        partnerId,
        minter,
        store: options.wrap?.(store, i) ?? store,
        now,
        random: options.random,
        onEvent: (e) => log.push(e),
        lockTtlMs: options.lockTtlMs,
        lockWaitMs: options.lockWaitMs ?? 5_000,
        storeTimeoutMs: options.storeTimeoutMs ?? 5_000,
      }),
    );
  }
  await space.ready();
  return {
    space,
    issuers,
    stores,
    events,
    mints,
    minted,
    ended,
    total: () => mints.reduce((a, b) => a + b, 0),
    now,
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
      await space.close();
    },
  };
}

/** A space in one process: the in-memory hub, on the fleet's clock. */
export function memorySpace(now: () => number) {
  const hub = createMemoryStoreHub(now);
  return {
    hub,
    store: () => hub.store(),
    ready: async () => {},
    size: async () => hub.size,
    close: async () => {},
  } satisfies FleetSpace & { hub: unknown };
}

export type MemorySpace = ReturnType<typeof memorySpace>;

/** `store`, with some of its methods replaced. */
export function delegate(store: KsSharedStore, overrides: Partial<KsSharedStore>): KsSharedStore {
  return {
    get: (key) => store.get(key),
    set: (key, session, ttlMs, fence) => store.set(key, session, ttlMs, fence),
    lock: (key, ttlMs) => store.lock(key, ttlMs),
    waitFor: (key, accept, timeoutMs, signal) => store.waitFor(key, accept, timeoutMs, signal),
    revoke: (partnerId, userId, at) => store.revoke(partnerId, userId, at),
    announce: (partnerId, revocations) =>
      store.announce?.(partnerId, revocations) ?? Promise.resolve(),
    onRevoke: (partnerId, listener) => store.onRevoke(partnerId, listener),
    ...overrides,
  };
}

/** A store whose revocation broadcasts reach its issuer only once `deliver()` is called. */
export function lateBroadcasts() {
  const held: (() => void)[] = [];
  let holding = true;
  return {
    wrap: (store: KsSharedStore) =>
      delegate(store, {
        onRevoke: (partnerId, listener) =>
          store.onRevoke(partnerId, (userId, heard) => {
            if (holding) held.push(() => listener(userId, heard));
            else listener(userId, heard);
          }),
      }),
    deliver: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
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
