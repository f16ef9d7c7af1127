import type { KsError } from '../errors.js';
import type { KsType } from '../ks/types.js';
import type { PrivilegesInput } from '../privileges/privileges.js';

/** What a caller asks for: the user, and optionally a type and privileges. */
export interface KsRequest {
  userId: string;
  /** Default `KsType.USER`. */
  type?: KsType;
  privileges?: PrivilegesInput;
}

/**
 * A KS as it was issued. The fields are what Kaltura actually issued (an app
 * token may shorten the expiry or override the user, type and privileges);
 * the cache key is what was asked.
 */
export interface KsSession {
  ks: string;
  partnerId: number;
  userId: string;
  type: number;
  privileges: string;
  /** When the KS stops working, in epoch ms (Kaltura's `validUntil` × 1000). */
  expiresAt: number;
  /** When it was minted, in epoch ms on the issuer's clock. */
  issuedAt: number;
}

/** Identifies a cached session in events: never the KS itself. */
export interface KsKeyInfo {
  partnerId: number;
  userId: string;
  type: number;
  /** The privileges that were asked for, normalised. */
  privileges: string;
}

/**
 * Whether a revocation covers the fleet: `'fleet'` when there is no shared
 * store (the instance is the fleet) or the store confirmed it, `'instance'`
 * when only this instance is covered so far (the store did not confirm it;
 * the issuer retries until it does).
 */
export type KsRevokeReach = 'fleet' | 'instance';

/** What `revoke` did. */
export interface KsRevokeResult {
  /**
   * The user's sessions dropped, each counted once: from this instance's cache
   * and, with a shared store, those the store deleted (minted by any instance).
   */
  revoked: number;
  /** How many of them were ended at Kaltura (`endSession`); one that could not be is an `end-error` event. */
  ended: number;
  /**
   * `'instance'`: the store did not confirm the revocation. This instance has
   * dropped the user, refuses every shared session of the user issued before
   * now, and retries until the store confirms (`revoke-confirmed`); other
   * instances may go on serving the user's KS from their memory until then.
   * If that must not happen, end the sessions at Kaltura (`endSession`): those
   * other instances minted are ended once the store confirms. Without an
   * `endSession` either way, this is done when the store does not confirm.
   */
  reach: KsRevokeReach;
}

/**
 * Why a session left the cache. `credentials`: Kaltura refused the credentials it was minted
 * with; `clock`: Kaltura's clock turned out to be further ahead than its expiry was judged by.
 */
export type KsEvictReason =
  | 'expired'
  | 'capacity'
  | 'revoked'
  | 'cleared'
  | 'replaced'
  | 'credentials'
  | 'clock';

/** What was done with a report that Kaltura refused a KS (`GetKsOptions.rejectedKs`). */
export type KsRejectOutcome =
  /** Kaltura refuses it: the user's sessions were dropped (here and in the shared store) and a new KS minted. */
  | 'replaced'
  /** Kaltura accepts it: nothing changed. */
  | 'accepted'
  /** Not the KS this user is served (an older one, or another user's): nothing changed, nothing asked. */
  | 'stale'
  /** This key's KS was checked less than `minForcedRefreshIntervalMs` ago: nothing changed. */
  | 'limited'
  /** The way of minting cannot ask Kaltura: handled as `forceRefresh`. */
  | 'unverifiable'
  /** Asking Kaltura failed (`error`): nothing changed. */
  | 'check-error';

/** Reported through `onEvent`, for logs and metrics. Never carries a KS or a secret. */
export type KsIssuerEvent =
  | { type: 'hit'; key: KsKeyInfo; stale: boolean }
  /** Found in the shared store (another instance minted it). */
  | { type: 'shared-hit'; key: KsKeyInfo }
  /** The shared store failed or was too slow: this instance went on alone. */
  | { type: 'store-error'; operation: string; error: Error }
  /** A call to the shared store succeeded (`store-error` when it did not). */
  | { type: 'store-call'; operation: string; durationMs: number }
  | { type: 'miss'; key: KsKeyInfo }
  /**
   * How a request that missed ended: with a `new` KS (minted here, or by another instance),
   * a `fallback` to the still-valid one it had because no new one could be had, or an
   * `error` (the one the caller gets).
   */
  | { type: 'miss-result'; key: KsKeyInfo; outcome: 'new' | 'fallback' | 'error'; error?: KsError }
  | { type: 'refresh'; key: KsKeyInfo }
  /**
   * This instance's minter made a KS (a KS taken from the shared store is a `shared-hit`).
   * It carries every privilege asked (the issuer checked); `extraPrivileges` are those it
   * carries beyond them (an app token adds `sessionid` and `apptoken`, and its own).
   */
  | {
      type: 'mint';
      key: KsKeyInfo;
      durationMs: number;
      expiresAt: number;
      extraPrivileges?: string;
    }
  | {
      type: 'mint-error';
      key: KsKeyInfo;
      durationMs: number;
      error: KsError;
      consecutiveFailures: number;
      retryAt: number;
    }
  | { type: 'evict'; key: KsKeyInfo; reason: KsEvictReason }
  /**
   * `revoke(userId, { endSession: true })` could not end this session at
   * Kaltura (`session.end`); it was dropped from the cache all the same, and
   * `revoke` still resolves. The KS itself is never part of the event.
   */
  | { type: 'end-error'; key: KsKeyInfo; error: KsError }
  /** A report that Kaltura refused a KS of this key (`rejectedKs`), and what was done with it. */
  | { type: 'rejected'; key: KsKeyInfo; outcome: KsRejectOutcome; error?: KsError }
  /**
   * Kaltura refused the issuer's credentials (`kalturaCode`, e.g. `APP_TOKEN_NOT_ACTIVE`,
   * `INVALID_APP_TOKEN_HASH`): every cached session was dropped, requests get
   * `ERR_KS_CREDENTIALS`, and one mint probes Kaltura at `retryAt`, then slower and slower.
   */
  | {
      type: 'credentials-rejected';
      kalturaCode: string | undefined;
      error: KsError;
      retryAt: number;
    }
  /** A probe went through: the credentials work again. */
  | { type: 'credentials-accepted' }
  /** Kaltura's clock was measured: its offset from this server's (ms, rounded up) and the round trip. */
  | { type: 'clock'; offsetMs: number; roundTripMs: number }
  /** Kaltura's clock could not be read; the last offset (or the fixed one) stays in use. */
  | { type: 'clock-error'; error: KsError }
  /**
   * The shared store did not confirm a revocation (`userId: null`: of
   * everything). This instance refuses the user's shared sessions issued
   * before it, and asks the store again at `retryAt` (back-off, 250 ms
   * doubling to 5 s), until it confirms.
   */
  | {
      type: 'revoke-pending';
      partnerId: number;
      userId: string | null;
      attempts: number;
      retryAt: number;
    }
  /** A revocation the store had not confirmed is confirmed now, after `attempts` failed tries. */
  | { type: 'revoke-confirmed'; partnerId: number; userId: string | null; attempts: number };
