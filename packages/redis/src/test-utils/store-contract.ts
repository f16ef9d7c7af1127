import type { KsSession, KsSharedStore } from '@kaltura-ks/core/issuer';
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

export function testSession(userId: string, ks: string, issuedAt = T0): KsSession {
  return {
    ks,
    partnerId: 1,
    userId,
    type: 0,
    privileges: '',
    issuedAt,
    expiresAt: issuedAt + 3_600_000,
  };
}

/** An issuer-like cache key (partner, type, user, privileges). */
function key(userId: string, privileges = ''): string {
  return `1\n0\n${userId}\n${privileges}`;
}

/** The session cached under `key`, if any. */
export async function read(store: KsSharedStore, key: string): Promise<KsSession | undefined> {
  return (await store.get(key)).session;
}

/** Writes `session` the way the issuer does: fenced by a read just before it. */
export async function put(
  store: KsSharedStore,
  key: string,
  session: KsSession,
  ttlMs: number,
  userId: string,
): Promise<boolean> {
  const { fence } = await store.get(key);
  return store.set(key, session, ttlMs, userId, fence);
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
      expect(await read(a, key('nobody'))).toBeUndefined();
      await put(a, key('alice'), testSession('alice', 'ks-a'), 60_000, 'alice');
      expect(await read(b, key('alice'))).toEqual(testSession('alice', 'ks-a'));
      expect(await read(c, key('alice', 'sview:*'))).toBeUndefined();
    });

    it('forgets a session after its TTL', async () => {
      await put(a, key('alice'), testSession('alice', 'ks-a'), SHORT_MS, 'alice');
      fleet.elapse(SHORT_MS);
      await vi.waitFor(async () => expect(await read(b, key('alice'))).toBeUndefined(), poll);
    });

    it('gives a lock to one store at a time, until released', async () => {
      const release = await a.lock(key('alice'), 60_000);
      expect(release).toBeTypeOf('function');
      expect(await b.lock(key('alice'), 60_000)).toBeUndefined();
      expect(await c.lock(key('bob'), 60_000)).toBeTypeOf('function');
      await release?.();
      const next = await b.lock(key('alice'), 60_000);
      expect(next).toBeTypeOf('function');
      await next?.();
    });

    it('lets a lock lapse after its TTL, and only its owner releases it', async () => {
      const stale = await a.lock(key('alice'), SHORT_MS);
      expect(stale).toBeTypeOf('function');
      fleet.elapse(SHORT_MS);
      let taken: (() => Promise<void>) | undefined;
      await vi.waitFor(async () => {
        taken = await b.lock(key('alice'), 60_000);
        expect(taken).toBeTypeOf('function');
      }, poll);
      await stale?.(); // the old holder wakes up late: it must not free b's lock
      expect(await c.lock(key('alice'), 60_000)).toBeUndefined();
      await taken?.();
      expect(await c.lock(key('alice'), 60_000)).toBeTypeOf('function');
    });

    it("waitFor resolves with another store's mint, skipping sessions it does not accept", async () => {
      const release = await a.lock(key('alice'), 60_000);
      const waiting = b.waitFor(key('alice'), (s) => s.ks === 'ks-new', 5_000, never);
      await put(a, key('alice'), testSession('alice', 'ks-old'), 60_000, 'alice');
      await put(a, key('alice'), testSession('alice', 'ks-new'), 60_000, 'alice');
      expect((await waiting)?.ks).toBe('ks-new');
      await release?.();
    });

    it('waitFor returns an acceptable session that is already there', async () => {
      await put(a, key('alice'), testSession('alice', 'ks-a'), 60_000, 'alice');
      expect((await b.waitFor(key('alice'), () => true, 5_000, never))?.ks).toBe('ks-a');
    });

    it('waitFor gives up with undefined after its timeout, or when aborted while waiting', async () => {
      const release = await a.lock(key('alice'), 60_000);
      expect(await b.waitFor(key('alice'), () => true, 100, never)).toBeUndefined();
      const controller = new AbortController();
      const seen: string[] = [];
      const waiting = c.waitFor(
        key('alice'),
        (s) => {
          seen.push(s.ks);
          return false;
        },
        60_000,
        controller.signal,
      );
      // Once it has been shown a session it rejects, it is waiting.
      await vi.waitFor(async () => {
        await put(a, key('alice'), testSession('alice', 'ks-rejected'), 60_000, 'alice');
        expect(seen).toContain('ks-rejected');
      }, poll);
      controller.abort();
      expect(await waiting).toBeUndefined();
      await release?.();
    });

    it('waitFor stops, empty-handed, once the lock is released without a session', async () => {
      const release = await a.lock(key('alice'), 60_000);
      let settled = false;
      const waiting = b
        .waitFor(key('alice'), () => true, 60_000, never)
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
      a.onRevoke((u) => heard.a.push(u));
      b.onRevoke((u) => heard.b.push(u));
      c.onRevoke((u) => heard.c.push(u));
      await put(a, key('alice'), testSession('alice', 'ks-a1'), 60_000, 'alice');
      await put(c, key('alice', 'sview:*'), testSession('alice', 'ks-a2'), 60_000, 'alice');
      await put(a, key('bob'), testSession('bob', 'ks-b'), 60_000, 'bob');

      await b.revoke('alice');
      expect(await read(c, key('alice'))).toBeUndefined();
      expect(await read(a, key('alice', 'sview:*'))).toBeUndefined();
      expect((await read(c, key('bob')))?.ks).toBe('ks-b');
      await vi.waitFor(() => {
        expect(heard.a).toEqual(['alice']);
        expect(heard.c).toEqual(['alice']);
      }, poll);

      // b does not hear its own revocation: once it has heard a later one, it has seen both.
      await c.revoke('carol');
      await vi.waitFor(() => expect(heard.b).toEqual(['carol']), poll);
    });

    it('revoke(null) deletes everything and tells the other stores', async () => {
      const heard: (string | null)[] = [];
      b.onRevoke((u) => heard.push(u));
      await put(a, key('alice'), testSession('alice', 'ks-a'), 60_000, 'alice');
      await put(a, key('bob'), testSession('bob', 'ks-b'), 60_000, 'bob');
      await a.revoke(null);
      expect(await read(b, key('alice'))).toBeUndefined();
      expect(await read(c, key('bob'))).toBeUndefined();
      await vi.waitFor(() => expect(heard).toEqual([null]), poll);
    });

    it('refuses a write fenced before its user was revoked, on any store; other users and later fences write', async () => {
      const alice = (await a.get(key('alice'))).fence;
      const bob = (await a.get(key('bob'))).fence;
      await b.revoke('alice');
      // A mint that began before the revocation lands after it: refused, nothing written.
      expect(
        await a.set(key('alice'), testSession('alice', 'ks-old'), 60_000, 'alice', alice),
      ).toBe(false);
      expect(await read(c, key('alice'))).toBeUndefined();
      // Someone else's revocation does not stand in the way.
      expect(await a.set(key('bob'), testSession('bob', 'ks-b'), 60_000, 'bob', bob)).toBe(true);
      expect((await read(c, key('bob')))?.ks).toBe('ks-b');
      // A mint that began after it writes as usual.
      expect(await put(a, key('alice'), testSession('alice', 'ks-new'), 60_000, 'alice')).toBe(
        true,
      );
      expect((await read(c, key('alice')))?.ks).toBe('ks-new');
    });

    it('refuses every write fenced before a revoke(null), and a fence it did not give', async () => {
      const alice = (await a.get(key('alice'))).fence;
      const bob = (await b.get(key('bob'))).fence;
      await c.revoke(null);
      expect(await a.set(key('alice'), testSession('alice', 'ks-a'), 60_000, 'alice', alice)).toBe(
        false,
      );
      expect(await b.set(key('bob'), testSession('bob', 'ks-b'), 60_000, 'bob', bob)).toBe(false);
      expect(await read(c, key('alice'))).toBeUndefined();
      expect(await read(c, key('bob'))).toBeUndefined();
      expect(await a.set(key('bob'), testSession('bob', 'ks-b'), 60_000, 'bob', 'forged')).toBe(
        false,
      );
      expect(await read(c, key('bob'))).toBeUndefined();
      expect(await put(b, key('bob'), testSession('bob', 'ks-b2'), 60_000, 'bob')).toBe(true);
      expect((await read(a, key('bob')))?.ks).toBe('ks-b2');
    });

    it('stops telling a listener once it unsubscribes', async () => {
      const removed: (string | null)[] = [];
      const kept: (string | null)[] = [];
      const unsubscribe = b.onRevoke((u) => removed.push(u));
      b.onRevoke((u) => kept.push(u));
      unsubscribe();
      await a.revoke('dave');
      await vi.waitFor(() => expect(kept).toEqual(['dave']), poll);
      expect(removed).toEqual([]);
    });
  });
}
