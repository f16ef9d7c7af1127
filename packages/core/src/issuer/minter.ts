import type { KsType } from '../ks/types.js';
import type { KsSession } from './types.js';

/** A request the issuer has validated and normalised. */
export interface MintRequest {
  userId: string;
  type: KsType;
  /** A validated privileges string. */
  privileges: string;
  expiresInSeconds: number;
}

/** One way of getting a KS: local signing, `session.start`, an app token, or your own. */
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
