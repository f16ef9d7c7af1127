import type { KsType } from '../ks/types.js';
import type { KsSession } from './types.js';

/** A request the issuer has validated and normalised. */
export interface MintRequest {
  userId: string;
  type: KsType;
  /** A validated privileges string. */
  privileges: string;
  expiresInSeconds: number;
  /**
   * Kaltura's clock minus this server's, in ms, as the issuer knows it (measured with
   * `system.getTime`, or the `kalturaClockOffsetMs` option; the issuer always sets it).
   * Kaltura checks `validUntil` on its own clock: a minter that signs locally signs
   * `validUntil` at `now + clockOffsetMs`, and every minter returns `expiresAt` in this
   * server's frame, `validUntil × 1000 − clockOffsetMs`.
   */
  clockOffsetMs?: number;
}

/**
 * One way of getting a KS: local signing, `session.start`, an app token, or your own. The
 * session returned describes what Kaltura issued (user, type, privileges), which the issuer
 * checks against the request before caching it (`ERR_KS_NOT_GRANTED` when it differs).
 */
export interface KsMinter {
  readonly kind: string;
  mint(request: MintRequest, signal: AbortSignal): Promise<KsSession>;
  /** Ends a session at Kaltura (`session.end`), where the way of minting can. */
  end?(session: KsSession): Promise<void>;
  /**
   * Whether Kaltura still accepts a KS it issued: `false` when it refuses it (`INVALID_KS`:
   * ended, its app token deleted, its partner's secret rotated, expired). Rejects when it
   * cannot tell. Where the way of minting can ask Kaltura.
   */
  accepts?(session: KsSession, signal?: AbortSignal): Promise<boolean>;
  close?(): Promise<void>;
}
