import type { KsSession } from './types.js';

/** Releases a lock taken with `KsSharedStore.lock`. */
export type KsLockRelease = () => Promise<void>;

/** What `KsSharedStore.get` read. */
export interface KsSharedRead {
  /** The session cached under the key, if any. */
  session: KsSession | undefined;
  /**
   * Where the fleet's revocations stood at this read (opaque to the issuer).
   * A KS minted after the read is written with `set(…, fence)`, and the store
   * refuses it if its user (or everything) was revoked since: a mint that was
   * already under way when a revocation happened can never land after it.
   */
  fence: string;
}

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
  /** The session cached under `key`, if any, and the fence to `set` a KS minted after this read with. */
  get(key: string): Promise<KsSharedRead>;
  /**
   * Caches `session` under `key` for `ttlMs`, remembering it belongs to
   * `userId` (the one asked for) — unless `userId` or everything was revoked
   * after the read that gave `fence`, or the store can no longer tell (an
   * unknown or too old fence): then it writes nothing and resolves `false`.
   * The check and the write are one atomic step, ordered with `revoke`.
   */
  set(
    key: string,
    session: KsSession,
    ttlMs: number,
    userId: string,
    fence: string,
  ): Promise<boolean>;
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
  /**
   * Deletes a user's sessions (or, with `null`, all) everywhere, makes every
   * fence read before it stale for that user (or for all), and tells every
   * instance.
   */
  revoke(userId: string | null): Promise<void>;
  /** Subscribes to revocations made by any instance (`null`: everything). Returns an unsubscribe. */
  onRevoke(listener: (userId: string | null) => void): () => void;
  close?(): Promise<void>;
}
