import { backoffDelay, checkFunction, checkMs, invalidOption } from '@kaltura-ks/core/internal';
import { ANNOUNCE_INTERVAL_MS } from '@kaltura-ks/core/issuer';
import { createClient } from 'redis';
import {
  type Commands,
  commandsOf,
  fromClient,
  isCluster,
  type RedisStoreClient,
  type RedisStoreClusterClient,
  type Subscriber,
  subscriberOf,
} from './connection.js';
import { redisKeyLayout } from './keys.js';
import { v1Layout } from './legacy.js';
import { type RedisStoreErrorHandler, rateLimitedReporter } from './report.js';
import { type RedisStore, Store } from './store.js';

export interface RedisStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`: the store creates, connects and closes its own clients. */
  url?: string;
  /**
   * Or a client of yours: a node-redis client (`createClient()`: TLS options,
   * a credentials provider...) or a Redis Cluster client (`createCluster()`).
   * The store never closes nor reconnects it; it closes its own `duplicate()`
   * used to subscribe.
   */
  client?: RedisStoreClient | RedisStoreClusterClient;
  /**
   * Namespace of every key and channel. Default `kaltura-ks:`. Every key is
   * also keyed by partner, so the partners of one environment may share it;
   * give each environment sharing a Redis its own. No `{` or `}`: the store
   * puts its own hash tag (the partner) in every key.
   */
  keyPrefix?: string;
  /** A waiter re-reads the key at least this often (ms), in case a notification was lost; it starts at a tenth of it. Default 200. */
  pollIntervalMs?: number;
  /** With `url`: the longest pause (ms) between reconnection attempts; they back off from 50 ms with jitter. Default 2000. */
  reconnectMaxDelayMs?: number;
  /**
   * By default, when the subscription comes back after being lost, the store
   * tells its issuers to drop their local tier (revocations may have been
   * missed meanwhile); the next requests are served from Redis. Set to keep it.
   */
  ignoreMissedRevocations?: boolean;
  /** Connection errors, at most one per connection per `errorReportIntervalMs` (a `reconnectAfterMs` reconnection is always reported). Errors never carry keys or values. */
  onError?: RedisStoreErrorHandler;
  /** Default 10,000 ms. */
  errorReportIntervalMs?: number;
  /**
   * How long Redis remembers each revocation (ms), which bounds the time from
   * an issuer's read to its write of the KS it then minted (lock wait plus
   * mint): a write that comes later is refused (the KS is then served only to
   * the callers already waiting for it), as the store could no longer tell
   * whether its user was revoked meanwhile. Keep it well above the issuer's
   * `lockWaitMs` + `mintTimeoutMs`. Default 600,000 (10 minutes).
   */
  revocationTtlMs?: number;
  /**
   * Once a command has gone unanswered this long (ms), later commands fail at
   * once (`ERR_KS_TIMEOUT`) instead of queueing behind it on the same
   * connection, until Redis answers it or the connection drops (see
   * `reconnectAfterMs`): a Redis that hangs costs the issuer one
   * `storeTimeoutMs`, not one per request. Counted from when the command is
   * on its way — once the turn of the event loop that sent it is over, and
   * not before the command ahead of it is answered — never from the call: a
   * busy process's own time is not Redis's. Default 1000 (the issuer's
   * default `storeTimeoutMs`).
   */
  failFastAfterMs?: number;
  /**
   * With `url`: once commands have been failing fast this long (ms) — the
   * command that opened the breaker still unanswered while the connection
   * stays up (a blackholed path, a wedged Redis) — the store drops its
   * commands connection and reconnects, instead of waiting for the kernel to
   * give up on it (~15 minutes for a blackholed path, never for a wedged
   * Redis whose host still acknowledges). The commands unanswered then reject,
   * and commands flow again once the new connection is ready. Reported once
   * to `onError`. `false` never does. Default 10,000. A `client` of yours is
   * never dropped: reconnecting it is yours to do.
   */
  reconnectAfterMs?: number | false;
  /**
   * During a rolling upgrade from @kaltura-ks/redis 0.1 (key layout 1): also
   * revoke in layout 1 and broadcast there, and apply the revocations heard
   * from instances still on 0.1, so logouts cross between old and new
   * instances. Turn it off once no 0.1 instance is left. Not with a cluster
   * client (0.1 could not run on Redis Cluster). Default `false`.
   */
  upgradeFromV1?: boolean;
  /**
   * For this long (ms) after it subscribes — at start, and again whenever the
   * subscription comes back — the store serves no session read from Redis
   * (the issuer mints its own meanwhile): it may not have heard yet of a
   * revocation Redis refused, which the revoking instance announces every
   * `ANNOUNCE_INTERVAL_MS` (1 s) until Redis takes it. `0` serves at once:
   * only where a revocation can never be refused (see SECURITY.md). Default
   * 2,000 (two announcements).
   */
  revocationCatchUpMs?: number;
  /** The clock (epoch ms) `revocationCatchUpMs` is measured on. Default `Date.now`. */
  now?: () => number;
}

const CLOSE_GRACE_MS = 1_000;
/** The first reconnection waits about this long (ms); it doubles to `reconnectMaxDelayMs`. */
const RECONNECT_BASE_MS = 50;

/** Reconnection delay: 50 ms doubling to the cap, each drawn from its upper half (equal jitter). */
export function reconnectDelay(retries: number, maxMs: number, random = Math.random): number {
  // node-redis counts the retries from 0: the first is after one failure.
  return backoffDelay(retries + 1, RECONNECT_BASE_MS, maxMs, random);
}

/**
 * Creates a Redis-backed store for a fleet of issuers: one KS cache, one mint
 * per key across the fleet, revocations broadcast to every instance. On a
 * single Redis or on Redis Cluster.
 *
 * ```ts
 * const store = createRedisStore({ url: 'redis://cache:6379' });
 * const issuer = createKsIssuer({ partnerId, adminSecret, store });
 * // on shutdown: await issuer.close(); await store.close();
 * ```
 */
export function createRedisStore({
  url,
  client,
  keyPrefix = 'kaltura-ks:',
  pollIntervalMs = 200,
  reconnectMaxDelayMs = 2_000,
  ignoreMissedRevocations = false,
  onError,
  errorReportIntervalMs = 10_000,
  failFastAfterMs = 1_000,
  reconnectAfterMs = 10_000,
  revocationTtlMs = 600_000,
  upgradeFromV1 = false,
  revocationCatchUpMs = 2 * ANNOUNCE_INTERVAL_MS,
  now = Date.now,
}: RedisStoreOptions = {}): RedisStore {
  if ((url === undefined) === (client === undefined))
    throw invalidOption('createRedisStore needs exactly one of url or client');
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
    throw invalidOption('url must be a redis:// or rediss:// URL');
  if (client !== undefined && typeof client?.sendCommand !== 'function')
    throw invalidOption(
      'client must be a node-redis client (createClient() or createCluster() from redis)',
    );
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix))
    throw invalidOption('keyPrefix must be a non-empty string without "{" or "}"');
  checkMs(pollIntervalMs, 'pollIntervalMs');
  checkMs(reconnectMaxDelayMs, 'reconnectMaxDelayMs');
  checkMs(errorReportIntervalMs, 'errorReportIntervalMs');
  checkMs(failFastAfterMs, 'failFastAfterMs');
  if (reconnectAfterMs !== false) checkMs(reconnectAfterMs, 'reconnectAfterMs');
  checkMs(revocationTtlMs, 'revocationTtlMs');
  checkMs(revocationCatchUpMs, 'revocationCatchUpMs', { allowZero: true });
  checkFunction(now, 'now');
  if (onError !== undefined) checkFunction(onError, 'onError');
  if (typeof upgradeFromV1 !== 'boolean') throw invalidOption('upgradeFromV1 must be a boolean');
  if (upgradeFromV1 && client !== undefined && isCluster(client))
    throw invalidOption(
      'upgradeFromV1 does not apply to a cluster client (0.1 never ran on a cluster)',
    );

  const report = rateLimitedReporter(onError, errorReportIntervalMs, Date.now);

  let commands: Commands;
  let subscriber: Subscriber;
  let closeCommands: (() => Promise<void>) | undefined;
  let reconnectCommands: (() => void) | undefined;
  if (url !== undefined) {
    const reconnectStrategy = (retries: number) => reconnectDelay(retries, reconnectMaxDelayMs);
    const own = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy } });
    commands = commandsOf(own);
    // The subscriber keeps its offline queue: SUBSCRIBE waits for the connection, and node-redis
    // subscribes again by itself after every reconnection.
    subscriber = fromClient(own.duplicate({ disableOfflineQueue: false }));
    // It keeps trying until connected; it rejects only when closed first (`ready` tells).
    own.connect().catch(() => {});
    closeCommands = async () => {
      // Let commands in flight finish (a session being written), but not wait on a hung Redis.
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          own.close(),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, CLOSE_GRACE_MS);
          }),
        ]);
      } catch {
        // Already closed.
      } finally {
        clearTimeout(timer);
        own.destroy();
      }
    };
    reconnectCommands = () => {
      // destroy() rejects every command waiting on the old socket and emits no `error`;
      // connect() then goes through the reconnect strategy until Redis answers (or close()).
      own.destroy();
      own.connect().catch(() => {});
    };
  } else {
    const yours = client as RedisStoreClient | RedisStoreClusterClient;
    commands = commandsOf(yours);
    subscriber = subscriberOf(yours);
  }
  return new Store({
    layout: redisKeyLayout(keyPrefix),
    v1: upgradeFromV1 ? v1Layout(keyPrefix) : undefined,
    commands,
    subscriber,
    closeCommands,
    reconnectCommands: reconnectAfterMs === false ? undefined : reconnectCommands,
    pollIntervalMs,
    ignoreMissedRevocations,
    failFastAfterMs,
    reconnectAfterMs: reconnectAfterMs === false ? 0 : reconnectAfterMs,
    revocationTtlMs: String(Math.ceil(revocationTtlMs)),
    catchUpMs: revocationCatchUpMs,
    now,
    report,
  });
}
