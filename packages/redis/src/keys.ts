import { createHash } from 'node:crypto';

/**
 * Where the store keeps things in Redis. The issuer's cache keys (partner,
 * type, user id, privileges) and user ids are hashed, so neither appears in a
 * key name; nothing secret is ever part of a key.
 */
export interface RedisKeyLayout {
  /** The hash that stands for an issuer cache key (sha256, base64url). */
  hash(issuerKey: string): string;
  /** The cached session (a JSON string, with a PX TTL that follows the KS expiry). */
  session(hash: string): string;
  /** The fleet-wide mint lock of one cache key (a random owner token, with a PX TTL). */
  lock(hash: string): string;
  /** The set of session hashes minted for a user, so `revoke(userId)` can find them. */
  user(userId: string): string;
  /** The revocation count right after a user's latest revocation (with a PX TTL: `revocationTtlMs`). */
  revoked(userId: string): string;
  /** The revocation count right after the latest `revoke(null)` (with a PX TTL: `revocationTtlMs`). */
  readonly cleared: string;
  /** Counts every revocation (an integer, no TTL): a read's fence is its value then. */
  readonly revocations: string;
  /** What `session(hash)` is prefixed with (for the revoke script). */
  readonly sessionPrefix: string;
  /** Pub/sub: revocations, as JSON `{ from, userId }` (`userId: null` for everything). */
  readonly revokeChannel: string;
  /** Pub/sub: a key hash, each time its session is written or its lock released. */
  readonly mintedChannel: string;
  /**
   * SCAN patterns matching every user index and session under the prefix, in
   * the order `revoke(null)` deletes them (never the revocation marks).
   */
  readonly patterns: readonly string[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** Escapes the glob characters SCAN's MATCH understands, so a prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

export function redisKeyLayout(prefix: string): RedisKeyLayout {
  const sessionPrefix = `${prefix}ks:`;
  return {
    hash: sha256,
    session: (hash) => `${sessionPrefix}${hash}`,
    lock: (hash) => `${prefix}lock:${hash}`,
    user: (userId) => `${prefix}user:${sha256(userId)}`,
    revoked: (userId) => `${prefix}revoked:${sha256(userId)}`,
    cleared: `${prefix}cleared`,
    revocations: `${prefix}revocations`,
    sessionPrefix,
    revokeChannel: `${prefix}revoke`,
    mintedChannel: `${prefix}minted`,
    // Indexes first: a session written while the sessions are being scanned keeps its index.
    patterns: [`${escapeGlob(prefix)}user:*`, `${escapeGlob(sessionPrefix)}*`],
  };
}
