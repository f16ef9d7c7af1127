import { createHash } from 'node:crypto';

/** The one thing the store needs from a node-redis client to run commands. */
export interface CommandSender {
  sendCommand(args: readonly string[]): Promise<unknown>;
}

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

function lua(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Writes a session with its TTL, adds its hash to the user's index (whose TTL
 * only ever grows, to the longest session's), and wakes the waiters.
 * KEYS: session, user index. ARGV: value, ttl ms, key hash, minted channel.
 */
export const SET_SESSION = lua(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1
`);

/**
 * Releases a lock only if this owner still holds it (compare-and-delete), and
 * wakes the waiters so they stop waiting for a mint that will not come.
 * KEYS: lock. ARGV: owner token, minted channel, key hash.
 */
export const RELEASE_LOCK = lua(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`);

/**
 * What a waiter needs in one atomic read: the session, and whether anyone
 * still holds the lock. KEYS: session, lock.
 */
export const PEEK = lua(`
return { redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2]) }
`);

/**
 * Deletes every session of a user, then tells the fleet (in that order, so an
 * instance told of the revocation cannot read the session back).
 * KEYS: user index. ARGV: session key prefix, revoke channel, message.
 */
export const REVOKE_USER = lua(`
local hashes = redis.call('SMEMBERS', KEYS[1])
for i = 1, #hashes do
  redis.call('UNLINK', ARGV[1] .. hashes[i])
end
redis.call('UNLINK', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return #hashes
`);

/** EVALSHA, falling back to EVAL once when Redis does not know the script yet (or restarted). */
export async function runScript(
  client: CommandSender,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const rest = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(['EVALSHA', script.sha1, ...rest]);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.sendCommand(['EVAL', script.source, ...rest]);
  }
}
