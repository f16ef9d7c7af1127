import { KsError } from '../errors.js';
import type {
  KsHeardRevocation,
  KsLockRelease,
  KsSharedRead,
  KsSharedStore,
  KsStoreKey,
} from './store.js';
import type { KsSession } from './types.js';

type Operation = 'get' | 'set' | 'lock' | 'waitFor' | 'revoke' | 'announce';
type Listener = (userId: string | null, heard?: KsHeardRevocation) => void;

interface Entry {
  session: KsSession;
  expiresAt: number;
  partnerId: number;
  userId: string;
}

/** One partner's revocation records: every fence is the count at a read. */
interface Revocations {
  count: number;
  /** The count right after each user's latest revocation. */
  users: Map<string, number>;
  /** The count right after the latest revocation of everything. */
  cleared: number;
}

/**
 * A `KsSharedStore` kept in one process: several issuers given stores from the
 * same `createMemoryStoreHub()` behave like a fleet sharing Redis. Meant for
 * tests and examples; it is the reference for what a store must do.
 */
export function createMemoryStoreHub(now: () => number = Date.now) {
  const sessions = new Map<string, Entry>();
  const locks = new Map<string, { token: symbol; expiresAt: number }>();
  const listeners = new Set<{ partnerId: number; listener: Listener }>();
  let stores = 0;
  /** Called with a session when one is written, with `undefined` when the key's lock goes. */
  const waiters = new Map<string, Set<(session: KsSession | undefined) => void>>();
  const partners = new Map<number, Revocations>();
  let failing: ReadonlySet<Operation> = new Set();

  function check(operation: Operation): void {
    if (failing.has(operation))
      throw new KsError('ERR_KS_UNAVAILABLE', 'The memory store is failing (setFailing)');
  }

  function revocations(partnerId: number): Revocations {
    let records = partners.get(partnerId);
    if (records === undefined) {
      records = { count: 0, users: new Map(), cleared: 0 };
      partners.set(partnerId, records);
    }
    return records;
  }

  function read(id: string): KsSession | undefined {
    const entry = sessions.get(id);
    if (entry === undefined) return undefined;
    if (now() >= entry.expiresAt) {
      sessions.delete(id);
      return undefined;
    }
    return entry.session;
  }

  function locked(id: string): boolean {
    const held = locks.get(id);
    return held !== undefined && now() < held.expiresAt;
  }

  function wake(id: string, session: KsSession | undefined): void {
    for (const waiter of [...(waiters.get(id) ?? [])]) waiter(session);
  }

  function store(): KsSharedStore {
    const own = new Set<Listener>();
    const from = `memory-${++stores}`;
    /** Tells the other stores' issuers, never this one's (its issuer applies its own revocations). */
    const tell = (partnerId: number, userId: string | null, heard: KsHeardRevocation) => {
      for (const { partnerId: partner, listener } of [...listeners])
        if (partner === partnerId && !own.has(listener)) listener(userId, heard);
    };
    return {
      async get(key: KsStoreKey): Promise<KsSharedRead> {
        check('get');
        return { session: read(key.id), fence: String(revocations(key.partnerId).count) };
      },
      async set(key, session, ttlMs, fence) {
        check('set');
        const records = revocations(key.partnerId);
        // A fence this hub did not give, or one older than a revocation of the user: refuse.
        const seen = /^\d+$/.test(fence) ? Number(fence) : Number.NaN;
        if (
          !(seen <= records.count) ||
          records.cleared > seen ||
          (records.users.get(key.userId) ?? 0) > seen
        )
          return false;
        sessions.set(key.id, {
          session,
          expiresAt: now() + ttlMs,
          partnerId: key.partnerId,
          userId: key.userId,
        });
        wake(key.id, session);
        return true;
      },
      async lock(key, ttlMs): Promise<KsLockRelease | undefined> {
        check('lock');
        if (locked(key.id)) return undefined;
        const token = Symbol(key.id);
        locks.set(key.id, { token, expiresAt: now() + ttlMs });
        return async () => {
          if (locks.get(key.id)?.token !== token) return;
          locks.delete(key.id);
          wake(key.id, undefined);
        };
      },
      // Like the Redis store: resolves with the first session `accept` takes, or with
      // `undefined` once nobody holds the key's lock (a released or lapsed lock will bring no
      // session), at the timeout, or when aborted.
      async waitFor(key, accept, timeoutMs, signal) {
        check('waitFor');
        if (signal.aborted) return undefined;
        const id = key.id;
        return new Promise<KsSession | undefined>((resolve) => {
          const finish = (session: KsSession | undefined) => {
            const set = waiters.get(id);
            set?.delete(waiter);
            if (set?.size === 0) waiters.delete(id);
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve(session);
          };
          const waiter = (session: KsSession | undefined) => {
            if (session !== undefined) {
              if (accept(session)) finish(session);
              return;
            }
            const current = read(id);
            if (current !== undefined && accept(current)) finish(current);
            else if (!locked(id)) finish(undefined);
          };
          const onAbort = () => finish(undefined);
          // Listen first, then read: a write landing in between is not missed.
          const set = waiters.get(id) ?? new Set();
          set.add(waiter);
          waiters.set(id, set);
          const timer = setTimeout(onAbort, timeoutMs);
          signal.addEventListener('abort', onAbort, { once: true });
          waiter(undefined);
        });
      },
      async revoke(partnerId, userId, at = now()) {
        check('revoke');
        const records = revocations(partnerId);
        records.count++;
        if (userId === null) {
          records.cleared = records.count;
          // Every fence older than this is stale anyway: the users' marks are no longer needed.
          records.users.clear();
        } else {
          records.users.set(userId, records.count);
        }
        const deleted: KsSession[] = [];
        for (const [id, entry] of sessions) {
          if (entry.partnerId !== partnerId || (userId !== null && entry.userId !== userId))
            continue;
          sessions.delete(id);
          if (userId !== null && now() < entry.expiresAt) deleted.push(entry.session);
        }
        tell(partnerId, userId, { at, confirmed: true, from });
        return deleted;
      },
      async announce(partnerId, pending) {
        check('announce');
        for (const { userId, at } of pending)
          tell(partnerId, userId, { at, confirmed: false, from });
      },
      onRevoke(partnerId, listener) {
        const subscription = { partnerId, listener };
        listeners.add(subscription);
        own.add(listener);
        // A store's own revocations are applied by its issuer directly; tell only the others.
        return () => {
          listeners.delete(subscription);
          own.delete(listener);
        };
      },
    };
  }

  return {
    store,
    /**
     * Makes every store of this hub fail (as if Redis went down), or recover;
     * with `only`, just those operations (`['set', 'revoke']`: writes refused
     * while reads and broadcasts work, as an out-of-memory Redis or a
     * read-only replica does).
     */
    setFailing(
      value: boolean,
      only: readonly Operation[] = ['get', 'set', 'lock', 'waitFor', 'revoke', 'announce'],
    ) {
      failing = new Set(value ? only : []);
    },
    /** Lets every lock lapse, as if its holder crashed and its TTL passed; wakes the waiters. */
    expireLocks() {
      const ids = [...locks.keys()];
      locks.clear();
      for (const id of ids) wake(id, undefined);
    },
    /** Writes a session under a key as a misbehaving (or differently configured) instance could. */
    plant(key: KsStoreKey, session: KsSession, ttlMs: number) {
      sessions.set(key.id, {
        session,
        expiresAt: now() + ttlMs,
        partnerId: key.partnerId,
        userId: key.userId,
      });
    },
    get size() {
      return sessions.size;
    },
  };
}
