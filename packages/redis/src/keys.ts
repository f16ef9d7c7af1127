import { createHash } from 'node:crypto';

/**
 * The version of the key layout, written into every key and channel name, so
 * a store of another layout never reads or writes these keys by mistake
 * (see the README's rolling upgrade).
 */
export const KEY_LAYOUT_VERSION = 2;

/**
 * Where one partner's records live. Every key of a partner carries the same
 * hash tag (`{<partnerId>}`), so Redis Cluster puts them all in one slot: each
 * script's keys are always in one slot, and a partner's revocations are
 * ordered with its writes by one node.
 */
export interface PartnerKeys {
  /** The cached session of one key hash (a JSON string, with a PX TTL that follows the KS expiry). */
  session(hash: string): string;
  /** The fleet-wide mint lock of one key hash (a random owner token, with a PX TTL). */
  lock(hash: string): string;
  /** The set of session hashes minted for a user, so `revoke(partnerId, userId)` can find them. */
  user(userId: string): string;
  /** The revocation count right after a user's latest revocation (with a PX TTL: `revocationTtlMs`). */
  revoked(userId: string): string;
  /** The revocation count right after the latest revocation of everything (PX TTL: `revocationTtlMs`). */
  readonly cleared: string;
  /** Counts every revocation of the partner (an integer, no TTL): a read's fence is its value then. */
  readonly revocations: string;
  /** What `session(hash)` is prefixed with (for the revoke script). */
  readonly sessionPrefix: string;
  /**
   * SCAN patterns matching every user index and session of the partner, in
   * the order a revocation of everything deletes them (never the marks).
   */
  readonly patterns: readonly string[];
}

/**
 * Where the store keeps things in Redis. The issuer's keys and user ids are
 * hashed, so neither appears in a key name; nothing secret is ever part of a key.
 */
export interface RedisKeyLayout {
  /** The hash that stands for an issuer's store key (sha256, base64url). */
  hash(id: string): string;
  partner(partnerId: number): PartnerKeys;
  /** Pub/sub: revocations, as JSON `{ from, partnerId, userId }` (`userId: null` for everything). */
  readonly revokeChannel: string;
  /** Pub/sub: a key hash, each time its session is written or its lock released. */
  readonly mintedChannel: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** Escapes the glob characters SCAN's MATCH understands, so a prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** `kaltura-ks:` → `kaltura-ks:v2:{1234}:ks:<hash>`… for partner 1234. */
export function redisKeyLayout(prefix: string): RedisKeyLayout {
  const root = `${prefix}v${KEY_LAYOUT_VERSION}:`;
  const partners = new Map<number, PartnerKeys>();
  return {
    hash: sha256,
    partner(partnerId) {
      let keys = partners.get(partnerId);
      if (keys === undefined) {
        const tagged = `${root}{${partnerId}}:`;
        const sessionPrefix = `${tagged}ks:`;
        keys = {
          session: (hash) => `${sessionPrefix}${hash}`,
          lock: (hash) => `${tagged}lock:${hash}`,
          user: (userId) => `${tagged}user:${sha256(userId)}`,
          revoked: (userId) => `${tagged}revoked:${sha256(userId)}`,
          cleared: `${tagged}cleared`,
          revocations: `${tagged}revocations`,
          sessionPrefix,
          // Indexes first: a session written while the sessions are being scanned keeps its index.
          patterns: [`${escapeGlob(tagged)}user:*`, `${escapeGlob(sessionPrefix)}*`],
        };
        partners.set(partnerId, keys);
      }
      return keys;
    },
    revokeChannel: `${root}revoke`,
    mintedChannel: `${root}minted`,
  };
}
