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
  | { type: 'miss'; key: KsKeyInfo }
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
  | { type: 'clock-error'; error: KsError };
