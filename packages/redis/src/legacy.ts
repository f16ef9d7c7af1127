/**
 * The key layout of @kaltura-ks/redis 0.1 (layout 1: no version, no partner in
 * the keys), for a rolling upgrade: while `upgradeFromV1` is on, a store of
 * this version also revokes in layout 1 and broadcasts there, and applies the
 * revocations it hears from instances still on 0.1, so a logout on either
 * side reaches the other side's instances and keys. See the README.
 */
import { escapeGlob, sha256 } from './keys.js';

export interface V1Layout {
  user(userId: string): string;
  revoked(userId: string): string;
  readonly cleared: string;
  readonly revocations: string;
  readonly sessionPrefix: string;
  readonly revokeChannel: string;
  /** Every user index and session of the prefix, in the order 0.1 deletes them. */
  readonly patterns: readonly string[];
}

export function v1Layout(prefix: string): V1Layout {
  const sessionPrefix = `${prefix}ks:`;
  return {
    user: (userId) => `${prefix}user:${sha256(userId)}`,
    revoked: (userId) => `${prefix}revoked:${sha256(userId)}`,
    cleared: `${prefix}cleared`,
    revocations: `${prefix}revocations`,
    sessionPrefix,
    revokeChannel: `${prefix}revoke`,
    patterns: [`${escapeGlob(prefix)}user:*`, `${escapeGlob(sessionPrefix)}*`],
  };
}

/**
 * A revocation message in layout 1 (`{ from, userId }`), marked as sent by a
 * store of this version (`layout: 2`) so that the other upgraded stores, which
 * hear it on the new channel too, ignore it here. Instances on 0.1 read only
 * `from` and `userId`.
 */
export function v1Message(from: string, userId: string | null): string {
  return JSON.stringify({ from, userId, layout: 2 });
}

/** The user id of a revocation sent by an instance still on 0.1 (`undefined` for anything else). */
export function fromV1(message: string): { userId: string | null } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { from, userId, layout } = parsed as Record<string, unknown>;
  if (layout !== undefined || typeof from !== 'string') return undefined;
  if (!(typeof userId === 'string' || userId === null)) return undefined;
  return { userId };
}
