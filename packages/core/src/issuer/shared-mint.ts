/**
 * The protocol with the other instances of a fleet, through the shared
 * store: take another instance's fresh KS; otherwise take the fleet-wide
 * lock and mint, or wait for the holder's mint (taking the lock over when the
 * holder crashed); write the KS fenced, so that a revocation that reached the
 * store first is never undone. Every store call is bounded and reported, and
 * a store that fails or is slow never fails a request: the issuer mints alone.
 */
import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { invalidOption } from '../options.js';
import type { KeyedRequest } from './cache-key.js';
import { type FreshnessPolicy, freshness } from './policy.js';
import { type SharedSessionCheck, sharedSessionMismatch } from './session-match.js';
import type { KsLockRelease, KsSharedRead, KsSharedStore, KsStoreKey } from './store.js';
import type { KsIssuerEvent, KsSession } from './types.js';

/**
 * What a store call that failed (or timed out) resolves to, after it was
 * reported as a `store-error`: a value no store call can return, so that
 * `undefined` keeps its meaning (no session, lock not acquired).
 */
export const FAILED = Symbol('store call failed');

/**
 * Where a mint stands with the fleet-wide lock:
 * - a release function: this instance holds the lock, and lets go once the KS is written;
 * - `undefined`: nobody's lock (the holder never delivered, or the store said no lock
 *   is needed): mint, and write the KS, fenced, as usual;
 * - `FAILED`: the store failed: mint alone, and write nothing (the store is down or slow).
 */
type LockState = KsLockRelease | undefined | typeof FAILED;

/** How many times a waiter may wait for a holder that took the lock over from another. */
const WAIT_ROUNDS_MAX = 3;

/** What of a flight the protocol reads and writes. */
export interface SharedFlight {
  readonly controller: AbortController;
  /** Set once the KS must not be kept: revoked meanwhile, here or (a refused write) in the store. */
  discarded: boolean;
}

export interface SharedMintOptions {
  store: KsSharedStore;
  now: Clock;
  policy: FreshnessPolicy;
  storeTimeoutMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
  /** How a session from the store is checked against the request. */
  check: SharedSessionCheck;
  /** Whether a revocation of the user that the store has not confirmed yet predates `session`. */
  refuses: (session: KsSession, userId: string) => boolean;
  emit: (event: () => KsIssuerEvent) => void;
  /** Whether anyone listens to events (a store call is timed only then). */
  listening: boolean;
}

export class SharedMint {
  readonly #options: SharedMintOptions;
  /** Locks this instance holds while it mints; let go when it closes. */
  readonly #held = new Set<KsLockRelease>();

  constructor(options: SharedMintOptions) {
    this.#options = options;
  }

  /**
   * Takes another instance's fresh KS if there is one; otherwise takes the
   * fleet-wide lock and mints (`mint`), or waits for the holder's mint.
   * Whenever the store fails or is slow, mints alone. `minted` tells whether
   * this instance's minter ran.
   */
  async obtain(
    request: KeyedRequest,
    flight: SharedFlight,
    mint: (signal: AbortSignal) => Promise<KsSession>,
  ): Promise<{ session: KsSession; minted: boolean }> {
    const { store, policy, lockTtlMs } = this.#options;
    const { storeKey: key, info } = request;
    const signal = flight.controller.signal;
    // What another instance left in the store is input: it must be fresh, be what was asked
    // for, and not predate a revocation of the user the store has not confirmed yet.
    const accept = (session: KsSession) =>
      freshness(session, this.#options.now(), policy) === 'fresh' && this.#usable(request, session);
    const sharedHit = (session: KsSession) => {
      this.#options.emit(() => ({ type: 'shared-hit', key: info }));
      return { session, minted: false };
    };
    const shared = await this.call('get', () => readShared(store, key));
    if (shared !== FAILED && shared.session !== undefined && accept(shared.session))
      return sharedHit(shared.session);
    // Where the fleet's revocations stood before this mint began: the store refuses the KS if
    // the user is revoked after it (taken from the latest read, so as close to the mint as can be).
    let fence = shared === FAILED ? undefined : shared.fence;
    let release: LockState = FAILED;
    if (shared !== FAILED) {
      release = await this.call('lock', () => store.lock(key, lockTtlMs));
      if (release === undefined) {
        // Another instance is minting this key: wait for its KS.
        const waited = await this.#waitForHolder(key, accept, signal);
        if ('session' in waited) return sharedHit(waited.session);
        release = waited.release;
      }
      if (typeof release === 'function') {
        // Double-check under the lock: the previous holder may have just finished.
        const again = await this.call('get', () => readShared(store, key));
        if (again !== FAILED) {
          fence = again.fence;
          if (again.session !== undefined && accept(again.session)) {
            const unlock = release;
            void this.call('unlock', () => unlock());
            return sharedHit(again.session);
          }
        }
      }
    }
    const held = typeof release === 'function' ? release : undefined;
    if (held !== undefined) this.#held.add(held);
    try {
      const session = await mint(signal);
      // Kept in the store only while this issuer would still hand it out, and never once the
      // user was revoked (or everything cleared) while it was being minted: neither when this
      // instance heard of it in time (`discarded`), nor when the revocation reached the store
      // first (the fence: the store refuses the write, and this instance does not keep it either).
      const ttl = session.expiresAt - policy.minRemainingMs - this.#options.now();
      const sealed = fence;
      if (ttl > 0 && release !== FAILED && sealed !== undefined && !flight.discarded) {
        const stored = await this.call('set', () => store.set(key, session, ttl, sealed));
        if (stored === false) flight.discarded = true;
      }
      return { session, minted: true };
    } finally {
      if (held !== undefined && this.#held.delete(held)) void this.call('unlock', () => held());
    }
  }

  /**
   * Waits at most `lockWaitMs` for the lock holder's mint. When a wait ends
   * empty-handed before then (the holder crashed and its lock lapsed, or its
   * mint failed and it let go), tries to take the lock over, and otherwise
   * waits for whichever instance did: a crashed holder costs the fleet one
   * more mint, not one per waiter. Resolves to the holder's session, or to
   * the lock to mint under.
   */
  async #waitForHolder(
    key: KsStoreKey,
    accept: (session: KsSession) => boolean,
    signal: AbortSignal,
  ): Promise<{ session: KsSession } | { release: LockState }> {
    const { store, lockWaitMs, lockTtlMs, storeTimeoutMs } = this.#options;
    const deadline = this.#options.now() + lockWaitMs;
    // The wait is bounded by a timer too, so a clock that stands still cannot stretch it.
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), lockWaitMs);
    timer.unref?.();
    const onAbort = () => budget.abort();
    if (signal.aborted) budget.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (let round = 0; round < WAIT_ROUNDS_MAX; round++) {
        const left = Math.max(1, Math.min(lockWaitMs, deadline - this.#options.now()));
        const waited = await this.call(
          'waitFor',
          () => store.waitFor(key, accept, left, budget.signal),
          left + storeTimeoutMs,
        );
        if (waited === FAILED) return { release: undefined };
        if (waited !== undefined && accept(waited)) return { session: waited };
        // It did not deliver in time (crashed, or slow): mint ourselves.
        if (budget.signal.aborted || this.#options.now() >= deadline) return { release: undefined };
        const release = await this.call('lock', () => store.lock(key, lockTtlMs));
        if (release !== undefined) return { release };
        // Another waiter took the lock over: wait for its mint instead.
      }
      return { release: undefined };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Whether a session read from the shared store may answer this request: its
   * KS says what its fields say and they match the request (reported as a
   * `store-error` when not: someone wrote what this issuer would never have),
   * and no revocation of the user the store has not confirmed predates it.
   */
  #usable(request: KeyedRequest, session: KsSession): boolean {
    const { mint } = request;
    const mismatch = sharedSessionMismatch(session, mint, this.#options.check);
    if (mismatch !== undefined) {
      this.#options.emit(() => ({
        type: 'store-error',
        operation: 'get',
        error: new KsError(
          'ERR_KS_RESPONSE',
          `The shared store held a session this issuer would not have accepted from its own minter, ignored: ${mismatch}`,
        ),
      }));
      return false;
    }
    return !this.#options.refuses(session, mint.userId);
  }

  /** A store call bounded by a timeout; failures are reported and become `FAILED`. */
  async call<T>(
    operation: string,
    call: () => Promise<T>,
    timeoutMs = this.#options.storeTimeoutMs,
  ): Promise<T | typeof FAILED> {
    const { emit, now } = this.#options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let armed = true;
    const started = this.#options.listening ? now() : 0;
    try {
      const result = await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          // The bound starts once this turn of the event loop is over, when the store's
          // command is on its way: a burst of calls made in one turn (a cold storm) queues
          // them all until the turn ends, and that is this process's time, not the store's.
          setImmediate(() => {
            if (!armed) return;
            timer = setTimeout(
              () =>
                // Read whatever I/O is waiting first: on a busy event loop the answer may be in
                // the socket already, and that is not a slow store (the poll phase comes
                // before setImmediate's).
                setImmediate(() =>
                  reject(
                    new KsError('ERR_KS_TIMEOUT', `The shared store took over ${timeoutMs} ms`),
                  ),
                ),
              timeoutMs,
            );
            timer.unref?.();
          });
        }),
      ]);
      emit(() => ({ type: 'store-call', operation, durationMs: now() - started }));
      return result;
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      emit(() => ({ type: 'store-error', operation, error }));
      return FAILED;
    } finally {
      armed = false;
      clearTimeout(timer);
    }
  }

  /** Lets go of every lock held: a mint that outlives the instance will never be written. */
  async close(): Promise<void> {
    const held = [...this.#held];
    this.#held.clear();
    await Promise.all(held.map((release) => this.call('unlock', () => release())));
  }
}

/** `store.get`, checked: a store that gives no fence could not keep a revocation from being undone. */
async function readShared(store: KsSharedStore, key: KsStoreKey): Promise<KsSharedRead> {
  const result = await store.get(key);
  if (typeof result !== 'object' || result === null || typeof result.fence !== 'string')
    throw invalidOption('store.get must resolve to { session, fence }');
  return result;
}
