import { randomBytes, randomUUID } from 'node:crypto';
import { KsError } from '@kaltura-ks/core';
import type {
  KsHeardRevocation,
  KsLockRelease,
  KsPendingRevocation,
  KsSession,
  KsSharedRead,
  KsSharedStore,
  KsStoreKey,
} from '@kaltura-ks/core/issuer';
import { CommandBreaker } from './breaker.js';
import { decodeSession, encodeSession } from './codec.js';
import type { Commands, Subscriber } from './connection.js';
import type { PartnerKeys, RedisKeyLayout } from './keys.js';
import { fromV1, type V1Layout, v1Message } from './legacy.js';
import { replicated, revokeAll, revokeUser } from './revocation.js';
import { PEEK, READ, RELEASE_LOCK, runScript, SET_SESSION } from './scripts.js';

/** A `KsSharedStore` on Redis, for `createKsIssuer({ store })`. */
export interface RedisStore extends KsSharedStore {
  /**
   * Resolves once both connections are up and subscribed (it rejects if the
   * store is closed first). Awaiting it is optional: until then, and whenever
   * Redis is away, calls fail fast and the issuer mints on its own.
   */
  readonly ready: Promise<void>;
  /** PUBLISHes revocations Redis has not taken to the fleet (see `KsSharedStore.announce`). */
  announce(partnerId: number, revocations: readonly KsPendingRevocation[]): Promise<void>;
  /** Stops waiting, unsubscribes, and closes the connections the store opened. */
  close(): Promise<void>;
}

/** A fence: the revocation count and Redis's clock (ms) at the read. */
const FENCE = /^(\d+):(\d+)$/;
function closedError(): KsError {
  return new KsError('ERR_KS_UNAVAILABLE', 'The Redis store was closed');
}

interface Waiter {
  notified: boolean;
  resume: (() => void) | undefined;
}

interface Subscription {
  partnerId: number;
  listener: (userId: string | null, heard?: KsHeardRevocation) => void;
}

export interface StoreParts {
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
  /** How long after (re)subscribing sessions read from Redis are not served (ms). */
  catchUpMs: number;
  now: () => number;
  report: (connection: 'commands' | 'subscriber', error: unknown, always?: boolean) => void;
}

export class Store implements RedisStore {
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
  readonly #catchUpMs: number;
  readonly #now: () => number;
  /**
   * Sessions read from Redis are served from this time on (the store's
   * clock): once subscribed for `catchUpMs`, this store has heard every
   * revocation the fleet still announces (those Redis refused).
   */
  #servesFrom = Number.POSITIVE_INFINITY;
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
    this.#catchUpMs = parts.catchUpMs;
    this.#now = parts.now;
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
        if (!this.#subscribed || this.#closed) return;
        // node-redis has subscribed again before `ready`: whatever was published while the
        // subscription was down is lost — a revocation Redis confirmed (the local tiers may
        // hold its sessions), or one it refused (Redis may hold them): hear the announcements
        // again before serving what Redis holds.
        this.#servesFrom = this.#now() + this.#catchUpMs;
        if (!this.#ignoreMissedRevocations) this.#notifyAll(null);
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
            this.#servesFrom = this.#now() + this.#catchUpMs;
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

  /**
   * Whether a session read from Redis may be served: subscribed, still, and
   * for long enough to have heard the revocations Redis refused — those the
   * fleet keeps announcing every `ANNOUNCE_INTERVAL_MS` until Redis takes them.
   */
  #caughtUp(): boolean {
    return this.#subscriber.isReady() && this.#now() >= this.#servesFrom;
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
    if (!FENCE.test(fence))
      throw new KsError('ERR_KS_RESPONSE', 'Redis answered a read with an unexpected reply');
    // Not caught up: the fence is good (a write is still checked), the session is not served.
    return { session: this.#caughtUp() ? decodeSession(raw) : undefined, fence };
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
    // Not caught up: another instance's mint could not be told from a revoked KS; mint instead.
    if (!this.#caughtUp()) return undefined;
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
  async revoke(
    partnerId: number,
    userId: string | null,
    at?: number,
  ): Promise<readonly KsSession[]> {
    const partner = this.#layout.partner(partnerId);
    const message = JSON.stringify({
      from: this.#instance,
      partnerId,
      userId,
      ...(Number.isFinite(at) ? { at } : {}),
    });
    const ttlMs = this.#revocationTtlMs;
    const channel = this.#layout.revokeChannel;
    let deleted: KsSession[] = [];
    let replicas: number;
    if (userId !== null) {
      const revoked = await revokeUser(this.#send, {
        index: partner.user(userId),
        revocations: partner.revocations,
        mark: partner.revoked(userId),
        sessionPrefix: partner.sessionPrefix,
        channel,
        message,
        ttlMs,
      });
      replicas = revoked.replicas;
      deleted = revoked.values.map(decodeSession).filter((s): s is KsSession => s !== undefined);
    } else {
      const { revocations, cleared, patterns } = partner;
      replicas = await revokeAll(this.#send, {
        revocations,
        cleared,
        patterns,
        channel,
        message,
        ttlMs,
      });
    }
    if (replicas > 0) await replicated(this.#send, partner.revocations);
    if (this.#v1 !== undefined) await this.#revokeV1(this.#v1, userId);
    return deleted;
  }

  /** The same revocation in layout 1, for instances still on 0.1 (rolling upgrade). */
  async #revokeV1(v1: V1Layout, userId: string | null): Promise<void> {
    const message = v1Message(this.#instance, userId);
    const { revocations, revokeChannel: channel } = v1;
    const ttlMs = this.#revocationTtlMs;
    if (userId === null) {
      const { cleared, patterns } = v1;
      await revokeAll(this.#send, { revocations, cleared, patterns, channel, message, ttlMs });
      return;
    }
    await revokeUser(this.#send, {
      index: v1.user(userId),
      revocations,
      mark: v1.revoked(userId),
      sessionPrefix: v1.sessionPrefix,
      channel,
      message,
      ttlMs,
    });
  }

  /**
   * Announces revocations Redis refused or did not answer: PUBLISH only —
   * not a write, so Redis takes it out of memory (`noeviction`), on a
   * read-only replica, and under an ACL that forbids the scripts but allows
   * the channel. One message per revocation, in layout 2 only (0.1 instances
   * hear a revocation once Redis takes it).
   */
  async announce(partnerId: number, revocations: readonly KsPendingRevocation[]): Promise<void> {
    const { revocations: key } = this.#layout.partner(partnerId);
    const channel = this.#layout.revokeChannel;
    await Promise.all(
      revocations.map(({ userId, at }) =>
        this.#send.sendCommand(
          [
            'PUBLISH',
            channel,
            JSON.stringify({ from: this.#instance, partnerId, userId, at, pending: true }),
          ],
          key,
        ),
      ),
    );
  }

  onRevoke(
    partnerId: number,
    listener: (userId: string | null, heard?: KsHeardRevocation) => void,
  ): () => void {
    const subscription: Subscription = { partnerId, listener };
    this.#subscriptions.add(subscription);
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  #notify(partnerId: number | undefined, userId: string | null, heard?: KsHeardRevocation): void {
    for (const subscription of [...this.#subscriptions]) {
      if (partnerId !== undefined && subscription.partnerId !== partnerId) continue;
      try {
        subscription.listener(userId, heard);
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
    const { from, partnerId, userId, at, pending } = parsed as Record<string, unknown>;
    if (typeof from !== 'string' || !Number.isSafeInteger(partnerId)) return;
    if (!(typeof userId === 'string' || userId === null)) return;
    // A store's own revocations are applied by its issuer directly; tell only the others.
    if (from === this.#instance) return;
    // Without a time (an instance on the previous version): a revocation, as ever.
    const heard =
      typeof at === 'number' && Number.isFinite(at)
        ? { at, confirmed: pending !== true, from }
        : undefined;
    this.#notify(partnerId as number, userId, heard);
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
