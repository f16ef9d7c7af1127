/**
 * The in-memory tier: the LRU cache of sessions by cache key, and the index of
 * each user's keys that a revocation needs (a user may hold several sessions:
 * other privileges, another type).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { keyInfoOf } from './cache-key.js';
import type { KsEvictReason, KsKeyInfo, KsSession } from './types.js';

export interface LocalSessionsOptions {
  max: number;
  now: Clock;
  /** Each session that leaves the cache, and why. */
  onEvict: (key: KsKeyInfo, reason: KsEvictReason) => void;
}

export class LocalSessions {
  readonly #now: Clock;
  readonly #cache: LRUCache<string, KsSession>;
  /** The keys cached for each user: one key as itself (most users have one), more in a list. */
  readonly #byUser = new Map<string, string | string[]>();
  /**
   * Why the entries being deleted go, while a `revoke` or `clear` runs: lru-cache tells
   * `dispose` only that an entry was deleted, not why, so `#deleting` keeps the reason
   * here for the length of the call (set and reset synchronously around it).
   */
  #deleteReason: KsEvictReason | undefined;

  constructor(options: LocalSessionsOptions) {
    this.#now = options.now;
    const onEvict = options.onEvict;
    this.#cache = new LRUCache<string, KsSession>({
      max: options.max,
      // Entries leave the cache when their KS expires; freshness is decided by the policy.
      ttl: 1,
      ttlResolution: 0,
      perf: { now: options.now },
      dispose: (_session, key, reason) => {
        const info = keyInfoOf(key);
        const why: KsEvictReason =
          reason === 'set'
            ? 'replaced'
            : reason === 'evict'
              ? 'capacity'
              : reason === 'expire'
                ? 'expired'
                : (this.#deleteReason ?? 'expired');
        if (reason !== 'set') this.#unindex(info.userId, key);
        onEvict(info, why);
      },
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  get(key: string): KsSession | undefined {
    return this.#cache.get(key);
  }

  /** Caches `session` until its KS expires (not at all if it already has). */
  set(key: string, userId: string, session: KsSession): void {
    // lru-cache treats an entry as stale once `now - start > ttl`; a KS is dead at expiresAt.
    const ttl = session.expiresAt - this.#now() - 1;
    if (ttl <= 0) return;
    const keys = this.#byUser.get(userId);
    if (keys === undefined) this.#byUser.set(userId, key);
    else if (typeof keys === 'string') {
      if (keys !== key) this.#byUser.set(userId, [keys, key]);
    } else if (!keys.includes(key)) keys.push(key);
    this.#cache.set(key, session, { ttl });
  }

  /**
   * Drops every session of `userId` (evicted as `revoked`), calling `each` with
   * each of its keys; returns the sessions dropped, expired ones included.
   */
  dropUser(
    userId: string,
    each: (key: string) => void,
  ): Array<{ info: KsKeyInfo; session: KsSession }> {
    const dropped: Array<{ info: KsKeyInfo; session: KsSession }> = [];
    this.#deleting('revoked', () => {
      const keys = this.#byUser.get(userId);
      for (const key of typeof keys === 'string' ? [keys] : [...(keys ?? [])]) {
        const session = this.#cache.peek(key, { allowStale: true });
        if (session !== undefined) dropped.push({ info: keyInfoOf(key), session });
        this.#cache.delete(key);
        each(key);
      }
    });
    return dropped;
  }

  /** Drops every session, evicted for `reason`. */
  clear(reason: KsEvictReason): void {
    this.#deleting(reason, () => this.#cache.clear());
  }

  #deleting(reason: KsEvictReason, run: () => void): void {
    this.#deleteReason = reason;
    try {
      run();
    } finally {
      this.#deleteReason = undefined;
    }
  }

  #unindex(userId: string, key: string): void {
    const keys = this.#byUser.get(userId);
    if (keys === key) this.#byUser.delete(userId);
    else if (Array.isArray(keys)) {
      const at = keys.indexOf(key);
      if (at >= 0) keys.splice(at, 1);
      if (keys.length === 1) this.#byUser.set(userId, keys[0]!);
    }
  }
}
