/**
 * Revocations on their way to the shared store. A revocation the store has
 * not confirmed is never dropped: it is retried with back-off until the store
 * confirms it, and until then a tombstone makes this instance refuse every
 * shared session of the user (or, for everything, of any user) issued before
 * it — so neither this instance nor the store's stale copy can bring a
 * revoked KS back.
 */

import { backoffDelay } from '../backoff.js';
import type { Clock } from '../clock.js';
import type { KsRevokeReach, KsSession } from './types.js';

/** Retries start this soon after a failure (ms), doubling, with jitter… */
export const REVOKE_RETRY_BASE_MS = 250;
/** …up to this (ms): once the store is back, a pending revocation lands within it. */
export const REVOKE_RETRY_MAX_MS = 5_000;
/** Beyond this many users pending, the instance revokes everything instead (bounded memory). */
export const PENDING_REVOCATIONS_MAX = 10_000;

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
   * Sends one revocation to the store: the sessions it deleted once it
   * confirmed, `undefined` when it did not (the failure is reported by the caller).
   */
  send(userId: string | null): Promise<readonly KsSession[] | undefined>;
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
   */
  async submit(
    userId: string | null,
    endSession: boolean,
    endedHere: readonly string[] = [],
  ): Promise<RevocationOutcome> {
    const at = this.#options.now();
    const deleted = await this.#options.send(userId);
    if (deleted === undefined) {
      this.#keep(userId, at, endSession, endSession ? endedHere : []);
      return { reach: 'instance', deleted: [], endSession, ended: new Set() };
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
  ): void {
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
      const deleted = await this.#options.send(entry.userId);
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
