import type { KsSession } from './types.js';

/** Releases a lock taken with `KsSharedStore.lock`. */
export type KsLockRelease = () => Promise<void>;

/**
 * What a store call is about. The partner and the user come first, so a
 * store can keep each partner's (and each user's) records apart: two
 * partners sharing one store never touch each other's sessions, revocations
 * or locks.
 */
export interface KsStoreKey {
  readonly partnerId: number;
  /** The user asked for. */
  readonly userId: string;
  /**
   * Everything that makes a KS different — partner, type, user, normalised
   * privileges, and the way of minting — in one string, unique per request.
   * Never contains a secret; a store may hash it.
   */
  readonly id: string;
}

/**
 * A revocation as another instance tells it: when it was made, and whether
 * the store holds it yet.
 */
export interface KsHeardRevocation {
  /** When it was made, in epoch ms on the revoking instance's clock. */
  readonly at: number;
  /**
   * `true`: the store holds it (everything of the user issued before `at` is
   * gone from it). `false`: announced only — the store refused it or did not
   * answer, so it may still hold the user's revoked sessions.
   */
  readonly confirmed: boolean;
  /** Who revoked (opaque, one per store instance): a confirmation settles only its own announcements. */
  readonly from: string;
}

/** A revocation the store has not confirmed, as `announce` sends it. */
export interface KsPendingRevocation {
  /** `null`: everything of the partner. */
  readonly userId: string | null;
  /** When it was made, in epoch ms on this instance's clock. */
  readonly at: number;
}

/** What `KsSharedStore.get` read. */
export interface KsSharedRead {
  /** The session cached under the key, if any (input to check, not trusted memory). */
  session: KsSession | undefined;
  /**
   * Where the partner's revocations stood at this read (opaque to the issuer).
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
 * just because the store did. What a store answers is checked before it is
 * served: a session must match the request it was read for.
 *
 * One store may serve issuers of several partners: everything is keyed by
 * partner.
 */
export interface KsSharedStore {
  /** The session cached under `key`, if any, and the fence to `set` a KS minted after this read with. */
  get(key: KsStoreKey): Promise<KsSharedRead>;
  /**
   * Caches `session` under `key` for `ttlMs`, remembering it belongs to
   * `key.userId` — unless that user, or everything of the partner, was revoked
   * after the read that gave `fence`, or the store can no longer tell (an
   * unknown or too old fence): then it writes nothing and resolves `false`.
   * The check and the write are one atomic step, ordered with `revoke`.
   */
  set(key: KsStoreKey, session: KsSession, ttlMs: number, fence: string): Promise<boolean>;
  /**
   * Tries to become the one instance minting `key`: resolves to a release
   * function when acquired, `undefined` when another instance holds the lock.
   * A lock expires by itself after `ttlMs` (so a crashed holder blocks no one).
   */
  lock(key: KsStoreKey, ttlMs: number): Promise<KsLockRelease | undefined>;
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
    key: KsStoreKey,
    accept: (session: KsSession) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<KsSession | undefined>;
  /**
   * Deletes a user's sessions (or, with `null`, all of the partner's)
   * everywhere, makes every fence read before it stale for that user (or for
   * all), and tells every instance. Resolves only once the store holds the
   * revocation — durably, where it can tell (a store with replicas waits for
   * one) — with the sessions of the user it deleted (none need be listed for
   * `null`), so the issuer can end them at Kaltura. Rejects when it cannot
   * confirm: the issuer then keeps a tombstone and tries again until it does.
   * Revoking twice is harmless. `at` (epoch ms, the issuer's clock) is when
   * the revocation was made, told to the other instances with it.
   */
  revoke(partnerId: number, userId: string | null, at?: number): Promise<readonly KsSession[]>;
  /**
   * Tells every other instance of revocations the store has not confirmed
   * (it refused or did not answer them), without writing anything: a store
   * that can still broadcast while it refuses writes (Redis PUBLISH under
   * `noeviction` out of memory, on a read-only replica) lets the fleet refuse
   * the revoked sessions meanwhile. The issuer announces each pending
   * revocation when the store refuses it and every `ANNOUNCE_INTERVAL_MS`
   * until it confirms. Optional: a store that cannot fail a revocation (one
   * process) has nothing to announce.
   */
  announce?(partnerId: number, revocations: readonly KsPendingRevocation[]): Promise<void>;
  /**
   * Subscribes to revocations of `partnerId` made by any other instance
   * (`null`: everything, also when the store may have missed some), with when
   * and by whom when the store can tell (`heard`): an announced, unconfirmed
   * one is refused until its confirmation. Returns an unsubscribe.
   */
  onRevoke(
    partnerId: number,
    listener: (userId: string | null, heard?: KsHeardRevocation) => void,
  ): () => void;
  close?(): Promise<void>;
}
