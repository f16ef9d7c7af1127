import { randomBytes, randomUUID } from 'node:crypto';
import { KsError } from '@kaltura-ks/core';
import type {
  KsLockRelease,
  KsSession,
  KsSharedRead,
  KsSharedStore,
} from '@kaltura-ks/core/issuer';
import { createClient } from 'redis';
import { decodeSession, encodeSession } from './codec.js';
import { type RedisKeyLayout, redisKeyLayout } from './keys.js';
import { type RedisStoreErrorHandler, rateLimitedReporter } from './report.js';
import {
  type CommandSender,
  MARK_CLEARED,
  PEEK,
  READ,
  RELEASE_LOCK,
  REVOKE_USER,
  runScript,
  SET_SESSION,
} from './scripts.js';

type Listener<A extends unknown[]> = (...args: A) => void;

/** The connection the store subscribes with (`client.duplicate()`). */
export interface RedisSubscriberClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  subscribe(
    channels: string[],
    listener: (message: string, channel: string) => unknown,
  ): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'ready', listener: Listener<[]>): unknown;
  off(event: 'ready', listener: Listener<[]>): unknown;
}

/**
 * A node-redis client (`createClient()` from `redis`) that you create, connect
 * and close yourself. Prefer `disableOfflineQueue: true` on it, so commands
 * fail at once while Redis is away instead of queueing until the issuer's
 * `storeTimeoutMs` gives up on them.
 */
export interface RedisStoreClient extends CommandSender {
  readonly isReady: boolean;
  duplicate(): RedisSubscriberClient;
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'ready', listener: Listener<[]>): unknown;
  off(event: 'error', listener: Listener<[Error]>): unknown;
  off(event: 'ready', listener: Listener<[]>): unknown;
}

export interface RedisStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`: the store creates, connects and closes its own clients. */
  url?: string;
  /** Or a client of yours (TLS options, a credentials provider...). The store never closes nor reconnects it; it closes its own `duplicate()` used to subscribe. */
  client?: RedisStoreClient;
  /** Namespace of every key and channel. Default `kaltura-ks:`. Give each partner (and each environment) sharing a Redis its own. */
  keyPrefix?: string;
  /** A waiter re-reads the key at least this often (ms), in case a notification was lost; it starts at a tenth of it. Default 200. */
  pollIntervalMs?: number;
  /** With `url`: the longest pause (ms) between reconnection attempts; they back off from 50 ms with jitter. Default 2000. */
  reconnectMaxDelayMs?: number;
  /**
   * By default, when the subscription comes back after being lost, the store
   * tells its issuer to drop its local tier (revocations may have been missed
   * meanwhile); the next requests are served from Redis. Set to keep it.
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

const PENDING_REVOCATIONS_MAX = 10_000;
/** A fence: the revocation count and Redis's clock (ms) at the read. */
const FENCE = /^(\d+):(\d+)$/;
const CLOSE_GRACE_MS = 1_000;

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

/**
 * Creates a Redis-backed store for a fleet of issuers: one KS cache, one mint
 * per key across the fleet, revocations broadcast to every instance.
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
}: RedisStoreOptions = {}): RedisStore {
  if ((url === undefined) === (client === undefined))
    throw option('createRedisStore needs exactly one of url or client');
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url)))
    throw option('url must be a redis:// or rediss:// URL');
  if (client !== undefined && typeof client?.sendCommand !== 'function')
    throw option('client must be a node-redis client (createClient() from redis)');
  if (typeof keyPrefix !== 'string' || keyPrefix === '')
    throw option('keyPrefix must be a non-empty string');
  positiveMs(pollIntervalMs, 'pollIntervalMs');
  positiveMs(reconnectMaxDelayMs, 'reconnectMaxDelayMs');
  positiveMs(errorReportIntervalMs, 'errorReportIntervalMs');
  positiveMs(failFastAfterMs, 'failFastAfterMs');
  if (reconnectAfterMs !== false) positiveMs(reconnectAfterMs, 'reconnectAfterMs');
  positiveMs(revocationTtlMs, 'revocationTtlMs');
  if (onError !== undefined && typeof onError !== 'function')
    throw option('onError must be a function');

  const report = rateLimitedReporter(onError, errorReportIntervalMs, Date.now);
  const keys = redisKeyLayout(keyPrefix);

  let commands: RedisStoreClient;
  let subscriber: RedisSubscriberClient;
  let closeCommands: (() => Promise<void>) | undefined;
  let reconnectCommands: (() => void) | undefined;
  if (url !== undefined) {
    const reconnectStrategy = (retries: number) => reconnectDelay(retries, reconnectMaxDelayMs);
    const own = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy } });
    commands = own;
    // The subscriber keeps its offline queue: SUBSCRIBE waits for the connection, and node-redis
    // subscribes again by itself after every reconnection.
    subscriber = own.duplicate({ disableOfflineQueue: false });
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
    commands = client as RedisStoreClient;
    subscriber = commands.duplicate();
  }
  return new Store({
    keys,
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
  keys: RedisKeyLayout;
  commands: RedisStoreClient;
  subscriber: RedisSubscriberClient;
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
  readonly #keys: RedisKeyLayout;
  readonly #commands: RedisStoreClient;
  readonly #subscriber: RedisSubscriberClient;
  readonly #closeCommands: (() => Promise<void>) | undefined;
  readonly #reconnectCommands: (() => void) | undefined;
  readonly #pollIntervalMs: number;
  readonly #ignoreMissedRevocations: boolean;
  readonly #failFastAfterMs: number;
  readonly #reconnectAfterMs: number;
  readonly #revocationTtlMs: string;
  /** When each command Redis has not answered yet was sent, oldest first. */
  readonly #unanswered = new Map<symbol, number>();
  /** The unanswered command that opened the breaker, if it is open. */
  #stalled: symbol | undefined;
  /** The timer that checks the oldest unanswered command at its deadline. */
  #watch: ReturnType<typeof setTimeout> | undefined;
  /** While the breaker is open: the timer that drops the connection after `reconnectAfterMs`. */
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  /** Every command goes through here (see `#sendCommand`). */
  readonly #send: CommandSender = { sendCommand: (args) => this.#sendCommand(args) };
  /** Tags this store's revocation messages, so it does not hear its own. */
  readonly #instance = randomUUID();
  readonly #listeners = new Set<(userId: string | null) => void>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Revocations that could not reach Redis: replayed once it is back. `null` is everything. */
  readonly #pendingRevocations = new Set<string | null>();
  readonly #onCommandsError = (error: Error) => this.#report('commands', error);
  readonly #onCommandsReady = () => {
    this.#commandsUp?.();
    void this.#replayRevocations();
  };
  #commandsUp: (() => void) | undefined;
  readonly #report: (
    connection: 'commands' | 'subscriber',
    error: unknown,
    always?: boolean,
  ) => void;
  #subscribed = false;
  #closed = false;
  #stopSubscribing: ((error: Error) => void) | undefined;

  constructor(parts: StoreParts) {
    this.#keys = parts.keys;
    this.#commands = parts.commands;
    this.#subscriber = parts.subscriber;
    this.#closeCommands = parts.closeCommands;
    this.#reconnectCommands = parts.reconnectCommands;
    this.#pollIntervalMs = parts.pollIntervalMs;
    this.#ignoreMissedRevocations = parts.ignoreMissedRevocations;
    this.#failFastAfterMs = parts.failFastAfterMs;
    this.#reconnectAfterMs = parts.reconnectAfterMs;
    this.#revocationTtlMs = parts.revocationTtlMs;
    this.#report = parts.report;

    // An `error` event without a listener would crash the process: always listen.
    this.#commands.on('error', this.#onCommandsError);
    this.#commands.on('ready', this.#onCommandsReady);
    this.#subscriber.on('error', (error) => this.#report('subscriber', error));
    this.#subscriber.on('ready', () => {
      // node-redis has subscribed again before `ready`: whatever was published while the
      // subscription was down is lost, so the local tiers may hold revoked sessions.
      if (this.#subscribed && !this.#ignoreMissedRevocations && !this.#closed) this.#notify(null);
    });

    const commandsUp = this.#commands.isReady
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.#commandsUp = resolve;
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
    return new Promise<void>((resolve, reject) => {
      this.#stopSubscribing = reject;
      const attempt = () => {
        if (this.#closed || this.#subscribed) return;
        this.#subscriber
          .subscribe([this.#keys.revokeChannel, this.#keys.mintedChannel], (message, channel) =>
            this.#onMessage(message, channel),
          )
          .then(
            () => {
              this.#subscribed = true;
              this.#subscriber.off('ready', attempt);
              resolve();
            },
            (error: unknown) => {
              if (!this.#closed) this.#report('subscriber', error);
            },
          );
      };
      this.#subscriber.on('ready', attempt);
      this.#subscriber.connect().catch(reject);
    });
  }

  /**
   * Sends a command, or fails at once while an earlier one has gone
   * unanswered for `failFastAfterMs`: Redis answers a connection's commands
   * in order, so this one would wait behind it anyway (a circuit breaker
   * whose probe is the command already in flight).
   */
  #sendCommand(args: readonly string[]): Promise<unknown> {
    if (this.#stalled !== undefined) {
      const error = new KsError(
        'ERR_KS_TIMEOUT',
        `Redis has left a command unanswered for over ${this.#failFastAfterMs} ms`,
      );
      this.#report('commands', error);
      return Promise.reject(error);
    }
    const id = Symbol();
    this.#unanswered.set(id, performance.now());
    const answered = () => {
      this.#unanswered.delete(id);
      if (this.#stalled === id) {
        this.#stalled = undefined;
        clearTimeout(this.#reconnect);
        this.#reconnect = undefined;
        this.#watchOldest();
      }
    };
    try {
      const reply = this.#commands.sendCommand(args);
      reply.then(answered, answered);
      this.#watchOldest();
      return reply;
    } catch (error) {
      answered();
      return Promise.reject(error);
    }
  }

  /**
   * Opens the breaker when the oldest unanswered command is still unanswered at
   * its deadline — judged by a timer and after the I/O waiting to be read, so a
   * busy event loop (whose answers sit unread in the socket) does not count as
   * a Redis that does not answer.
   */
  #watchOldest(): void {
    if (this.#watch !== undefined || this.#stalled !== undefined || this.#closed) return;
    const oldest = this.#unanswered.entries().next();
    if (oldest.done) return;
    const [id, sentAt] = oldest.value;
    const due = Math.max(0, sentAt + this.#failFastAfterMs - performance.now());
    this.#watch = setTimeout(() => {
      setImmediate(() => {
        this.#watch = undefined;
        if (this.#closed) return;
        if (this.#unanswered.has(id)) this.#open(id);
        else this.#watchOldest();
      });
    }, due);
    this.#watch.unref?.();
  }

  /**
   * Opens the breaker on `id`. If it is still open `reconnectAfterMs` later
   * (judged after the I/O waiting to be read, as above), Redis is not going to
   * answer on this connection — the path may have lost the reply, or the
   * server is wedged — while TCP keeps it up: the store drops the connection
   * it owns, which rejects the commands unanswered on it (and so closes the
   * breaker), and connects anew.
   */
  #open(id: symbol): void {
    this.#stalled = id;
    if (this.#reconnectCommands === undefined) return;
    const reconnect = this.#reconnectCommands;
    this.#reconnect = setTimeout(() => {
      setImmediate(() => {
        if (this.#closed || this.#stalled !== id) return;
        this.#reconnect = undefined;
        this.#report(
          'commands',
          new KsError(
            'ERR_KS_TIMEOUT',
            `Redis has left a command unanswered for over ${this.#failFastAfterMs + this.#reconnectAfterMs} ms with the connection up: reconnecting`,
          ),
          true,
        );
        reconnect();
      });
    }, this.#reconnectAfterMs);
    this.#reconnect.unref?.();
  }

  async get(key: string): Promise<KsSharedRead> {
    const reply = await runScript(
      this.#send,
      READ,
      [this.#keys.session(this.#keys.hash(key)), this.#keys.revocations],
      [],
    );
    const [raw, count, ms] = Array.isArray(reply) ? reply : [];
    const fence = `${String(count)}:${String(ms)}`;
    if (!FENCE.test(fence)) throw new Error('Unexpected reply to a read');
    return { session: decodeSession(raw), fence };
  }

  async set(
    key: string,
    session: KsSession,
    ttlMs: number,
    userId: string,
    fence: string,
  ): Promise<boolean> {
    const ttl = Math.ceil(ttlMs);
    if (!(ttl > 0)) return true;
    // Not a fence this store gave: it cannot tell what was revoked since.
    const [, count, readAt] = FENCE.exec(fence) ?? [];
    if (count === undefined || readAt === undefined) return false;
    const hash = this.#keys.hash(key);
    const written = await runScript(
      this.#send,
      SET_SESSION,
      [
        this.#keys.session(hash),
        this.#keys.user(userId),
        this.#keys.revocations,
        this.#keys.revoked(userId),
        this.#keys.cleared,
      ],
      [
        encodeSession(session),
        String(ttl),
        hash,
        this.#keys.mintedChannel,
        count,
        readAt,
        this.#revocationTtlMs,
      ],
    );
    return Number(written) === 1;
  }

  async lock(key: string, ttlMs: number): Promise<KsLockRelease | undefined> {
    const hash = this.#keys.hash(key);
    const lockKey = this.#keys.lock(hash);
    const token = randomBytes(16).toString('base64url');
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    const reply = await this.#send.sendCommand(['SET', lockKey, token, 'NX', 'PX', ttl]);
    if (reply !== 'OK') return undefined;
    let released: Promise<void> | undefined;
    return () => {
      released ??= runScript(
        this.#send,
        RELEASE_LOCK,
        [lockKey],
        [token, this.#keys.mintedChannel, hash],
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
    key: string,
    accept: (session: KsSession) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<KsSession | undefined> {
    const hash = this.#keys.hash(key);
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
          [this.#keys.session(hash), this.#keys.lock(hash)],
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

  async revoke(userId: string | null): Promise<void> {
    try {
      await this.#revokeInRedis(userId);
    } catch (error) {
      // Redis is away: the issuer has dropped its own copies; the others, and Redis, learn
      // of it when Redis is back.
      if (userId === null || this.#pendingRevocations.size >= PENDING_REVOCATIONS_MAX) {
        this.#pendingRevocations.clear();
        this.#pendingRevocations.add(null);
      } else if (!this.#pendingRevocations.has(null)) {
        this.#pendingRevocations.add(userId);
      }
      throw error;
    }
  }

  async #revokeInRedis(userId: string | null): Promise<void> {
    const message = JSON.stringify({ from: this.#instance, userId });
    if (userId !== null) {
      await runScript(
        this.#send,
        REVOKE_USER,
        [this.#keys.user(userId), this.#keys.revocations, this.#keys.revoked(userId)],
        [this.#keys.sessionPrefix, this.#keys.revokeChannel, message, this.#revocationTtlMs],
      );
      return;
    }
    // First the mark, so that no write fenced before it lands once the keys below are gone.
    await runScript(
      this.#send,
      MARK_CLEARED,
      [this.#keys.revocations, this.#keys.cleared],
      [this.#revocationTtlMs],
    );
    // Then everything under the prefix, by SCAN (never KEYS, which blocks Redis).
    for (const pattern of this.#keys.patterns) {
      let cursor = '0';
      do {
        const reply = await this.#send.sendCommand([
          'SCAN',
          cursor,
          'MATCH',
          pattern,
          'COUNT',
          '1000',
        ]);
        const [next, found] = Array.isArray(reply) ? reply : [];
        if (!Array.isArray(found)) throw new Error('Unexpected SCAN reply');
        cursor = String(next);
        const names = found.map(String);
        if (names.length > 0) await this.#send.sendCommand(['UNLINK', ...names]);
      } while (cursor !== '0');
    }
    await this.#send.sendCommand(['PUBLISH', this.#keys.revokeChannel, message]);
  }

  async #replayRevocations(): Promise<void> {
    for (const userId of [...this.#pendingRevocations]) {
      if (this.#closed) return;
      try {
        await this.#revokeInRedis(userId);
        this.#pendingRevocations.delete(userId);
      } catch (error) {
        this.#report('commands', error);
        return; // Kept for the next reconnection.
      }
    }
  }

  onRevoke(listener: (userId: string | null) => void): () => void {
    const wrapped = (userId: string | null) => listener(userId);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  #notify(userId: string | null): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(userId);
      } catch {
        // One failing listener must not keep the others from hearing it.
      }
    }
  }

  #onMessage(message: string, channel: string): void {
    if (channel === this.#keys.mintedChannel) {
      this.#wake(message);
      return;
    }
    if (channel !== this.#keys.revokeChannel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const { from, userId } = parsed as Record<string, unknown>;
    if (typeof from !== 'string' || !(typeof userId === 'string' || userId === null)) return;
    // A store's own revocations are applied by its issuer directly; tell only the others.
    if (from === this.#instance) return;
    this.#notify(userId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#watch);
    clearTimeout(this.#reconnect);
    this.#listeners.clear();
    this.#wake(undefined);
    this.#stopSubscribing?.(closedError());
    this.#commands.off('ready', this.#onCommandsReady);
    this.#subscriber.destroy();
    if (this.#closeCommands === undefined) this.#commands.off('error', this.#onCommandsError);
    else await this.#closeCommands();
  }
}
