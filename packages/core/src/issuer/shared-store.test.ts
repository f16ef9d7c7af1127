import { afterEach, describe, expect, it, vi } from 'vitest';
import { KsError } from '../errors.js';
import { createKs } from '../ks/create.js';
import { createKsIssuer, type KsIssuer } from './issuer.js';
import { createMemoryStoreHub } from './memory-store.js';
import type { KsMinter } from './minter.js';
import { PENDING_REVOCATIONS_MAX, PendingRevocations } from './revocations.js';
import type { KsSharedStore, KsStoreKey } from './store.js';
import type { KsIssuerEvent, KsSession } from './types.js';

const START = 1_700_000_000_000;
const PARTNER = 1;
/** The fleet's Kaltura admin secret: the minters sign real KSs, as Kaltura would. */
const SECRET = 'shared-store-test-admin-secret-0';

/** A KS as Kaltura would make it, and the session describing it. */
function mintedSession(
  request: { userId: string; type: number; privileges: string },
  now: number,
  partnerId = PARTNER,
  version: 1 | 2 = 2,
): KsSession {
  const ks = createKs({
    secret: SECRET,
    partnerId,
    userId: request.userId,
    type: request.type as 0 | 2,
    privileges: request.privileges,
    expiresInSeconds: 3600,
    version,
    now: () => now,
  });
  return {
    ks,
    partnerId,
    userId: request.userId,
    type: request.type,
    privileges: request.privileges,
    issuedAt: now,
    expiresAt: Math.floor(now / 1000) * 1000 + 3_600_000,
  };
}

interface FleetOptions {
  hold?: boolean;
  /** What issuer `i` is given instead of its store (to hold calls back at chosen points). */
  wrap?: (store: KsSharedStore, i: number) => KsSharedStore;
  /** The partner of issuer `i` (default 1). */
  partner?: (i: number) => number;
  /** How issuer `i` answers a mint request (default: what was asked). */
  answer?: (
    request: { userId: string; type: number; privileges: string },
    i: number,
  ) => { userId: string; type: number; privileges: string };
}

/** A fleet of issuers sharing one store hub, each counting its own mints and the sessions it ended. */
function fleet(size: number, options: FleetOptions = {}) {
  let t = START;
  const now = () => t;
  const hub = createMemoryStoreHub(now);
  let release: () => void = () => {};
  let gate = options.hold ? new Promise<void>((r) => (release = r)) : undefined;
  let hang = false;
  const mints: number[] = Array(size).fill(0);
  /** Every KS minted, in order. */
  const minted: string[] = [];
  const ended: string[] = [];
  const events: KsIssuerEvent[][] = [];
  const issuers: KsIssuer[] = [];
  for (let i = 0; i < size; i++) {
    const partnerId = options.partner?.(i) ?? PARTNER;
    const minter: KsMinter = {
      kind: 'counted',
      async mint(request) {
        mints[i]!++;
        if (gate) await gate;
        if (hang) return new Promise<KsSession>(() => {});
        const session = mintedSession(options.answer?.(request, i) ?? request, now(), partnerId);
        minted.push(session.ks);
        return session;
      },
      async end(session) {
        ended.push(session.ks);
      },
    };
    const log: KsIssuerEvent[] = [];
    events.push(log);
    issuers.push(
      createKsIssuer({
        partnerId,
        minter,
        store: options.wrap?.(hub.store(), i) ?? hub.store(),
        now,
        random: () => 0.5,
        onEvent: (e) => log.push(e),
        lockWaitMs: 1_000,
        storeTimeoutMs: 100,
      }),
    );
  }
  return {
    hub,
    issuers,
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
  };
}

/** A store whose revocation broadcasts reach its issuer only once `deliver()` is called. */
function lateBroadcasts() {
  const held: (() => void)[] = [];
  let holding = true;
  return {
    wrap: (store: KsSharedStore): KsSharedStore => ({
      ...store,
      onRevoke: (partnerId, listener) =>
        store.onRevoke(partnerId, (userId) => {
          if (holding) held.push(() => listener(userId));
          else listener(userId);
        }),
    }),
    deliver: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
  };
}

/** `store`, remembering every key it was asked about. */
function recordingKeys(store: KsSharedStore, keys: KsStoreKey[]): KsSharedStore {
  return {
    ...store,
    get: (key) => {
      keys.push(key);
      return store.get(key);
    },
  };
}

const storeErrors = (events: KsIssuerEvent[]) => events.filter((e) => e.type === 'store-error');

afterEach(() => {
  vi.useRealTimers();
});

describe('a fleet of issuers sharing a store', () => {
  it('serves a KS minted by one instance from every other (no second mint)', async () => {
    const f = fleet(3);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    const c = await f.issuers[2]!.getKs({ userId: 'u' });
    expect(b.ks).toBe(a.ks);
    expect(c.ks).toBe(a.ks);
    expect(f.total()).toBe(1);
    expect(f.events[1]!.some((e) => e.type === 'shared-hit')).toBe(true);
    expect(f.events.flat().filter((e) => e.type === 'store-error')).toEqual([]);
  });

  it('concurrent misses across instances cause one mint (fleet-wide single flight)', async () => {
    const f = fleet(4, { hold: true });
    const all = f.issuers.flatMap((issuer) =>
      Array.from({ length: 25 }, () => issuer.getKs({ userId: 'cold' })),
    );
    await vi.waitFor(() => expect(f.total()).toBe(1));
    f.release();
    const sessions = await Promise.all(all);
    expect(new Set(sessions.map((s) => s.ks)).size).toBe(1);
    expect(f.total()).toBe(1);
  });

  it('renews once for the whole fleet when the KS reaches its renewal point', async () => {
    const f = fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'u' });
    f.advance(2_900_000);
    const renewed = await Promise.all(
      f.issuers.map((issuer) => issuer.getKs({ userId: 'u' }, { fresh: true })),
    );
    expect(new Set(renewed.map((s) => s.ks))).toEqual(new Set([f.minted[1]]));
    expect(f.total()).toBe(2);
  });

  it('revoking on one instance evicts the user on every instance', async () => {
    const f = fleet(3);
    for (const issuer of f.issuers) await issuer.getKs({ userId: 'alice' });
    await f.issuers[0]!.getKs({ userId: 'bob' });
    // Its own copy and the store's are the same KS: counted once.
    expect(await f.issuers[1]!.revoke('alice')).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    for (const issuer of f.issuers) expect(issuer.peek({ userId: 'alice' })).toBeUndefined();
    expect(f.issuers[0]!.peek({ userId: 'bob' })).toBeDefined();
    const again = await f.issuers[2]!.getKs({ userId: 'alice' });
    expect(again.ks).not.toBe(f.minted[0]);
    expect(await f.issuers[0]!.clear()).toEqual({ reach: 'fleet' });
    for (const issuer of f.issuers) expect(issuer.size).toBe(0);
  });

  it('a mint in flight when another instance revoked the user is neither written nor kept, even if the broadcast comes late', async () => {
    const late = lateBroadcasts();
    const f = fleet(3, { hold: true, wrap: (store, i) => (i === 0 ? late.wrap(store) : store) });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1)); // A is minting
    await f.issuers[1]!.revoke('alice'); // the store has it; A has not heard yet
    f.release(); // A's mint ends and A writes it: after the revocation
    expect((await pending).ks).toBe(f.minted[0]); // to the callers that were already waiting only
    expect(f.hub.size).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.total()).toBe(2);
  });

  it('a mint in flight when another instance cleared everything is neither written nor kept', async () => {
    const late = lateBroadcasts();
    const f = fleet(3, { hold: true, wrap: (store, i) => (i === 0 ? late.wrap(store) : store) });
    const pending = f.issuers[0]!.getKs({ userId: 'alice' });
    await vi.waitFor(() => expect(f.mints[0]).toBe(1));
    await f.issuers[1]!.clear();
    f.release();
    expect((await pending).ks).toBe(f.minted[0]);
    expect(f.hub.size).toBe(0);
    expect(f.issuers[0]!.peek({ userId: 'alice' })).toBeUndefined();
    expect((await f.issuers[2]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    late.deliver();
    expect((await f.issuers[1]!.getKs({ userId: 'alice' })).ks).toBe(f.minted[1]);
    expect(f.total()).toBe(2);
  });

  it('treats a store whose get gives no fence as failing: reports it and mints alone', async () => {
    const events: KsIssuerEvent[] = [];
    const base = createMemoryStoreHub(() => START).store();
    let writes = 0;
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      adminSecret: SECRET,
      now: () => START,
      onEvent: (e) => events.push(e),
      store: {
        ...base,
        // An implementation written against the old interface.
        get: async (key) => (await base.get(key)).session as never,
        set: async (...args) => {
          writes++;
          return base.set(...args);
        },
      },
    });
    await issuer.getKs({ userId: 'u' });
    expect(writes).toBe(0);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'store-error',
        operation: 'get',
        error: expect.objectContaining({ code: 'ERR_KS_INVALID_OPTION' }),
      }),
    );
  });

  it('takes over when the lock holder crashed: waits lockWaitMs, then mints itself', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    f.hang(true);
    const crashed = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e); // holds the lock, never answers
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    const waiting = f.issuers[1]!.getKs({ userId: 'u' });
    await vi.advanceTimersByTimeAsync(1_000 + 100);
    expect((await waiting).ks).toBe(f.minted[0]);
    expect(f.mints).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await crashed).toBeInstanceOf(KsError);
  });

  it('reports each store call that succeeded (store-call), and each that failed (store-error)', async () => {
    const f = fleet(1);
    await f.issuers[0]!.getKs({ userId: 'u' });
    const calls = () => f.events[0]!.flatMap((e) => (e.type === 'store-call' ? [e.operation] : []));
    // get, lock, get again under the lock, set; unlock runs after the mint resolves.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls()).toEqual(['get', 'lock', 'get', 'set', 'unlock']);
    expect(f.events[0]!.find((e) => e.type === 'store-call')).toEqual({
      type: 'store-call',
      operation: 'get',
      durationMs: 0,
    });
    f.hub.setFailing(true);
    await f.issuers[0]!.getKs({ userId: 'v' });
    expect(calls()).toHaveLength(5);
    expect(f.events[0]!.filter((e) => e.type === 'store-error').map((e) => e.type)).toEqual([
      'store-error',
    ]);
  });

  it('goes on alone when the store is down, reporting it, and uses the store again once it is back', async () => {
    const f = fleet(2);
    f.hub.setFailing(true);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(a.ks).not.toBe(b.ks); // each minted its own
    expect(f.events[0]!.some((e) => e.type === 'store-error' && e.operation === 'get')).toBe(true);
    f.hub.setFailing(false);
    const c = await f.issuers[0]!.getKs({ userId: 'v' });
    expect((await f.issuers[1]!.getKs({ userId: 'v' })).ks).toBe(c.ks);
  });

  it('a store that hangs costs at most storeTimeoutMs per call, never the request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(1);
    const store = f.hub.store();
    const stuck = { ...store, get: () => new Promise<never>(() => {}) };
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      store: stuck,
      storeTimeoutMs: 100,
      minter: { kind: 'x', mint: async (r) => mintedSession(r, START) },
      now: () => START,
    });
    const pending = issuer.getKs({ userId: 'u' });
    await vi.advanceTimersByTimeAsync(100);
    expect((await pending).userId).toBe('u');
  });
});

describe('a fleet sharing a store: races and events', () => {
  it('reports a KS taken from the store as a shared-hit, never as a mint', async () => {
    const f = fleet(2);
    await f.issuers[0]!.getKs({ userId: 'u' });
    await f.issuers[1]!.getKs({ userId: 'u' });
    const types = (i: number) => f.events[i]!.map((e) => e.type);
    expect(types(0).filter((t) => t === 'mint')).toHaveLength(1);
    expect(types(1)).toContain('shared-hit');
    expect(types(1)).not.toContain('mint');
  });

  it.each([
    [
      'revoke(userId) on the minting instance',
      (f: ReturnType<typeof fleet>) => f.issuers[0]!.revoke('u'),
    ],
    [
      'revoke(userId) on another instance',
      (f: ReturnType<typeof fleet>) => f.issuers[1]!.revoke('u'),
    ],
    ['clear() on another instance', (f: ReturnType<typeof fleet>) => f.issuers[1]!.clear()],
  ])(
    'a mint in flight during %s is written neither to the store nor to the cache',
    async (_, revoke) => {
      const f = fleet(2, { hold: true });
      const inFlight = f.issuers[0]!.getKs({ userId: 'u' });
      await vi.waitFor(() => expect(f.total()).toBe(1));
      await revoke(f);
      f.release();
      await inFlight;
      expect(f.hub.size).toBe(0);
      expect(f.issuers[0]!.peek({ userId: 'u' })).toBeUndefined();
      // The next request mints anew instead of taking the revoked one (from the flight or the store).
      const again = await f.issuers[1]!.getKs({ userId: 'u' });
      expect(again.ks).not.toBe((await inFlight).ks);
      expect(f.total()).toBe(2);
    },
  );

  it('after a crashed holder lets go, one waiter takes the lock over and the others wait for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(4);
    f.hang(true);
    const crashed = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e); // holds the lock
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    const waiting = f.issuers.slice(1).map((issuer) => issuer.getKs({ userId: 'u' }));
    await vi.advanceTimersByTimeAsync(0); // every other instance is waiting for the holder
    expect(f.total()).toBe(1);
    f.hub.expireLocks(); // the holder's lock lapses
    await vi.advanceTimersByTimeAsync(0);
    const sessions = await Promise.all(waiting);
    expect(new Set(sessions.map((s) => s.ks))).toEqual(new Set([f.minted[0]]));
    expect(f.total()).toBe(2); // the crashed mint and one more, not one per waiter
    const events = f.events.slice(1).flat();
    expect(events.filter((e) => e.type === 'mint')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'shared-hit')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await crashed).toBeInstanceOf(KsError);
  });

  it('keeps a KS in the store only while the issuer would hand it out (expiry − minRemainingMs)', async () => {
    const hub = createMemoryStoreHub(() => START);
    const ttls: number[] = [];
    const base = hub.store();
    const store: KsSharedStore = {
      ...base,
      set: (key, session, ttlMs, fence) => {
        ttls.push(ttlMs);
        return base.set(key, session, ttlMs, fence);
      },
    };
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      store,
      now: () => START,
      minRemainingMs: 30_000,
      minter: { kind: 'x', mint: async (r) => mintedSession(r, START) },
    });
    await issuer.getKs({ userId: 'u' });
    expect(ttls).toEqual([3_600_000 - 30_000]);
  });
});

describe('a revocation the store does not confirm', () => {
  it('is retried with back-off until the store confirms it, and meanwhile no instance that knows serves the revoked KS', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    const revoked = await a.getKs({ userId: 'alice' });
    // The store keeps answering reads but refuses the revocation (out of memory, a replica).
    f.hub.setFailing(true, ['revoke']);
    expect(await a.revoke('alice')).toEqual({ revoked: 1, ended: 0, reach: 'instance' });
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-pending', userId: 'alice', attempts: 1 }),
    );
    // The store still holds alice's KS; A refuses it (its tombstone) and mints anew.
    f.advance(1_000);
    const served = await a.getKs({ userId: 'alice' });
    expect(served.ks).not.toBe(revoked.ks);
    // Retries back off: 250 ms, then 500 ms... (the jitter is fixed at its middle here).
    await vi.advanceTimersByTimeAsync(5_000);
    const pending = f.events[0]!.filter((e) => e.type === 'revoke-pending');
    expect(pending.length).toBeGreaterThan(3);
    const delays = pending.map((e) => (e.type === 'revoke-pending' ? e.retryAt : 0));
    expect(delays).toEqual([...delays].sort((x, y) => x - y));
    // The store accepts writes again: the next retry lands, and nobody gets the revoked KS.
    f.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: 'alice' }),
    );
    for (const issuer of [a, b, c]) {
      const session = await issuer.getKs({ userId: 'alice' });
      expect(session.ks).not.toBe(revoked.ks);
    }
  });

  it('a tombstone refuses only what was issued before the revocation, and only for that user', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    await b.getKs({ userId: 'bob' });
    f.hub.setFailing(true, ['revoke']);
    await a.revoke('alice');
    f.advance(1_000);
    // Minted after the revocation by another instance: A takes it from the store.
    const fresh = await b.getKs({ userId: 'alice' });
    expect((await a.getKs({ userId: 'alice' })).ks).toBe(fresh.ks);
    // Someone else's KS is shared as usual.
    expect((await a.getKs({ userId: 'bob' })).ks).toBe(f.minted[0]);
    expect(f.total()).toBe(2);
  });

  it('clear() the store does not confirm: every shared session issued before it is refused until it does', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    const old = await b.getKs({ userId: 'carol' });
    f.hub.setFailing(true, ['revoke']);
    expect(await a.clear()).toEqual({ reach: 'instance' });
    f.advance(1_000);
    expect((await a.getKs({ userId: 'carol' })).ks).not.toBe(old.ks);
    f.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: null }),
    );
    // The retry clears what was written meanwhile too: a clear covers everything up to it.
    expect(f.hub.size).toBe(0);
  });

  it('ends, once confirmed, the sessions other instances minted (endSession), each once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    const own = await c.getKs({ userId: 'alice' });
    const other = await b.getKs({ userId: 'alice', privileges: 'sview:*' });
    await c.getKs({ userId: 'alice', privileges: 'sview:*' }); // also in C's memory
    f.hub.setFailing(true, ['revoke']);
    expect(await c.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2, // the ones C knew of
      reach: 'instance',
    });
    expect(f.ended.sort()).toEqual([own.ks, other.ks].sort());
    await a.getKs({ userId: 'alice', privileges: 'list:*' }); // A mints one more meanwhile
    f.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(1_000);
    // Confirmed: the store's sessions are ended at Kaltura, none twice.
    expect(f.ended).toHaveLength(3);
    expect(new Set(f.ended).size).toBe(3);
  });

  it('gets one last try when the issuer closes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    await b.getKs({ userId: 'alice' });
    f.hub.setFailing(true, ['revoke']);
    await a.revoke('alice');
    f.hub.setFailing(false);
    await a.close(); // before the first retry is due
    expect(f.hub.size).toBe(0);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: 'alice' }),
    );
  });

  it('beyond PENDING_REVOCATIONS_MAX users pending, revokes everything instead', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let t = START;
    const sent: (string | null)[] = [];
    const pending = new PendingRevocations({
      now: () => t,
      random: () => 0.5,
      send: async (userId) => {
        sent.push(userId);
        return undefined;
      },
      onConfirmed: async () => {},
      onPending: () => {},
    });
    for (let i = 0; i < PENDING_REVOCATIONS_MAX; i++) await pending.submit(`u${i}`, false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX);
    t += 1_000;
    await pending.submit('one-too-many', false);
    expect(pending.size).toBe(PENDING_REVOCATIONS_MAX + 1); // everything counts as one
    const session = mintedSession({ userId: 'anyone', type: 0, privileges: '' }, t - 1);
    expect(pending.refuses(session, 'anyone')).toBe(true);
    expect(pending.refuses({ ...session, issuedAt: t + 1 }, 'anyone')).toBe(false);
    await pending.close();
  });
});

describe('endSession across the fleet', () => {
  it('an instance that never served the user ends every session the store held, each once', async () => {
    const f = fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    const one = await a.getKs({ userId: 'alice' });
    const two = await b.getKs({ userId: 'alice', privileges: 'sview:*' });
    await a.getKs({ userId: 'alice', privileges: 'sview:*' }); // shared: in A's memory too
    const result = await c.revoke('alice', { endSession: true });
    expect(result).toEqual({ revoked: 2, ended: 2, reach: 'fleet' });
    expect(f.ended.sort()).toEqual([one.ks, two.ks].sort());
  });

  it('never ends a session the store returns for another user or partner', async () => {
    const f = fleet(1, {
      wrap: (store) => ({
        ...store,
        revoke: async (partnerId, userId) => [
          ...(await store.revoke(partnerId, userId)),
          mintedSession({ userId: 'ceo', type: 0, privileges: '' }, START),
          mintedSession({ userId: 'alice', type: 0, privileges: '' }, START, 2),
        ],
      }),
    });
    expect(await f.issuers[0]!.revoke('alice', { endSession: true })).toEqual({
      revoked: 0,
      ended: 0,
      reach: 'fleet',
    });
    expect(f.ended).toEqual([]);
  });
});

describe('partners and ways of minting sharing one store', () => {
  it("one partner's revoke and clear never touch another partner's sessions", async () => {
    const f = fleet(4, { partner: (i) => (i < 2 ? 1 : 2) });
    const [p1a, p1b, p2a, p2b] = f.issuers as [KsIssuer, KsIssuer, KsIssuer, KsIssuer];
    await p1a.getKs({ userId: 'alice' });
    const theirs = await p2a.getKs({ userId: 'alice' });
    expect(f.hub.size).toBe(2);
    await p1b.revoke('alice');
    expect(p1a.peek({ userId: 'alice' })).toBeUndefined();
    expect(p2a.peek({ userId: 'alice' })?.ks).toBe(theirs.ks);
    expect((await p2b.getKs({ userId: 'alice' })).ks).toBe(theirs.ks); // still in the store
    await p1a.getKs({ userId: 'bob' });
    await p1b.clear();
    expect(p2a.size).toBe(1);
    expect((await p2b.getKs({ userId: 'alice' })).ks).toBe(theirs.ks);
    expect(f.total()).toBe(3);
  });

  it('a session for another user, type or privileges than asked is never served from the store', async () => {
    // What an instance that does not check what Kaltura issued (an older version, a tampered
    // store) could leave under alice's key: real KSs, their fields true to them, not hers.
    const wrong = [
      { userId: 'ceo', type: 0, privileges: 'sview:1_e' },
      { userId: 'alice', type: 2, privileges: 'sview:1_e' },
      { userId: 'alice', type: 0, privileges: '' },
    ];
    for (const fields of wrong) {
      const keys: KsStoreKey[] = [];
      const f = fleet(1, { wrap: (store) => recordingKeys(store, keys) });
      await f.issuers[0]!.getKs({ userId: 'bob', privileges: 'sview:1_e' }); // learn the key shape
      const alice = { ...keys[0]!, userId: 'alice', id: keys[0]!.id.replace('bob', 'alice') };
      const planted = mintedSession(fields, START);
      f.hub.plant(alice, planted, 60_000);
      const served = await f.issuers[0]!.getKs({ userId: 'alice', privileges: 'sview:1_e' });
      expect(served.ks).not.toBe(planted.ks);
      expect(served).toMatchObject({ userId: 'alice', type: 0, privileges: 'sview:1_e' });
      expect(storeErrors(f.events[0]!)).toContainEqual(
        expect.objectContaining({
          operation: 'get',
          error: expect.objectContaining({ code: 'ERR_KS_RESPONSE' }),
        }),
      );
      expect(f.total()).toBe(2);
    }
  });

  it('takes a session with the privileges the way of minting adds itself', async () => {
    const f = fleet(2, {
      answer: (r) => ({ ...r, privileges: `sessionid:0_t,apptoken:0_t,${r.privileges}` }),
    });
    const first = await f.issuers[0]!.getKs({ userId: 'alice', privileges: 'sview:1_e' });
    expect((await f.issuers[1]!.getKs({ userId: 'alice', privileges: 'sview:1_e' })).ks).toBe(
      first.ks,
    );
    expect(f.total()).toBe(1);
  });

  it('refuses a session whose KS says something else than its fields, or does not verify', async () => {
    const hub = createMemoryStoreHub(() => START);
    const keys: KsStoreKey[] = [];
    const issuer = (way: { adminSecret: string } | { minter: KsMinter }) =>
      createKsIssuer({
        partnerId: PARTNER,
        ...way,
        store: recordingKeys(hub.store(), keys),
        now: () => START,
      });
    const counted: { minter: KsMinter } = {
      minter: { kind: 'counted', mint: async (r) => mintedSession(r, START) },
    };
    // Without the secret, a KS v1 is read field by field: ceo's KS dressed up as alice's.
    await issuer(counted).getKs({ userId: 'bob' });
    const ceo = mintedSession({ userId: 'ceo', type: 0, privileges: '' }, START, PARTNER, 1);
    hub.plant(
      { ...keys.at(-1)!, userId: 'alice', id: keys.at(-1)!.id.replace('bob', 'alice') },
      {
        ...ceo,
        userId: 'alice',
      },
      60_000,
    );
    const read = await issuer(counted).getKs({ userId: 'alice' });
    expect(read.ks).not.toBe(ceo.ks);
    // With the admin secret (local signing), a KS must verify: one signed with another does not.
    await issuer({ adminSecret: SECRET }).getKs({ userId: 'bob' });
    const forged = {
      ...mintedSession({ userId: 'alice', type: 0, privileges: '' }, START),
      ks: createKs({
        secret: 'not-the-secret-0000000000000000',
        partnerId: PARTNER,
        userId: 'alice',
      }),
    };
    hub.plant(
      { ...keys.at(-1)!, userId: 'alice', id: keys.at(-1)!.id.replace('bob', 'alice') },
      forged,
      60_000,
    );
    expect((await issuer({ adminSecret: SECRET }).getKs({ userId: 'alice' })).ks).not.toBe(
      forged.ks,
    );
  });

  it('shares only between issuers that mint alike', async () => {
    const hub = createMemoryStoreHub(() => START);
    const keys: KsStoreKey[] = [];
    const issuer = (kind: string) =>
      createKsIssuer({
        partnerId: PARTNER,
        minter: { kind, mint: async (r) => mintedSession(r, START) },
        store: recordingKeys(hub.store(), keys),
        now: () => START,
      });
    const a = await issuer('one').getKs({ userId: 'alice' });
    const b = await issuer('other').getKs({ userId: 'alice' });
    expect(b.ks).not.toBe(a.ks);
    expect(keys[0]).toMatchObject({ partnerId: PARTNER, userId: 'alice' });
    expect(keys[0]!.id).not.toBe(keys.at(-1)!.id);
  });
});

describe('closing', () => {
  it("lets go of its mints' locks: the fleet does not wait for a mint that will never be written", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fleet(2);
    f.hang(true); // A's minter never answers, whatever its signal says
    const stuck = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    await f.issuers[0]!.close();
    expect(await stuck).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
    // B finds no lock held: it mints at once, not after lockWaitMs.
    let settled = false;
    const pending = f.issuers[1]!.getKs({ userId: 'u' }).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect((await pending).ks).toBe(f.minted[0]);
  });

  it('answers every caller still waiting for a KS at once, whatever the minter does', async () => {
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      // Ignores its abort signal and never answers.
      minter: { kind: 'stuck', mint: () => new Promise<KsSession>(() => {}) },
      mintTimeoutMs: 600_000,
    });
    const waiting = issuer.getKs({ userId: 'alice' }).catch((error: unknown) => error);
    await issuer.close();
    expect(await waiting).toMatchObject({ code: 'ERR_KS_UNAVAILABLE' });
  });
});

describe('the in-memory store', () => {
  const key: KsStoreKey = { partnerId: PARTNER, userId: 'u', id: 'k' };
  const session = (ks: string): KsSession => ({
    ks,
    partnerId: PARTNER,
    userId: 'u',
    type: 0,
    privileges: '',
    issuedAt: START,
    expiresAt: START + 3_600_000,
  });

  it('waitFor does not miss a write that lands while it starts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    await a.lock(key, 60_000);
    const { fence } = await a.get(key);
    const waiting = b.waitFor(key, () => true, 1_000, new AbortController().signal);
    await a.set(key, session('ks-new'), 60_000, fence);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await waiting)?.ks).toBe('ks-new');
  });

  it('waitFor returns at once when the signal has already aborted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    await a.lock(key, 60_000);
    const controller = new AbortController();
    controller.abort();
    let settled = false;
    const waiting = b
      .waitFor(key, () => true, 60_000, controller.signal)
      .finally(() => {
        settled = true;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(await waiting).toBeUndefined();
  });

  it('waitFor stops, empty-handed, once the lock is released without a session', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hub = createMemoryStoreHub(() => START);
    const [a, b] = [hub.store(), hub.store()];
    const release = await a.lock(key, 60_000);
    let settled = false;
    const waiting = b
      .waitFor(key, () => true, 60_000, new AbortController().signal)
      .finally(() => {
        settled = true;
      });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(await waiting).toBeUndefined();
  });
});
