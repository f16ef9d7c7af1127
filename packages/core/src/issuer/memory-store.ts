import { KsError } from '../errors.js';
import type { KsLockRelease, KsSharedRead, KsSharedStore } from './store.js';
import type { KsSession } from './types.js';

/**
 * A `KsSharedStore` kept in one process: several issuers given stores from the
 * same `createMemoryStoreHub()` behave like a fleet sharing Redis. Meant for
 * tests and examples; it is the reference for what a store must do.
 */
export function createMemoryStoreHub(now: () => number = Date.now) {
  const sessions = new Map<string, { session: KsSession; expiresAt: number; userId: string }>();
  const locks = new Map<string, { token: symbol; expiresAt: number }>();
  const listeners = new Set<(userId: string | null) => void>();
  /** Called with a session when one is written, with `undefined` when the key's lock goes. */
  const waiters = new Map<string, Set<(session: KsSession | undefined) => void>>();
  let failing = false;
  /** Counts revocations; a fence is its value at a read. */
  let revocations = 0;
  /** The count right after each user's latest revocation, and after the latest `revoke(null)`. */
  const revokedAt = new Map<string, number>();
  let clearedAt = 0;

  function check(): void {
    if (failing)
      throw new KsError('ERR_KS_UNAVAILABLE', 'The memory store is failing (setFailing)');
  }

  function read(key: string): KsSession | undefined {
    const entry = sessions.get(key);
    if (entry === undefined) return undefined;
    if (now() >= entry.expiresAt) {
      sessions.delete(key);
      return undefined;
    }
    return entry.session;
  }

  function locked(key: string): boolean {
    const held = locks.get(key);
    return held !== undefined && now() < held.expiresAt;
  }

  function wake(key: string, session: KsSession | undefined): void {
    for (const waiter of [...(waiters.get(key) ?? [])]) waiter(session);
  }

  function store(): KsSharedStore {
    const own = new Set<(userId: string | null) => void>();
    return {
      async get(key): Promise<KsSharedRead> {
        check();
        return { session: read(key), fence: String(revocations) };
      },
      async set(key, session, ttlMs, userId, fence) {
        check();
        // A fence this hub did not give, or one older than a revocation of the user: refuse.
        const seen = /^\d+$/.test(fence) ? Number(fence) : Number.NaN;
        if (!(seen <= revocations) || clearedAt > seen || (revokedAt.get(userId) ?? 0) > seen)
          return false;
        sessions.set(key, { session, expiresAt: now() + ttlMs, userId });
        wake(key, session);
        return true;
      },
      async lock(key, ttlMs): Promise<KsLockRelease | undefined> {
        check();
        if (locked(key)) return undefined;
        const token = Symbol(key);
        locks.set(key, { token, expiresAt: now() + ttlMs });
        return async () => {
          if (locks.get(key)?.token !== token) return;
          locks.delete(key);
          wake(key, undefined);
        };
      },
      // Like the Redis store: resolves with the first session `accept` takes, or with
      // `undefined` once nobody holds the key's lock (a released or lapsed lock will bring no
      // session), at the timeout, or when aborted.
      async waitFor(key, accept, timeoutMs, signal) {
        check();
        if (signal.aborted) return undefined;
        return new Promise<KsSession | undefined>((resolve) => {
          const finish = (session: KsSession | undefined) => {
            const set = waiters.get(key);
            set?.delete(waiter);
            if (set?.size === 0) waiters.delete(key);
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve(session);
          };
          const waiter = (session: KsSession | undefined) => {
            if (session !== undefined) {
              if (accept(session)) finish(session);
              return;
            }
            const current = read(key);
            if (current !== undefined && accept(current)) finish(current);
            else if (!locked(key)) finish(undefined);
          };
          const onAbort = () => finish(undefined);
          // Listen first, then read: a write landing in between is not missed.
          const set = waiters.get(key) ?? new Set();
          set.add(waiter);
          waiters.set(key, set);
          const timer = setTimeout(onAbort, timeoutMs);
          signal.addEventListener('abort', onAbort, { once: true });
          waiter(undefined);
        });
      },
      async revoke(userId) {
        check();
        revocations++;
        if (userId === null) {
          clearedAt = revocations;
          // Every fence older than this is stale anyway: the users' marks are no longer needed.
          revokedAt.clear();
        } else {
          revokedAt.set(userId, revocations);
        }
        for (const [key, entry] of sessions)
          if (userId === null || entry.userId === userId) sessions.delete(key);
        for (const listener of listeners) if (!own.has(listener)) listener(userId);
      },
      onRevoke(listener) {
        listeners.add(listener);
        own.add(listener);
        // A store's own revocations are applied by its issuer directly; tell only the others.
        return () => {
          listeners.delete(listener);
          own.delete(listener);
        };
      },
    };
  }

  return {
    store,
    /** Makes every store of this hub fail (as if Redis went down), or recover. */
    setFailing(value: boolean) {
      failing = value;
    },
    /** Lets every lock lapse, as if its holder crashed and its TTL passed; wakes the waiters. */
    expireLocks() {
      const keys = [...locks.keys()];
      locks.clear();
      for (const key of keys) wake(key, undefined);
    },
    get size() {
      return sessions.size;
    },
  };
}
