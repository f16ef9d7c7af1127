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
 * What `get` needs in one round trip: the session, the fence (the revocation
 * count) and Redis's clock (ms), which together say where revocations stood.
 * KEYS: session, revocation count.
 */
export const READ = lua(`
local t = redis.call('TIME')
return {
  redis.call('GET', KEYS[1]),
  redis.call('GET', KEYS[2]) or '0',
  tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
}
`);

/**
 * Writes a session with its TTL, adds its hash to the user's index (whose TTL
 * only ever grows, to the longest session's), and wakes the waiters — unless
 * the user, or everything, was revoked after the read that gave the fence.
 * Every revocation bumps the count, so an unchanged count writes at once. A
 * changed one is checked against the user's and the global marks, which live
 * `revocationTtlMs`: a fence older than that can no longer be checked, and a
 * count lower than the fence means Redis lost it (restart, failover) — both
 * refuse. Returns 1 when written, 0 when refused.
 * KEYS: session, user index, revocation count, user's mark, global mark.
 * ARGV: value, ttl ms, key hash, minted channel, fence count, fence ms, revocationTtlMs.
 */
export const SET_SESSION = lua(`
local count = tonumber(redis.call('GET', KEYS[3]) or '0')
local fence = tonumber(ARGV[5])
if count ~= fence then
  if count < fence then return 0 end
  if tonumber(redis.call('GET', KEYS[4]) or '0') > fence then return 0 end
  if tonumber(redis.call('GET', KEYS[5]) or '0') > fence then return 0 end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now - tonumber(ARGV[6]) >= tonumber(ARGV[7]) then return 0 end
end
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
 * Marks the user revoked (so no write fenced before now lands later), deletes
 * every session of the user, then tells the fleet (in that order, so an
 * instance told of the revocation cannot read the session back).
 * KEYS: user index, revocation count, user's mark.
 * ARGV: session key prefix, revoke channel, message, revocationTtlMs.
 */
export const REVOKE_USER = lua(`
local count = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], count, 'PX', ARGV[4])
local hashes = redis.call('SMEMBERS', KEYS[1])
for i = 1, #hashes do
  redis.call('UNLINK', ARGV[1] .. hashes[i])
end
redis.call('UNLINK', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return #hashes
`);

/**
 * The first step of `revoke(null)`: marks everything revoked, so no write
 * fenced before now lands later; the sessions are deleted after it.
 * KEYS: revocation count, global mark. ARGV: revocationTtlMs.
 */
export const MARK_CLEARED = lua(`
local count = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], count, 'PX', ARGV[1])
return count
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
