import { createHash } from 'node:crypto';

/** How the store runs a command: on Redis Cluster, on the node serving `key`'s slot. */
export interface CommandSender {
  sendCommand(args: readonly string[], key: string): Promise<unknown>;
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
 * How many replicas the node running a script has connected: a revocation is
 * confirmed only once one of them has it (`WAIT`), so a failover cannot undo it.
 */
const CONNECTED_REPLICAS = `
local replicas = tonumber(string.match(redis.call('INFO', 'replication'), 'connected_slaves:(%d+)')) or 0
`;

/**
 * Deletes every session of the user and its index, marks the user revoked (so
 * no write fenced before now lands later), then tells the fleet — atomically,
 * so an instance told of the revocation cannot read a session back. It
 * deletes first: a revocation frees memory, and Redis lets a script that has
 * written go on writing when it is out of memory (`maxmemory`), so a
 * revocation goes through even then. Returns the sessions it deleted (their
 * values) and the number of connected replicas.
 * KEYS: user index, revocation count, user's mark (one slot: the partner's).
 * ARGV: session key prefix, revoke channel, message, revocationTtlMs.
 */
export const REVOKE_USER = lua(`
local hashes = redis.call('SMEMBERS', KEYS[1])
redis.call('UNLINK', KEYS[1])
local deleted = {}
for i = 1, #hashes do
  local key = ARGV[1] .. hashes[i]
  local value = redis.call('GET', key)
  if value then
    deleted[#deleted + 1] = value
    redis.call('UNLINK', key)
  end
end
local count = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[3], count, 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[2], ARGV[3])
${CONNECTED_REPLICAS}
return { replicas, deleted }
`);

/**
 * The first step of a revocation of everything: marks it, so no write fenced
 * before now lands later; the sessions are deleted after it. Returns the
 * number of connected replicas.
 * KEYS: revocation count, global mark. ARGV: revocationTtlMs.
 */
export const MARK_CLEARED = lua(`
local count = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], count, 'PX', ARGV[1])
${CONNECTED_REPLICAS}
return replicas
`);

/**
 * EVALSHA, falling back to EVAL once when Redis does not know the script yet
 * (or restarted, or failed over). On Redis Cluster it runs on the node of its
 * first key's slot (all of its keys share it).
 */
export async function runScript(
  client: CommandSender,
  script: LuaScript,
  keys: readonly [string, ...string[]],
  args: readonly string[],
): Promise<unknown> {
  const rest = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(['EVALSHA', script.sha1, ...rest], keys[0]);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.sendCommand(['EVAL', script.source, ...rest], keys[0]);
  }
}
