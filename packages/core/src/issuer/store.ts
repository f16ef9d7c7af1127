import type { KsSession } from './types.js';

/** Releases a lock taken with `KsSharedStore.lock`. */
export type KsLockRelease = () => Promise<void>;

/**
 * A second cache tier shared by a fleet of issuers (Redis, for one). The
 * in-memory LRU stays in front of it. Every method may fail or be slow: the
 * issuer bounds each call with `storeTimeoutMs` and, when the store fails,
 * mints on its own (reporting a `store-error` event) — a request never fails
 * just because the store did.
 *
 * Keys are the issuer's cache keys (partner, type, user id and normalised
 * privileges); a store should namespace them and may hash them. They never
 * contain a secret.
 */
export interface KsSharedStore {
  /** The session cached under `key`, if any. */
  get(key: string): Promise<KsSession | undefined>;
  /** Caches `session` under `key` for `ttlMs`, remembering it belongs to `userId` (the one asked for). */
  set(key: string, session: KsSession, ttlMs: number, userId: string): Promise<void>;
  /**
   * Tries to become the one instance minting `key`: resolves to a release
   * function when acquired, `undefined` when another instance holds the lock.
   * A lock expires by itself after `ttlMs` (so a crashed holder blocks no one).
   */
  lock(key: string, ttlMs: number): Promise<KsLockRelease | undefined>;
  /**
   * Waits (polling or subscribing) until `key` holds a session that `accept`
   * takes — another instance's fresh mint — for at most `timeoutMs`, and
   * resolves with it, or with `undefined` at the timeout or once `signal`
   * aborts (at once if it already has). Start listening before reading the
   * current value, so a write landing in between is not missed. It may stop
   * early, with `undefined`, once nobody holds the key's lock: the issuer then
   * tries to take the lock over.
   */
  waitFor(
    key: string,
    accept: (session: KsSession) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<KsSession | undefined>;
  /** Deletes a user's sessions (or, with `null`, all) everywhere, and tells every instance. */
  revoke(userId: string | null): Promise<void>;
  /** Subscribes to revocations made by any instance (`null`: everything). Returns an unsubscribe. */
  onRevoke(listener: (userId: string | null) => void): () => void;
  close?(): Promise<void>;
}
