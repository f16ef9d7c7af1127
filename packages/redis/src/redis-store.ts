import { randomBytes, randomUUID } from 'node:crypto';
import { KsError } from '@kaltura-ks/core';
import type {
  KsLockRelease,
  KsSession,
  KsSharedRead,
  KsSharedStore,
  KsStoreKey,
} from '@kaltura-ks/core/issuer';
import { createClient } from 'redis';
import { CommandBreaker } from './breaker.js';
import { decodeSession, encodeSession } from './codec.js';
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
import { type PartnerKeys, type RedisKeyLayout, redisKeyLayout } from './keys.js';
import { fromV1, type V1Layout, v1Layout, v1Message } from './legacy.js';
import { type RedisStoreErrorHandler, rateLimitedReporter } from './report.js';
import {
  MARK_CLEARED,
  PEEK,
  READ,
  RELEASE_LOCK,
  REVOKE_USER,
  runScript,
  SET_SESSION,
} from './scripts.js';

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
   * `storeTimeoutMs`, not one per request. Default 1000 (the issuer's
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
}

/** A `KsSharedStore` on Redis, for `createKsIssuer({ store })`. */
export interface RedisStore extends KsSharedStore {
  /**
   * Resolves once both connections are up and subscribed (it rejects if the
   * store is closed first). Awaiting it is optional: until then, and whenever
   * Redis is away, calls fail fast and the issuer mints on its own.
   */
  readonly ready: Promise<void>;
  /** Stops waiting, unsubscribes, and closes the connections the store opened. */
  close(): Promise<void>;
}

/** A fence: the revocation count and Redis's clock (ms) at the read. */
const FENCE = /^(\d+):(\d+)$/;
const CLOSE_GRACE_MS = 1_000;
/**
 * How long a revocation waits for a replica to acknowledge it (`WAIT`), when
 * the node has replicas; without an acknowledgement it is not confirmed (the
 * issuer retries). WAIT holds the connection, so this stays well under
 * `failFastAfterMs`.
 */
const REPLICA_ACK_TIMEOUT_MS = 500;

function option(message: string): KsError {
  return new KsError('ERR_KS_INVALID_OPTION', message);
}

function closedError(): KsError {
  return new KsError('ERR_KS_UNAVAILABLE', 'The Redis store was closed');
}

function positiveMs(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw option(`${name} must be a positive number of milliseconds`);
  return value;
}

/** Reconnection delay: 50 ms doubling to the cap, each drawn from its upper half (jitter). */
function reconnectDelay(retries: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, 50 * 2 ** Math.min(retries, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

interface Waiter {
  notified: boolean;
  resume: (() => void) | undefined;
}

interface Subscription {
  partnerId: number;
  listener: (userId: string | null) => void;
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
}: RedisStoreOptions = {}): RedisStore {
  if ((url === undefined) === (client === undefined))
    throw option('createRedisStore needs exactly one of url or client');
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
    throw option('url must be a redis:// or rediss:// URL');
  if (client !== undefined && typeof client?.sendCommand !== 'function')
    throw option(
      'client must be a node-redis client (createClient() or createCluster() from redis)',
    );
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}]/.test(keyPrefix))
    throw option('keyPrefix must be a non-empty string without "{" or "}"');
  positiveMs(pollIntervalMs, 'pollIntervalMs');
  positiveMs(reconnectMaxDelayMs, 'reconnectMaxDelayMs');
  positiveMs(errorReportIntervalMs, 'errorReportIntervalMs');
  positiveMs(failFastAfterMs, 'failFastAfterMs');
  if (reconnectAfterMs !== false) positiveMs(reconnectAfterMs, 'reconnectAfterMs');
  positiveMs(revocationTtlMs, 'revocationTtlMs');
  if (onError !== undefined && typeof onError !== 'function')
    throw option('onError must be a function');
  if (typeof upgradeFromV1 !== 'boolean') throw option('upgradeFromV1 must be a boolean');
  if (upgradeFromV1 && client !== undefined && isCluster(client))
    throw option('upgradeFromV1 does not apply to a cluster client (0.1 never ran on a cluster)');

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
    report,
  });
}

interface StoreParts {
  layout: RedisKeyLayout;
  /** Layout 1 too, during a rolling upgrade from 0.1. */
  v1: V1Layout | undefined;
  commands: Commands;
  subscriber: Subscriber;
  /** Closes the commands connection, when the store opened it. */
  closeCommands: (() => Promise<void>) | undefined;
  /** Drops the commands connection and connects anew, when the store opened it (and may). */
  reconnectCommands: (() => void) | undefined;
  pollIntervalMs: number;
  ignoreMissedRevocations: boolean;
  failFastAfterMs: number;
  /** How long the breaker stays open before `reconnectCommands` (when there is one). */
  reconnectAfterMs: number;
  /** Whole milliseconds, as the scripts take it. */
  revocationTtlMs: string;
  report: (connection: 'commands' | 'subscriber', error: unknown, always?: boolean) => void;
}

class Store implements RedisStore {
  readonly ready: Promise<void>;
  readonly #layout: RedisKeyLayout;
  readonly #v1: V1Layout | undefined;
  readonly #commands: Commands;
  readonly #subscriber: Subscriber;
  readonly #closeCommands: (() => Promise<void>) | undefined;
  readonly #pollIntervalMs: number;
  readonly #ignoreMissedRevocations: boolean;
  readonly #revocationTtlMs: string;
  /** Every command goes through it: it fails fast while Redis leaves one unanswered. */
  readonly #send: CommandBreaker;
  /** Tags this store's revocation messages, so it does not hear its own. */
  readonly #instance = randomUUID();
  readonly #subscriptions = new Set<Subscription>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #stopListening: Array<() => void> = [];
  readonly #report: StoreParts['report'];
  #subscribed = false;
  #closed = false;
  #stopSubscribing: ((error: Error) => void) | undefined;

  constructor(parts: StoreParts) {
    this.#layout = parts.layout;
    this.#v1 = parts.v1;
    this.#commands = parts.commands;
    this.#subscriber = parts.subscriber;
    this.#closeCommands = parts.closeCommands;
    this.#pollIntervalMs = parts.pollIntervalMs;
    this.#ignoreMissedRevocations = parts.ignoreMissedRevocations;
    this.#revocationTtlMs = parts.revocationTtlMs;
    this.#report = parts.report;
    this.#send = new CommandBreaker({
      send: parts.commands.send,
      failFastAfterMs: parts.failFastAfterMs,
      reconnect: parts.reconnectCommands,
      reconnectAfterMs: parts.reconnectAfterMs,
      report: (error, always) => this.#report('commands', error, always),
    });

    // An `error` event without a listener would crash the process: always listen (on a
    // connection the store opened, even after close()).
    const stopErrors = this.#commands.onError((error) => this.#report('commands', error));
    if (this.#closeCommands === undefined) this.#stopListening.push(stopErrors);
    this.#subscriber.onError((error) => this.#report('subscriber', error));
    this.#stopListening.push(
      this.#subscriber.onReady(() => {
        // node-redis has subscribed again before `ready`: whatever was published while the
        // subscription was down is lost, so the local tiers may hold revoked sessions.
        if (this.#subscribed && !this.#ignoreMissedRevocations && !this.#closed)
          this.#notifyAll(null);
      }),
    );

    const commandsUp = this.#commands.isReady
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const stop = this.#commands.onReady(() => {
            stop();
            resolve();
          });
          this.#stopListening.push(stop);
        });
    this.ready = Promise.all([commandsUp, this.#subscribe()]).then(() => {
      if (this.#closed) throw closedError();
    });
    // Nobody has to await `ready`: never let it become an unhandled rejection.
    this.ready.catch(() => {});
  }

  /**
   * Subscribes once connected. A SUBSCRIBE cut off by a disconnection is not
   * remembered by node-redis, so it is tried again on every `ready` until it
   * succeeds; from then on node-redis resubscribes by itself.
   */
  #subscribe(): Promise<void> {
    const channels = [this.#layout.revokeChannel, this.#layout.mintedChannel];
    if (this.#v1 !== undefined) channels.push(this.#v1.revokeChannel);
    const listener = (message: string, channel: string) => this.#onMessage(message, channel);
    return new Promise<void>((resolve, reject) => {
      this.#stopSubscribing = reject;
      let stop: () => void = () => {};
      const attempt = () => {
        if (this.#closed || this.#subscribed) return;
        this.#subscriber.subscribe(channels, listener).then(
          () => {
            if (this.#subscribed) return;
            this.#subscribed = true;
            stop();
            resolve();
          },
          (error: unknown) => {
            if (!this.#closed) this.#report('subscriber', error);
          },
        );
      };
      stop = this.#subscriber.onReady(attempt);
      this.#subscriber.connect().then(attempt, reject);
    });
  }

  #keys(key: KsStoreKey): { partner: PartnerKeys; hash: string } {
    return { partner: this.#layout.partner(key.partnerId), hash: this.#layout.hash(key.id) };
  }

  async get(key: KsStoreKey): Promise<KsSharedRead> {
    const { partner, hash } = this.#keys(key);
    const reply = await runScript(
      this.#send,
      READ,
      [partner.session(hash), partner.revocations],
      [],
    );
    const [raw, count, ms] = Array.isArray(reply) ? reply : [];
    const fence = `${String(count)}:${String(ms)}`;
    if (!FENCE.test(fence)) throw new Error('Unexpected reply to a read');
    return { session: decodeSession(raw), fence };
  }

  async set(key: KsStoreKey, session: KsSession, ttlMs: number, fence: string): Promise<boolean> {
    const ttl = Math.ceil(ttlMs);
    if (!(ttl > 0)) return true;
    // Not a fence this store gave: it cannot tell what was revoked since.
    const [, count, readAt] = FENCE.exec(fence) ?? [];
    if (count === undefined || readAt === undefined) return false;
    const { partner, hash } = this.#keys(key);
    const written = await runScript(
      this.#send,
      SET_SESSION,
      [
        partner.session(hash),
        partner.user(key.userId),
        partner.revocations,
        partner.revoked(key.userId),
        partner.cleared,
      ],
      [
        encodeSession(session),
        String(ttl),
        hash,
        this.#layout.mintedChannel,
        count,
        readAt,
        this.#revocationTtlMs,
      ],
    );
    return Number(written) === 1;
  }

  async lock(key: KsStoreKey, ttlMs: number): Promise<KsLockRelease | undefined> {
    const { partner, hash } = this.#keys(key);
    const lockKey = partner.lock(hash);
    const token = randomBytes(16).toString('base64url');
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    const reply = await this.#send.sendCommand(['SET', lockKey, token, 'NX', 'PX', ttl], lockKey);
    if (reply !== 'OK') return undefined;
    let released: Promise<void> | undefined;
    return () => {
      released ??= runScript(
        this.#send,
        RELEASE_LOCK,
        [lockKey],
        [token, this.#layout.mintedChannel, hash],
      ).then(() => {});
      return released;
    };
  }

  /**
   * Waits for another instance's mint of `key`: woken by its notification,
   * re-reading with a backoff in case one is lost. Stops early, with
   * `undefined`, once nobody holds the key's lock and no acceptable session is
   * there: the holder crashed (its lock expired) or its mint failed — there is
   * nothing left to wait for. A Redis failure rejects, so the issuer goes on alone.
   */
  async waitFor(
    key: KsStoreKey,
    accept: (session: KsSession) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<KsSession | undefined> {
    const { partner, hash } = this.#keys(key);
    const deadline = performance.now() + timeoutMs;
    const waiter: Waiter = { notified: false, resume: undefined };
    const set = this.#waiters.get(hash) ?? new Set<Waiter>();
    set.add(waiter);
    this.#waiters.set(hash, set);
    let interval = Math.max(1, this.#pollIntervalMs / 10);
    try {
      for (;;) {
        waiter.notified = false;
        const reply = await runScript(
          this.#send,
          PEEK,
          [partner.session(hash), partner.lock(hash)],
          [],
        );
        const [raw, locked] = Array.isArray(reply) ? reply : [];
        const session = decodeSession(raw);
        if (session !== undefined && accept(session)) return session;
        if (Number(locked) !== 1) return undefined;
        const left = deadline - performance.now();
        if (left <= 0 || signal.aborted || this.#closed) return undefined;
        await this.#pause(waiter, Math.min(interval, left), signal);
        if (signal.aborted || this.#closed) return undefined;
        interval = Math.min(interval * 2, this.#pollIntervalMs);
      }
    } finally {
      set.delete(waiter);
      if (set.size === 0 && this.#waiters.get(hash) === set) this.#waiters.delete(hash);
    }
  }

  /** Resolves after `ms`, or at once when the key is notified, the signal aborts or the store closes. */
  #pause(waiter: Waiter, ms: number, signal: AbortSignal): Promise<void> {
    if (waiter.notified) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiter.resume = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      signal.addEventListener('abort', done, { once: true });
      waiter.resume = done;
    });
  }

  #wake(hash: string | undefined): void {
    const sets = hash === undefined ? [...this.#waiters.values()] : [this.#waiters.get(hash)];
    for (const set of sets) {
      for (const waiter of set ?? []) {
        waiter.notified = true;
        waiter.resume?.();
      }
    }
  }

  /**
   * Revokes in Redis (and, during an upgrade, in layout 1 too) and resolves
   * once Redis holds it — with a replica's acknowledgement when the node has
   * replicas, so a failover cannot undo it. Any failure rejects: the issuer
   * keeps the revocation pending and tries again.
   */
  async revoke(partnerId: number, userId: string | null): Promise<readonly KsSession[]> {
    const partner = this.#layout.partner(partnerId);
    const message = JSON.stringify({ from: this.#instance, partnerId, userId });
    let deleted: KsSession[] = [];
    let replicas: number;
    if (userId !== null) {
      const reply = await runScript(
        this.#send,
        REVOKE_USER,
        [partner.user(userId), partner.revocations, partner.revoked(userId)],
        [partner.sessionPrefix, this.#layout.revokeChannel, message, this.#revocationTtlMs],
      );
      const [count, values] = Array.isArray(reply) ? reply : [];
      if (!Array.isArray(values)) throw new Error('Unexpected reply to a revocation');
      replicas = Number(count);
      deleted = values.map(decodeSession).filter((s): s is KsSession => s !== undefined);
    } else {
      replicas = await this.#clear(
        partner.revocations,
        partner.cleared,
        partner.patterns,
        this.#layout.revokeChannel,
        message,
      );
    }
    if (replicas > 0) await this.#replicated(partner.revocations);
    if (this.#v1 !== undefined) await this.#revokeV1(this.#v1, userId);
    return deleted;
  }

  /**
   * Revokes everything under one layout's keys: marks it first, so that no
   * write fenced before it lands once the keys below are gone, then deletes
   * every index and session by SCAN (never KEYS, which blocks Redis) on the
   * node of the partner's slot, then tells the fleet. Returns the node's
   * connected replicas.
   */
  async #clear(
    revocations: string,
    cleared: string,
    patterns: readonly string[],
    channel: string,
    message: string,
  ): Promise<number> {
    const replicas = Number(
      await runScript(this.#send, MARK_CLEARED, [revocations, cleared], [this.#revocationTtlMs]),
    );
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const reply = await this.#send.sendCommand(
          ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'],
          revocations,
        );
        const [next, found] = Array.isArray(reply) ? reply : [];
        if (!Array.isArray(found)) throw new Error('Unexpected SCAN reply');
        cursor = String(next);
        const names = found.map(String);
        if (names.length > 0) await this.#send.sendCommand(['UNLINK', ...names], revocations);
      } while (cursor !== '0');
    }
    await this.#send.sendCommand(['PUBLISH', channel, message], revocations);
    return replicas;
  }

  /** Waits for a replica of the node serving `key` to have every write made so far (WAIT). */
  async #replicated(key: string): Promise<void> {
    const acknowledged = await this.#send.sendCommand(
      ['WAIT', '1', String(REPLICA_ACK_TIMEOUT_MS)],
      key,
    );
    if (Number(acknowledged) < 1)
      throw new KsError(
        'ERR_KS_TIMEOUT',
        `No replica acknowledged the revocation within ${REPLICA_ACK_TIMEOUT_MS} ms`,
      );
  }

  /** The same revocation in layout 1, for instances still on 0.1 (rolling upgrade). */
  async #revokeV1(v1: V1Layout, userId: string | null): Promise<void> {
    const message = v1Message(this.#instance, userId);
    if (userId === null) {
      await this.#clear(v1.revocations, v1.cleared, v1.patterns, v1.revokeChannel, message);
      return;
    }
    await runScript(
      this.#send,
      REVOKE_USER,
      [v1.user(userId), v1.revocations, v1.revoked(userId)],
      [v1.sessionPrefix, v1.revokeChannel, message, this.#revocationTtlMs],
    );
  }

  onRevoke(partnerId: number, listener: (userId: string | null) => void): () => void {
    const subscription: Subscription = { partnerId, listener };
    this.#subscriptions.add(subscription);
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  #notify(partnerId: number | undefined, userId: string | null): void {
    for (const subscription of [...this.#subscriptions]) {
      if (partnerId !== undefined && subscription.partnerId !== partnerId) continue;
      try {
        subscription.listener(userId);
      } catch {
        // One failing listener must not keep the others from hearing it.
      }
    }
  }

  /** Every issuer of every partner, for what may concern all of them. */
  #notifyAll(userId: string | null): void {
    this.#notify(undefined, userId);
  }

  #onMessage(message: string, channel: string): void {
    if (channel === this.#layout.mintedChannel) {
      this.#wake(message);
      return;
    }
    if (this.#v1 !== undefined && channel === this.#v1.revokeChannel) {
      this.#onV1Revocation(message);
      return;
    }
    if (channel !== this.#layout.revokeChannel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const { from, partnerId, userId } = parsed as Record<string, unknown>;
    if (typeof from !== 'string' || !Number.isSafeInteger(partnerId)) return;
    if (!(typeof userId === 'string' || userId === null)) return;
    // A store's own revocations are applied by its issuer directly; tell only the others.
    if (from === this.#instance) return;
    this.#notify(partnerId as number, userId);
  }

  /**
   * A revocation by an instance still on 0.1 (whose prefix was its partner's):
   * applied to this layout's keys of every partner this store serves, then to
   * the issuers here. Every upgraded instance does it; revoking twice is harmless.
   */
  #onV1Revocation(message: string): void {
    const heard = fromV1(message);
    if (heard === undefined || this.#closed) return;
    const partners = new Set([...this.#subscriptions].map((s) => s.partnerId));
    for (const partnerId of partners) {
      this.revoke(partnerId, heard.userId).catch((error: unknown) =>
        this.#report('commands', error),
      );
    }
    this.#notifyAll(heard.userId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#send.close();
    this.#subscriptions.clear();
    this.#wake(undefined);
    this.#stopSubscribing?.(closedError());
    for (const stop of this.#stopListening.splice(0)) stop();
    this.#subscriber.destroy();
    await this.#closeCommands?.();
  }
}
