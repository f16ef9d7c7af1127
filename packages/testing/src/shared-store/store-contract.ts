import type {
  KsHeardRevocation,
  KsSession,
  KsSharedStore,
  KsStoreKey,
} from '@kaltura-ks/core/issuer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Several stores of one fleet (sharing one Redis, or one memory hub). */
export interface StoreContractFleet {
  readonly stores: readonly [KsSharedStore, KsSharedStore, KsSharedStore];
  /**
   * Lets `ms` pass for TTLs: advances a fake clock. A real server's TTLs run on
   * real time, so there it does nothing and the assertions poll (with a bound).
   */
  elapse(ms: number): void;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

export function testSession(userId: string, ks: string, issuedAt = T0, partnerId = 1): KsSession {
  return {
    ks,
    partnerId,
    userId,
    type: 0,
    privileges: '',
    issuedAt,
    expiresAt: issuedAt + 3_600_000,
  };
}

/** An issuer-like store key (partner, type, user, privileges, way of minting). */
export function storeKey(userId: string, privileges = '', partnerId = 1): KsStoreKey {
  return { partnerId, userId, id: `test\n${partnerId}\n0\n${userId}\n${privileges}` };
}

/** The session cached under `key`, if any. */
export async function read(store: KsSharedStore, key: KsStoreKey): Promise<KsSession | undefined> {
  return (await store.get(key)).session;
}

/** Writes `session` the way the issuer does: fenced by a read just before it. */
export async function put(
  store: KsSharedStore,
  key: KsStoreKey,
  session: KsSession,
  ttlMs: number,
): Promise<boolean> {
  const { fence } = await store.get(key);
  return store.set(key, session, ttlMs, fence);
}

const SHORT_MS = 150;
const poll = { timeout: 3_000, interval: 20 };

/**
 * What every `KsSharedStore` must do, as the issuer relies on it. Run it
 * against the in-memory reference and against Redis: the same suite passes.
 */
export function describeStoreContract(
  name: string,
  createFleet: () => Promise<StoreContractFleet>,
): void {
  describe(`KsSharedStore contract: ${name}`, () => {
    let fleet: StoreContractFleet;
    let a: KsSharedStore;
    let b: KsSharedStore;
    let c: KsSharedStore;
    const never = new AbortController().signal;

    beforeEach(async () => {
      fleet = await createFleet();
      [a, b, c] = fleet.stores;
    });
    afterEach(async () => {
      await fleet.close();
    });

    it('serves what one store set from every other, and nothing for an unknown key', async () => {
      expect(await read(a, storeKey('nobody'))).toBeUndefined();
      await put(a, storeKey('alice'), testSession('alice', 'ks-a'), 60_000);
      expect(await read(b, storeKey('alice'))).toEqual(testSession('alice', 'ks-a'));
      expect(await read(c, storeKey('alice', 'sview:*'))).toBeUndefined();
    });

    it('forgets a session after its TTL', async () => {
      await put(a, storeKey('alice'), testSession('alice', 'ks-a'), SHORT_MS);
      fleet.elapse(SHORT_MS);
      await vi.waitFor(async () => expect(await read(b, storeKey('alice'))).toBeUndefined(), poll);
    });

    it('gives a lock to one store at a time, until released', async () => {
      const release = await a.lock(storeKey('alice'), 60_000);
      expect(release).toBeTypeOf('function');
      expect(await b.lock(storeKey('alice'), 60_000)).toBeUndefined();
      expect(await c.lock(storeKey('bob'), 60_000)).toBeTypeOf('function');
      await release?.();
      const next = await b.lock(storeKey('alice'), 60_000);
      expect(next).toBeTypeOf('function');
      await next?.();
    });

    it('lets a lock lapse after its TTL, and only its owner releases it', async () => {
      const stale = await a.lock(storeKey('alice'), SHORT_MS);
      expect(stale).toBeTypeOf('function');
      fleet.elapse(SHORT_MS);
      let taken: (() => Promise<void>) | undefined;
      await vi.waitFor(async () => {
        taken = await b.lock(storeKey('alice'), 60_000);
        expect(taken).toBeTypeOf('function');
      }, poll);
      await stale?.(); // the old holder wakes up late: it must not free b's lock
      expect(await c.lock(storeKey('alice'), 60_000)).toBeUndefined();
      await taken?.();
      expect(await c.lock(storeKey('alice'), 60_000)).toBeTypeOf('function');
    });

    it("waitFor resolves with another store's mint, skipping sessions it does not accept", async () => {
      const release = await a.lock(storeKey('alice'), 60_000);
      const waiting = b.waitFor(storeKey('alice'), (s) => s.ks === 'ks-new', 5_000, never);
      await put(a, storeKey('alice'), testSession('alice', 'ks-old'), 60_000);
      await put(a, storeKey('alice'), testSession('alice', 'ks-new'), 60_000);
      expect((await waiting)?.ks).toBe('ks-new');
      await release?.();
    });

    it('waitFor returns an acceptable session that is already there', async () => {
      await put(a, storeKey('alice'), testSession('alice', 'ks-a'), 60_000);
      expect((await b.waitFor(storeKey('alice'), () => true, 5_000, never))?.ks).toBe('ks-a');
    });

    it('waitFor gives up with undefined after its timeout, or when aborted while waiting', async () => {
      const release = await a.lock(storeKey('alice'), 60_000);
      expect(await b.waitFor(storeKey('alice'), () => true, 100, never)).toBeUndefined();
      const controller = new AbortController();
      const seen: string[] = [];
      const waiting = c.waitFor(
        storeKey('alice'),
        (s) => {
          seen.push(s.ks);
          return false;
        },
        60_000,
        controller.signal,
      );
      // Once it has been shown a session it rejects, it is waiting.
      await vi.waitFor(async () => {
        await put(a, storeKey('alice'), testSession('alice', 'ks-rejected'), 60_000);
        expect(seen).toContain('ks-rejected');
      }, poll);
      controller.abort();
      expect(await waiting).toBeUndefined();
      await release?.();
    });

    it('waitFor stops, empty-handed, once the lock is released without a session', async () => {
      const release = await a.lock(storeKey('alice'), 60_000);
      let settled = false;
      const waiting = b
        .waitFor(storeKey('alice'), () => true, 60_000, never)
        .finally(() => {
          settled = true;
        });
      await release?.();
      await vi.waitFor(() => expect(settled).toBe(true), poll);
      expect(await waiting).toBeUndefined();
    });

    it("revoke(userId) deletes the user's sessions everywhere and tells the other stores", async () => {
      const heard = {
        a: [] as (string | null)[],
        b: [] as (string | null)[],
        c: [] as (string | null)[],
      };
      a.onRevoke(1, (u) => heard.a.push(u));
      b.onRevoke(1, (u) => heard.b.push(u));
      c.onRevoke(1, (u) => heard.c.push(u));
      await put(a, storeKey('alice'), testSession('alice', 'ks-a1'), 60_000);
      await put(c, storeKey('alice', 'sview:*'), testSession('alice', 'ks-a2'), 60_000);
      await put(a, storeKey('bob'), testSession('bob', 'ks-b'), 60_000);

      const deleted = await b.revoke(1, 'alice');
      // What it deleted, for the issuer to end at Kaltura: every session of the user, once.
      expect(deleted.map((d) => d.ks).sort()).toEqual(['ks-a1', 'ks-a2']);
      expect(await read(c, storeKey('alice'))).toBeUndefined();
      expect(await read(a, storeKey('alice', 'sview:*'))).toBeUndefined();
      expect((await read(c, storeKey('bob')))?.ks).toBe('ks-b');
      await vi.waitFor(() => {
        expect(heard.a).toEqual(['alice']);
        expect(heard.c).toEqual(['alice']);
      }, poll);

      // b does not hear its own revocation: once it has heard a later one, it has seen both.
      await c.revoke(1, 'carol');
      await vi.waitFor(() => expect(heard.b).toEqual(['carol']), poll);
    });

    it('tells the other stores when and by whom a revocation was made; announce (where a store has it) tells of one it did not take, and deletes nothing', async () => {
      const heard: Array<[string | null, KsHeardRevocation | undefined]> = [];
      b.onRevoke(1, (u, told) => heard.push([u, told]));
      await put(a, storeKey('alice'), testSession('alice', 'ks-a'), 60_000);
      const announced = a.announce !== undefined;
      await a.announce?.(1, [
        { userId: 'alice', at: T0 + 1 },
        { userId: null, at: T0 + 2 },
      ]);
      // Announced, not revoked: the session is still there, and writes still land.
      expect((await read(c, storeKey('alice')))?.ks).toBe('ks-a');
      expect(await put(c, storeKey('bob'), testSession('bob', 'ks-b'), 60_000)).toBe(true);
      await a.revoke(1, 'alice', T0 + 3);
      await vi.waitFor(() => expect(heard).toHaveLength(announced ? 3 : 1), poll);
      const from = heard[0]?.[1]?.from;
      expect(from).toEqual(expect.any(String));
      // In their order of making: on a Redis Cluster, broadcasts may cross on their way.
      heard.sort(([, x], [, y]) => (x?.at ?? 0) - (y?.at ?? 0));
      expect(heard).toEqual([
        ...(announced
          ? [
              ['alice', { at: T0 + 1, confirmed: false, from }],
              [null, { at: T0 + 2, confirmed: false, from }],
            ]
          : []),
        ['alice', { at: T0 + 3, confirmed: true, from }],
      ]);
    });

    it('revoke(null) deletes everything and tells the other stores', async () => {
      const heard: (string | null)[] = [];
      b.onRevoke(1, (u) => heard.push(u));
      await put(a, storeKey('alice'), testSession('alice', 'ks-a'), 60_000);
      await put(a, storeKey('bob'), testSession('bob', 'ks-b'), 60_000);
      await a.revoke(1, null);
      expect(await read(b, storeKey('alice'))).toBeUndefined();
      expect(await read(c, storeKey('bob'))).toBeUndefined();
      await vi.waitFor(() => expect(heard).toEqual([null]), poll);
    });

    it('refuses a write fenced before its user was revoked, on any store; other users and later fences write', async () => {
      const alice = (await a.get(storeKey('alice'))).fence;
      const bob = (await a.get(storeKey('bob'))).fence;
      await b.revoke(1, 'alice');
      // A mint that began before the revocation lands after it: refused, nothing written.
      expect(await a.set(storeKey('alice'), testSession('alice', 'ks-old'), 60_000, alice)).toBe(
        false,
      );
      expect(await read(c, storeKey('alice'))).toBeUndefined();
      // Someone else's revocation does not stand in the way.
      expect(await a.set(storeKey('bob'), testSession('bob', 'ks-b'), 60_000, bob)).toBe(true);
      expect((await read(c, storeKey('bob')))?.ks).toBe('ks-b');
      // A mint that began after it writes as usual.
      expect(await put(a, storeKey('alice'), testSession('alice', 'ks-new'), 60_000)).toBe(true);
      expect((await read(c, storeKey('alice')))?.ks).toBe('ks-new');
    });

    it('refuses every write fenced before a revoke(null), and a fence it did not give', async () => {
      const alice = (await a.get(storeKey('alice'))).fence;
      const bob = (await b.get(storeKey('bob'))).fence;
      await c.revoke(1, null);
      expect(await a.set(storeKey('alice'), testSession('alice', 'ks-a'), 60_000, alice)).toBe(
        false,
      );
      expect(await b.set(storeKey('bob'), testSession('bob', 'ks-b'), 60_000, bob)).toBe(false);
      expect(await read(c, storeKey('alice'))).toBeUndefined();
      expect(await read(c, storeKey('bob'))).toBeUndefined();
      expect(await a.set(storeKey('bob'), testSession('bob', 'ks-b'), 60_000, 'forged')).toBe(
        false,
      );
      expect(await read(c, storeKey('bob'))).toBeUndefined();
      expect(await put(b, storeKey('bob'), testSession('bob', 'ks-b2'), 60_000)).toBe(true);
      expect((await read(a, storeKey('bob')))?.ks).toBe('ks-b2');
    });

    it('stops telling a listener once it unsubscribes', async () => {
      const removed: (string | null)[] = [];
      const kept: (string | null)[] = [];
      const unsubscribe = b.onRevoke(1, (u) => removed.push(u));
      b.onRevoke(1, (u) => kept.push(u));
      unsubscribe();
      await a.revoke(1, 'dave');
      await vi.waitFor(() => expect(kept).toEqual(['dave']), poll);
      expect(removed).toEqual([]);
    });

    it("keeps partners apart: one partner's revocations never touch another's sessions, marks or listeners", async () => {
      const heard: (string | null)[] = [];
      const other: (string | null)[] = [];
      b.onRevoke(2, (u) => heard.push(u));
      b.onRevoke(1, (u) => other.push(u));
      await put(a, storeKey('alice', '', 1), testSession('alice', 'ks-p1'), 60_000);
      await put(a, storeKey('alice', '', 2), testSession('alice', 'ks-p2', T0, 2), 60_000);
      const fence = (await a.get(storeKey('bob', '', 2))).fence;
      expect((await c.revoke(1, 'alice')).map((d) => d.ks)).toEqual(['ks-p1']);
      expect(await read(b, storeKey('alice', '', 1))).toBeUndefined();
      expect((await read(b, storeKey('alice', '', 2)))?.ks).toBe('ks-p2');
      await c.revoke(1, null);
      expect((await read(b, storeKey('alice', '', 2)))?.ks).toBe('ks-p2');
      // Partner 2's fences are not moved by partner 1's revocations.
      expect(
        await a.set(storeKey('bob', '', 2), testSession('bob', 'ks-b', T0, 2), 60_000, fence),
      ).toBe(true);
      await c.revoke(2, 'carol');
      await vi.waitFor(() => expect(heard).toEqual(['carol']), poll);
      // Partner 1's two broadcasts, in either order: a Redis Cluster may deliver two
      // publishes from one client through different nodes (and both only evict).
      await vi.waitFor(() => {
        expect(other).toHaveLength(2);
        expect(other).toEqual(expect.arrayContaining(['alice', null]));
      }, poll);
    });
  });
}
