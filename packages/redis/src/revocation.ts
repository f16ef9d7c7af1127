/**
 * Writing a revocation into Redis, under one key layout: the scripts, the
 * SCAN of a revocation of everything, and the wait for a replica that makes
 * it survive a failover.
 */
import { KsError } from '@kaltura-ks/core';
import { type CommandSender, MARK_CLEARED, REVOKE_USER, runScript } from './scripts.js';

/**
 * How long a revocation waits for a replica to acknowledge it (`WAIT`), when
 * the node has replicas; without an acknowledgement it is not confirmed (the
 * issuer retries). WAIT holds the connection, so this stays well under
 * `failFastAfterMs`.
 */
export const REPLICA_ACK_TIMEOUT_MS = 500;

/** One user's keys, and where to tell the fleet. */
export interface UserRevocation {
  index: string;
  revocations: string;
  mark: string;
  sessionPrefix: string;
  channel: string;
  message: string;
  /** `revocationTtlMs`, whole milliseconds. */
  ttlMs: string;
}

/**
 * Deletes the user's sessions and index, marks the user revoked and tells the
 * fleet, in one script. Resolves with the values it deleted and the node's
 * connected replicas.
 */
export async function revokeUser(
  send: CommandSender,
  target: UserRevocation,
): Promise<{ replicas: number; values: unknown[] }> {
  const reply = await runScript(
    send,
    REVOKE_USER,
    [target.index, target.revocations, target.mark],
    [target.sessionPrefix, target.channel, target.message, target.ttlMs],
  );
  const [replicas, values] = Array.isArray(reply) ? reply : [];
  if (!Array.isArray(values))
    throw new KsError('ERR_KS_RESPONSE', 'Redis answered a revocation with an unexpected reply');
  return { replicas: replicaCount(replicas), values };
}

/**
 * The node's connected replicas as the script counted them. Anything but a whole number of at
 * least 0 is refused: read as NaN it would skip the WAIT and confirm the revocation.
 */
function replicaCount(reply: unknown): number {
  const count = typeof reply === 'number' || typeof reply === 'string' ? Number(reply) : Number.NaN;
  if (!(Number.isInteger(count) && count >= 0))
    throw new KsError(
      'ERR_KS_RESPONSE',
      'Redis answered a revocation with an unexpected replica count',
    );
  return count;
}

/** Everything of one partner (or, in layout 1, of one prefix). */
export interface FullRevocation {
  revocations: string;
  cleared: string;
  /** SCAN patterns of the indexes and sessions, in the order they are deleted. */
  patterns: readonly string[];
  channel: string;
  message: string;
  ttlMs: string;
}

/**
 * Revokes everything: marks it first, so that no write fenced before it lands
 * once the keys below are gone, then deletes every index and session by SCAN
 * (never KEYS, which blocks Redis) on the node of the revocation count's slot,
 * then tells the fleet. Resolves with the node's connected replicas.
 */
export async function revokeAll(send: CommandSender, target: FullRevocation): Promise<number> {
  const { revocations } = target;
  const replicas = replicaCount(
    await runScript(send, MARK_CLEARED, [revocations, target.cleared], [target.ttlMs]),
  );
  for (const pattern of target.patterns) {
    let cursor = '0';
    do {
      const reply = await send.sendCommand(
        ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'],
        revocations,
      );
      const [next, found] = Array.isArray(reply) ? reply : [];
      if (!Array.isArray(found))
        throw new KsError('ERR_KS_RESPONSE', 'Redis answered SCAN with an unexpected reply');
      cursor = String(next);
      const names = found.map(String);
      if (names.length > 0) await send.sendCommand(['UNLINK', ...names], revocations);
    } while (cursor !== '0');
  }
  await send.sendCommand(['PUBLISH', target.channel, target.message], revocations);
  return replicas;
}

/** Waits for a replica of the node serving `key` to have every write made so far (WAIT). */
export async function replicated(send: CommandSender, key: string): Promise<void> {
  const acknowledged = await send.sendCommand(['WAIT', '1', String(REPLICA_ACK_TIMEOUT_MS)], key);
  // Not `< 1`: an answer that is not a number (NaN) is no acknowledgement either.
  if (!(Number(acknowledged) >= 1))
    throw new KsError(
      'ERR_KS_TIMEOUT',
      `No replica acknowledged the revocation within ${REPLICA_ACK_TIMEOUT_MS} ms`,
    );
}
