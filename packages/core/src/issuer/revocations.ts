/**
 * Revocations on their way to the shared store. A revocation the store has
 * not confirmed is never dropped: it is retried with back-off until the store
 * confirms it, and until then a tombstone makes this instance refuse every
 * shared session of the user (or, for everything, of any user) issued before
 * it — so neither this instance nor the store's stale copy can bring a
 * revoked KS back. Meanwhile it is announced to the rest of the fleet (a
 * broadcast is not a write: Redis takes it while it refuses writes) at once
 * and every `ANNOUNCE_INTERVAL_MS`, and every instance that hears it keeps
 * the same tombstone (`HeardRevocations`) until the store confirms it.
 */

import { backoffDelay } from '../backoff.js';
import type { Clock } from '../clock.js';
import type { KsHeardRevocation, KsPendingRevocation } from './store.js';
import type { KsRevokeReach, KsSession } from './types.js';

/** Retries start this soon after a failure (ms), doubling, with jitter… */
export const REVOKE_RETRY_BASE_MS = 250;
/** …up to this (ms): once the store is back, a pending revocation lands within it. */
export const REVOKE_RETRY_MAX_MS = 5_000;
/** Beyond this many users pending, the instance revokes everything instead (bounded memory). */
export const PENDING_REVOCATIONS_MAX = 10_000;
/**
 * Every pending revocation is announced to the fleet again this often (ms),
 * whatever the retries' back-off: an instance that has listened this long
 * (plus delivery) has heard every revocation the store has not confirmed.
 */
export const ANNOUNCE_INTERVAL_MS = 1_000;
/** Beyond this many users heard of, an instance refuses everything issued before the latest instead. */
export const HEARD_REVOCATIONS_MAX = 10_000;

interface Pending {
  userId: string | null;
  /** When the latest revocation of this entry was made, on this instance's clock. */
  at: number;
  attempts: number;
  /** Ask the store again after this (epoch ms). */
  retryAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  inFlight: Promise<void> | undefined;
  /** End the sessions the store returns at Kaltura (`revoke(…, { endSession: true })`)… */
  endSession: boolean;
  /** …but these (KSs) once only: this instance ended them when it was asked. */
  ended: Set<string>;
}

export interface RevocationOutcome {
  reach: KsRevokeReach;
  /** The sessions the store deleted (none while it has not confirmed). */
  deleted: readonly KsSession[];
  /** Whether to end them: asked now, or by an earlier revocation of the user this one settled. */
  endSession: boolean;
  /** KSs already ended by an earlier revocation of the user this one settled: not to end again. */
  ended: ReadonlySet<string>;
}

export interface PendingRevocationsOptions {
  now: Clock;
  random: () => number;
  /**
   * Sends one revocation (made at `at`) to the store: the sessions it deleted
   * once it confirmed, `undefined` when it did not (the failure is reported by the caller).
   */
  send(userId: string | null, at: number): Promise<readonly KsSession[] | undefined>;
  /** Tells the fleet of revocations the store has not confirmed (bounded, never rejects). */
  announce(pending: readonly KsPendingRevocation[]): Promise<void>;
  /**
   * A pending revocation was confirmed on its `attempts`-th retry: end the
   * sessions it deleted if asked, but not those in `ended` (ended already).
   */
  onConfirmed(
    userId: string | null,
    deleted: readonly KsSession[],
    endSession: boolean,
    ended: ReadonlySet<string>,
    attempts: number,
  ): Promise<void>;
  /** A try failed; the next one is at `retryAt`. */
  onPending(userId: string | null, attempts: number, retryAt: number): void;
}

export class PendingRevocations {
  readonly #options: PendingRevocationsOptions;
  readonly #users = new Map<string, Pending>();
  #all: Pending | undefined;
  #closed = false;
  /** Announces every pending revocation again, while there is one. */
  #announcer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PendingRevocationsOptions) {
    this.#options = options;
  }

  /** How many revocations the store has not confirmed yet (everything counts as one). */
  get size(): number {
    return this.#users.size + (this.#all === undefined ? 0 : 1);
  }

  /**
   * Sends a revocation to the store now. When the store confirms it, resolves
   * with what it deleted and `reach: 'fleet'`; otherwise the revocation stays
   * pending (tombstone and retries) and `reach` is `'instance'`. `endedHere`:
   * the KSs the caller ends itself (with `endSession`), never ended again.
   * `endIfUnconfirmed`: end the sessions (as `endSession` does) if the store
   * does not confirm now.
   */
  async submit(
    userId: string | null,
    endSession: boolean,
    endedHere: readonly string[] = [],
    endIfUnconfirmed = false,
  ): Promise<RevocationOutcome> {
    const at = this.#options.now();
    const deleted = await this.#options.send(userId, at);
    if (deleted === undefined) {
      const ending = endSession || endIfUnconfirmed;
      const kept = this.#keep(userId, at, ending, ending ? endedHere : []);
      // Out to the fleet before `revoke` resolves, where the store still broadcasts.
      await this.#options.announce([{ userId: kept.userId, at: kept.at }]);
      return { reach: 'instance', deleted: [], endSession: ending, ended: new Set() };
    }
    // The store now holds a revocation of everything of the user up to `at`: an older pending
    // one is covered, and its sessions to end are among those deleted here.
    const pending = this.#entry(userId);
    if (pending === undefined || pending.at > at)
      return { reach: 'fleet', deleted, endSession, ended: new Set() };
    this.#forget(pending);
    return {
      reach: 'fleet',
      deleted,
      endSession: endSession || pending.endSession,
      ended: pending.ended,
    };
  }

  /**
   * Whether a shared session of `userId` must be refused: it was issued before
   * a revocation of the user (or of everything) that the store has not confirmed.
   */
  refuses(session: KsSession, userId: string): boolean {
    if (this.#all !== undefined && session.issuedAt <= this.#all.at) return true;
    const pending = this.#users.get(userId);
    return pending !== undefined && session.issuedAt <= pending.at;
  }

  /** Tries every pending revocation once more (each store call is bounded), then stops retrying. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#announcer);
    this.#announcer = undefined;
    const entries = [...this.#users.values(), ...(this.#all === undefined ? [] : [this.#all])];
    for (const entry of entries) clearTimeout(entry.timer);
    await Promise.all(entries.map((entry) => entry.inFlight ?? this.#attempt(entry)));
  }

  #entry(userId: string | null): Pending | undefined {
    return userId === null ? this.#all : this.#users.get(userId);
  }

  #keep(
    userId: string | null,
    at: number,
    endSession: boolean,
    endedHere: readonly string[],
  ): Pending {
    if (userId !== null && this.#users.size >= PENDING_REVOCATIONS_MAX && !this.#users.has(userId))
      userId = null; // too many users pending: revoke everything instead
    let entry = this.#entry(userId);
    if (entry === undefined) {
      entry = {
        userId,
        at,
        attempts: 0,
        retryAt: 0,
        timer: undefined,
        inFlight: undefined,
        endSession,
        ended: new Set(endedHere),
      };
      if (userId === null) this.#all = entry;
      else this.#users.set(userId, entry);
    } else {
      entry.at = Math.max(entry.at, at);
      entry.endSession ||= endSession;
      for (const ks of endedHere) entry.ended.add(ks);
    }
    this.#schedule(entry);
    if (this.#announcer === undefined && !this.#closed) {
      this.#announcer = setInterval(() => this.#announceAll(), ANNOUNCE_INTERVAL_MS);
      this.#announcer.unref?.();
    }
    return entry;
  }

  /** Every pending revocation, once more, to the fleet; stops once none is left. */
  #announceAll(): void {
    const entries = [...this.#users.values(), ...(this.#all === undefined ? [] : [this.#all])];
    if (entries.length === 0 || this.#closed) {
      clearInterval(this.#announcer);
      this.#announcer = undefined;
      return;
    }
    void this.#options.announce(entries.map(({ userId, at }) => ({ userId, at })));
  }

  /** Plans the next try (none while one is on its way: it schedules the next itself). */
  #schedule(entry: Pending): void {
    if (this.#closed || entry.inFlight !== undefined || entry.timer !== undefined) return;
    entry.attempts++;
    const delay = backoffDelay(
      entry.attempts,
      REVOKE_RETRY_BASE_MS,
      REVOKE_RETRY_MAX_MS,
      this.#options.random,
    );
    entry.retryAt = this.#options.now() + delay;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.#attempt(entry);
    }, delay);
    entry.timer.unref?.();
    this.#options.onPending(entry.userId, entry.attempts, entry.retryAt);
  }

  #attempt(entry: Pending): Promise<void> {
    const attempt = (async () => {
      const at = entry.at;
      const deleted = await this.#options.send(entry.userId, at);
      entry.inFlight = undefined;
      if (this.#entry(entry.userId) !== entry) return; // settled meanwhile by a newer revocation
      if (deleted === undefined) {
        this.#schedule(entry);
        return;
      }
      // Revoked again while this try was on its way, and that one failed: it is not covered.
      if (entry.at > at) {
        if (!this.#closed) void this.#attempt(entry);
        return;
      }
      this.#forget(entry);
      await this.#options.onConfirmed(
        entry.userId,
        deleted,
        entry.endSession,
        entry.ended,
        entry.attempts,
      );
    })();
    entry.inFlight = attempt;
    return attempt;
  }

  #forget(entry: Pending): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (this.#entry(entry.userId) !== entry) return;
    if (entry.userId === null) this.#all = undefined;
    else this.#users.delete(entry.userId);
  }
}

/**
 * Revocations other instances announced that the store has not confirmed:
 * a tombstone per user (or for everything) and per revoking instance, which
 * refuses every shared session issued before it, until that instance's
 * confirmation is heard or the tombstone outlives the longest KS this issuer
 * reads from the store (everything issued before it has expired by then).
 */
export class HeardRevocations {
  readonly #now: Clock;
  readonly #lifetimeMs: number;
  /** userId → revoking instance → when. */
  readonly #users = new Map<string, Map<string, number>>();
  /** Revoking instance → when it revoked everything (or too many users to keep apart). */
  readonly #all = new Map<string, number>();

  constructor(now: Clock, lifetimeMs: number) {
    this.#now = now;
    this.#lifetimeMs = lifetimeMs;
  }

  get size(): number {
    return this.#users.size + this.#all.size;
  }

  /**
   * Takes in what another instance said. Resolves `true` when this instance
   * must drop its local copies: a confirmation (as ever), or an announcement
   * newer than any heard from that instance for that user — not a repeat of
   * one already applied, so local KSs minted since are kept.
   */
  hear(userId: string | null, heard: KsHeardRevocation): boolean {
    const { from, confirmed } = heard;
    const at = Number.isFinite(heard.at) ? heard.at : this.#now();
    if (confirmed) {
      this.#settle(from, userId, at);
      return true;
    }
    if (at + this.#lifetimeMs <= this.#now()) return false; // whatever it revoked has expired
    let byFrom: Map<string, number>;
    if (userId === null) byFrom = this.#all;
    else {
      const known = this.#users.get(userId);
      if (known === undefined && this.#users.size >= HEARD_REVOCATIONS_MAX) {
        this.#prune();
        if (this.#users.size >= HEARD_REVOCATIONS_MAX) return this.hear(null, heard);
      }
      byFrom = known ?? new Map();
      this.#users.set(userId, byFrom);
    }
    const before = byFrom.get(from);
    if (before !== undefined && before >= at) return false;
    byFrom.set(from, at);
    return true;
  }

  /** Whether a shared session of `userId` predates an unconfirmed revocation heard of. */
  refuses(session: KsSession, userId: string): boolean {
    if (this.size === 0) return false;
    const now = this.#now();
    for (const table of [this.#all, this.#users.get(userId)]) {
      for (const [from, at] of table ?? []) {
        if (at + this.#lifetimeMs <= now) table?.delete(from);
        else if (session.issuedAt <= at) return true;
      }
    }
    if (this.#users.get(userId)?.size === 0) this.#users.delete(userId);
    return false;
  }

  /** `from` confirmed a revocation of `userId` (or everything) made at `at`: its older ones are settled. */
  #settle(from: string, userId: string | null, at: number): void {
    const settle = (table: Map<string, number> | undefined) => {
      const when = table?.get(from);
      if (when !== undefined && when <= at) table?.delete(from);
    };
    if (userId !== null) {
      const table = this.#users.get(userId);
      settle(table);
      if (table?.size === 0) this.#users.delete(userId);
      return;
    }
    settle(this.#all);
    for (const [user, table] of this.#users) {
      settle(table);
      if (table.size === 0) this.#users.delete(user);
    }
  }

  #prune(): void {
    const now = this.#now();
    for (const [user, table] of this.#users) {
      for (const [from, at] of table) if (at + this.#lifetimeMs <= now) table.delete(from);
      if (table.size === 0) this.#users.delete(user);
    }
  }
}
