import type { KsLockRelease, KsSharedStore } from './store.js';
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
  const waiters = new Map<string, Set<(session: KsSession) => void>>();
  let failing = false;

  function check(): void {
    if (failing) throw new Error('store unavailable');
  }

  function store(): KsSharedStore {
    const own = new Set<(userId: string | null) => void>();
    return {
      async get(key) {
        check();
        const entry = sessions.get(key);
        if (entry === undefined) return undefined;
        if (now() >= entry.expiresAt) {
          sessions.delete(key);
          return undefined;
        }
        return entry.session;
      },
      async set(key, session, ttlMs, userId) {
        check();
        sessions.set(key, { session, expiresAt: now() + ttlMs, userId });
        for (const wake of [...(waiters.get(key) ?? [])]) wake(session);
      },
      async lock(key, ttlMs): Promise<KsLockRelease | undefined> {
        check();
        const held = locks.get(key);
        if (held !== undefined && now() < held.expiresAt) return undefined;
        const token = Symbol(key);
        locks.set(key, { token, expiresAt: now() + ttlMs });
        return async () => {
          if (locks.get(key)?.token === token) locks.delete(key);
        };
      },
      async waitFor(key, accept, timeoutMs, signal) {
        check();
        const existing = await this.get(key);
        if (existing !== undefined && accept(existing)) return existing;
        return new Promise<KsSession | undefined>((resolve) => {
          const wake = (session: KsSession) => {
            if (!accept(session)) return;
            waiters.get(key)?.delete(wake);
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve(session);
          };
          const onAbort = () => {
            clearTimeout(timer);
            waiters.get(key)?.delete(wake);
            resolve(undefined);
          };
          const timer = setTimeout(onAbort, timeoutMs);
          signal.addEventListener('abort', onAbort, { once: true });
          const set = waiters.get(key) ?? new Set();
          set.add(wake);
          waiters.set(key, set);
        });
      },
      async revoke(userId) {
        check();
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
    /** Lets a lock lapse, as if its holder crashed and its TTL passed. */
    expireLocks() {
      locks.clear();
    },
    get size() {
      return sessions.size;
    },
  };
}
