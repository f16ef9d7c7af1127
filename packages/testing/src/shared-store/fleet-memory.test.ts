/**
 * A fleet of issuers sharing the in-memory hub: what the hub lets a test do
 * on cue (fail some or every operation, let locks lapse, plant a session) and
 * fake timers make exact. The tests every store passes are in
 * issuer-fleet.test.ts.
 */
import { createKs, KsError } from '@kaltura-ks/core';
import {
  ANNOUNCE_INTERVAL_MS,
  createKsIssuer,
  createMemoryStoreHub,
  type KsIssuer,
  type KsIssuerEvent,
  type KsMinter,
  type KsSession,
  type KsSharedStore,
  type KsStoreKey,
} from '@kaltura-ks/core/issuer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type IssuerFleetOptions,
  issuerFleet,
  type MemorySpace,
  memorySpace,
  storeErrors,
} from './issuer-fleet.js';
import { signedSession, TEST_ADMIN_SECRET } from './signed-session.js';

const START = 1_700_000_000_000;
const PARTNER = 1;

/** A fleet of issuers sharing one memory hub, on a clock that starts at START. */
function fleet(size: number, options: Omit<IssuerFleetOptions<MemorySpace>, 'open'> = {}) {
  return issuerFleet(size, {
    start: START,
    random: () => 0.5,
    lockWaitMs: 1_000,
    storeTimeoutMs: 100,
    ...options,
    open: memorySpace,
  });
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

afterEach(() => {
  vi.useRealTimers();
});

describe('a fleet sharing the in-memory hub', () => {
  it('treats a store whose get gives no fence as failing: reports it and mints alone', async () => {
    const events: KsIssuerEvent[] = [];
    const base = createMemoryStoreHub(() => START).store();
    let writes = 0;
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      adminSecret: TEST_ADMIN_SECRET,
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
    const f = await fleet(2);
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
    const f = await fleet(1);
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
    f.space.hub.setFailing(true);
    await f.issuers[0]!.getKs({ userId: 'v' });
    expect(calls()).toHaveLength(5);
    expect(f.events[0]!.filter((e) => e.type === 'store-error').map((e) => e.type)).toEqual([
      'store-error',
    ]);
  });

  it('goes on alone when the store is down, reporting it, and uses the store again once it is back', async () => {
    const f = await fleet(2);
    f.space.hub.setFailing(true);
    const a = await f.issuers[0]!.getKs({ userId: 'u' });
    const b = await f.issuers[1]!.getKs({ userId: 'u' });
    expect(a.ks).not.toBe(b.ks); // each minted its own
    expect(f.events[0]!.some((e) => e.type === 'store-error' && e.operation === 'get')).toBe(true);
    f.space.hub.setFailing(false);
    const c = await f.issuers[0]!.getKs({ userId: 'v' });
    expect((await f.issuers[1]!.getKs({ userId: 'v' })).ks).toBe(c.ks);
  });

  it('a store that hangs costs at most storeTimeoutMs per call, never the request', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(1);
    const store = f.space.hub.store();
    const stuck = { ...store, get: () => new Promise<never>(() => {}) };
    const issuer = createKsIssuer({
      partnerId: PARTNER,
      store: stuck,
      storeTimeoutMs: 100,
      minter: { kind: 'x', mint: async (r) => signedSession(r, START) },
      now: () => START,
    });
    const pending = issuer.getKs({ userId: 'u' });
    await vi.advanceTimersByTimeAsync(100);
    expect((await pending).userId).toBe('u');
  });
  it('after a crashed holder lets go, one waiter takes the lock over and the others wait for it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(4);
    f.hang(true);
    const crashed = f.issuers[0]!.getKs({ userId: 'u' }).catch((e: unknown) => e); // holds the lock
    await vi.advanceTimersByTimeAsync(0);
    f.hang(false);
    const waiting = f.issuers.slice(1).map((issuer) => issuer.getKs({ userId: 'u' }));
    await vi.advanceTimersByTimeAsync(0); // every other instance is waiting for the holder
    expect(f.total()).toBe(1);
    f.space.hub.expireLocks(); // the holder's lock lapses
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
      minter: { kind: 'x', mint: async (r) => signedSession(r, START) },
    });
    await issuer.getKs({ userId: 'u' });
    expect(ttls).toEqual([3_600_000 - 30_000]);
  });
});

describe('a revocation the store does not confirm', () => {
  it('is retried with back-off until the store confirms it, and meanwhile no instance that knows serves the revoked KS', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    const revoked = await a.getKs({ userId: 'alice' });
    // The store keeps answering reads but refuses the revocation (out of memory, a replica).
    f.space.hub.setFailing(true, ['revoke']);
    // Not asked either way, the KS is ended at Kaltura: the revocation rests on this instance.
    expect(await a.revoke('alice')).toEqual({ revoked: 1, ended: 1, reach: 'instance' });
    expect(f.ended).toEqual([revoked.ks]);
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
    f.space.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: 'alice' }),
    );
    for (const issuer of [a, b, c]) {
      const session = await issuer.getKs({ userId: 'alice' });
      expect(session.ks).not.toBe(revoked.ks);
    }
  });

  it('without endSession, ends at Kaltura only what the store did not confirm — every session, once it does; endSession: false never', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    // Confirmed at once: nothing is ended.
    await b.getKs({ userId: 'bob' });
    expect(await a.revoke('bob')).toEqual({ revoked: 1, ended: 0, reach: 'fleet' });
    // Refused: what A knows is ended now, what B minted once the store confirms.
    const mine = await a.getKs({ userId: 'alice' });
    const theirs = await b.getKs({ userId: 'alice', privileges: 'sview:*' });
    f.space.hub.setFailing(true, ['revoke']);
    expect(await a.revoke('alice')).toEqual({ revoked: 1, ended: 1, reach: 'instance' });
    expect(f.ended).toEqual([mine.ks]);
    // endSession: false is kept to, refused or not.
    const carol = await c.getKs({ userId: 'carol' });
    expect(await c.revoke('carol', { endSession: false })).toEqual({
      revoked: 1,
      ended: 0,
      reach: 'instance',
    });
    f.space.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.ended.sort()).toEqual([mine.ks, theirs.ks].sort());
    expect(f.ended).not.toContain(carol.ks);
  });

  it('is announced: another instance drops the KS at once and refuses the store copy until the confirmation; a repeat keeps what it minted since', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const f = await fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    const revoked = await a.getKs({ userId: 'alice' });
    expect((await b.getKs({ userId: 'alice' })).ks).toBe(revoked.ks);
    // Writes refused, reads and broadcasts go through (a Redis out of memory, a replica).
    f.space.hub.setFailing(true, ['set', 'revoke']);
    expect(await a.revoke('alice')).toMatchObject({ reach: 'instance' });
    expect(b.peek({ userId: 'alice' })).toBeUndefined();
    f.advance(1_000);
    // The store still holds alice's KS: B refuses it and mints its own.
    const minted = await b.getKs({ userId: 'alice' });
    expect(minted.ks).not.toBe(revoked.ks);
    await vi.advanceTimersByTimeAsync(3 * ANNOUNCE_INTERVAL_MS);
    expect(b.peek({ userId: 'alice' })?.ks).toBe(minted.ks);
    f.space.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: 'alice' }),
    );
    for (const issuer of [a, b])
      expect((await issuer.getKs({ userId: 'alice' })).ks).not.toBe(revoked.ks);
  });

  it('a tombstone refuses only what was issued before the revocation, and only for that user', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    await b.getKs({ userId: 'bob' });
    f.space.hub.setFailing(true, ['revoke']);
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
    const f = await fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    const old = await b.getKs({ userId: 'carol' });
    f.space.hub.setFailing(true, ['revoke']);
    expect(await a.clear()).toEqual({ reach: 'instance' });
    f.advance(1_000);
    expect((await a.getKs({ userId: 'carol' })).ks).not.toBe(old.ks);
    f.space.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: null }),
    );
    // The retry clears what was written meanwhile too: a clear covers everything up to it.
    expect(f.space.hub.size).toBe(0);
  });

  it('ends, once confirmed, the sessions other instances minted (endSession), each once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(3);
    const [a, b, c] = f.issuers as [KsIssuer, KsIssuer, KsIssuer];
    const own = await c.getKs({ userId: 'alice' });
    const other = await b.getKs({ userId: 'alice', privileges: 'sview:*' });
    await c.getKs({ userId: 'alice', privileges: 'sview:*' }); // also in C's memory
    f.space.hub.setFailing(true, ['revoke']);
    expect(await c.revoke('alice', { endSession: true })).toEqual({
      revoked: 2,
      ended: 2, // the ones C knew of
      reach: 'instance',
    });
    expect(f.ended.sort()).toEqual([own.ks, other.ks].sort());
    await a.getKs({ userId: 'alice', privileges: 'list:*' }); // A mints one more meanwhile
    f.space.hub.setFailing(false);
    await vi.advanceTimersByTimeAsync(1_000);
    // Confirmed: the store's sessions are ended at Kaltura, none twice.
    expect(f.ended).toHaveLength(3);
    expect(new Set(f.ended).size).toBe(3);
  });

  it('gets one last try when the issuer closes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = await fleet(2);
    const [a, b] = f.issuers as [KsIssuer, KsIssuer];
    await b.getKs({ userId: 'alice' });
    f.space.hub.setFailing(true, ['revoke']);
    await a.revoke('alice');
    f.space.hub.setFailing(false);
    await a.close(); // before the first retry is due
    expect(f.space.hub.size).toBe(0);
    expect(f.events[0]).toContainEqual(
      expect.objectContaining({ type: 'revoke-confirmed', userId: 'alice' }),
    );
  });
});

describe('endSession across the fleet', () => {
  it('never ends a session the store returns for another user or partner', async () => {
    const f = await fleet(1, {
      wrap: (store) => ({
        ...store,
        revoke: async (partnerId, userId) => [
          ...(await store.revoke(partnerId, userId)),
          signedSession({ userId: 'ceo', type: 0, privileges: '' }, START),
          signedSession({ userId: 'alice', type: 0, privileges: '' }, START, 2),
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

describe('ways of minting sharing one store', () => {
  it('a session for another user, type or privileges than asked is never served from the store', async () => {
    // What an instance that does not check what Kaltura issued (an older version, a tampered
    // store) could leave under alice's key: real KSs, their fields true to them, not hers.
    const wrong = [
      { userId: 'ceo', type: 0, privileges: 'sview:1_e' },
      { userId: 'alice', type: 2, privileges: 'sview:1_e' },
      { userId: 'alice', type: 0, privileges: '' },
    ] as const;
    for (const fields of wrong) {
      const keys: KsStoreKey[] = [];
      const f = await fleet(1, { wrap: (store) => recordingKeys(store, keys) });
      await f.issuers[0]!.getKs({ userId: 'bob', privileges: 'sview:1_e' }); // learn the key shape
      const alice = { ...keys[0]!, userId: 'alice', id: keys[0]!.id.replace('bob', 'alice') };
      const planted = signedSession(fields, START);
      f.space.hub.plant(alice, planted, 60_000);
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
      minter: { kind: 'counted', mint: async (r) => signedSession(r, START) },
    };
    // Without the secret, a KS v1 is read field by field: ceo's KS dressed up as alice's.
    await issuer(counted).getKs({ userId: 'bob' });
    const ceo = signedSession({ userId: 'ceo', type: 0, privileges: '' }, START, PARTNER, 1);
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
    await issuer({ adminSecret: TEST_ADMIN_SECRET }).getKs({ userId: 'bob' });
    const forged = {
      ...signedSession({ userId: 'alice', type: 0, privileges: '' }, START),
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
    expect(
      (await issuer({ adminSecret: TEST_ADMIN_SECRET }).getKs({ userId: 'alice' })).ks,
    ).not.toBe(forged.ks);
  });

  it('shares only between issuers that mint alike', async () => {
    const hub = createMemoryStoreHub(() => START);
    const keys: KsStoreKey[] = [];
    const issuer = (kind: string) =>
      createKsIssuer({
        partnerId: PARTNER,
        minter: { kind, mint: async (r) => signedSession(r, START) },
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
    const f = await fleet(2);
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
