import { backoffDelay } from '../backoff.js';
import type { Clock } from '../clock.js';
import type { KsError } from '../errors.js';

/** Credentials change only when someone changes them: they are probed slowly (ms). */
export const CREDENTIALS_PROBE = { baseMs: 10_000, maxMs: 120_000 } as const;

export type BreakerKind = 'credentials' | 'outage';

export interface BreakerState {
  kind: BreakerKind;
  /** The failure that opened (or last kept open) the breaker. */
  error: KsError;
  /** Consecutive failures of this kind, counting concurrent ones once. */
  count: number;
  /** From then on one mint may probe Kaltura again. */
  retryAt: number;
}

/**
 * The partner-wide breaker of an issuer. Kaltura being down, or refusing the issuer's
 * credentials, is the same for every user: once a mint has failed so, no user's mint is
 * started until `retryAt`, and then only one — the probe — at a time. Its success closes
 * the breaker for every user at once; its failure backs off further (`failureBackoff` for
 * an outage, `CREDENTIALS_PROBE` for credentials). Being one record, it cannot be evicted
 * by a busy cache.
 *
 * Mints that ran concurrently when Kaltura failed count as one failure: each mint carries
 * the `epoch` it started in, and only a failure from the current epoch counts (and starts
 * the next one). A success from an earlier epoch does not close the breaker either: it
 * started before the failure that opened it.
 */
export class PartnerBreaker {
  readonly #now: Clock;
  readonly #random: () => number;
  readonly #outage: { baseMs: number; maxMs: number };
  #state: BreakerState | undefined;
  #probing = false;
  #epoch = 0;

  constructor(now: Clock, random: () => number, outage: { baseMs: number; maxMs: number }) {
    this.#now = now;
    this.#random = random;
    this.#outage = outage;
  }

  get state(): BreakerState | undefined {
    return this.#state;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Open for credentials: nothing minted with them may be served. */
  get rejecting(): boolean {
    return this.#state?.kind === 'credentials';
  }

  /**
   * May a mint start now? `mint` when closed; when open, `probe` for one mint at a
   * time once `retryAt` has come; otherwise `undefined`.
   */
  admit(): 'mint' | 'probe' | undefined {
    const state = this.#state;
    if (state === undefined) return 'mint';
    if (this.#probing || this.#now() < state.retryAt) return undefined;
    this.#probing = true;
    return 'probe';
  }

  /** A KS minted by a mint that started in `epoch`, from credentials refused since: not to be served. */
  refuses(epoch: number): KsError | undefined {
    return this.rejecting && epoch < this.#epoch ? this.#state?.error : undefined;
  }

  /** A mint succeeded; returns the state it closed, if it closed one. */
  succeeded(epoch: number, probe: boolean): BreakerState | undefined {
    if (probe) this.#probing = false;
    const closed = this.#state;
    if (closed === undefined || epoch < this.#epoch) return undefined;
    this.#state = undefined;
    this.#epoch++;
    return closed;
  }

  /** A mint ended without a KS and without news (discarded, aborted): lets the next probe go. */
  settled(probe: boolean): void {
    if (probe) this.#probing = false;
  }

  /**
   * A mint failed in a partner-wide way. Returns the breaker's state and whether this
   * failure opened it (or turned an outage into refused credentials).
   */
  failed(
    kind: BreakerKind,
    error: KsError,
    epoch: number,
    probe: boolean,
  ): { state: BreakerState; opened: boolean } {
    if (probe) this.#probing = false;
    const current = this.#state;
    // Refused credentials outrank an outage; a network failure while probing credentials tells nothing new.
    const worse = current?.kind === 'outage' && kind === 'credentials';
    if (current !== undefined && epoch < this.#epoch && !worse) {
      return { state: current, opened: false };
    }
    const next: BreakerKind = current?.kind === 'credentials' ? 'credentials' : kind;
    const count = current?.kind === next ? current.count + 1 : 1;
    const { baseMs, maxMs } = next === 'credentials' ? CREDENTIALS_PROBE : this.#outage;
    const state: BreakerState = {
      kind: next,
      error: next === kind ? error : current!.error,
      count,
      retryAt: this.#now() + backoffDelay(count, baseMs, maxMs, this.#random),
    };
    this.#state = state;
    this.#epoch++;
    return { state, opened: current?.kind !== next };
  }

  /** Forgets an outage (`clear()` forgets every back-off); refused credentials stay refused. */
  forgetOutage(): void {
    if (this.#state?.kind !== 'outage') return;
    this.#state = undefined;
    this.#epoch++;
  }
}

export interface RequestFailure {
  count: number;
  retryAt: number;
  error: KsError;
}

/** Requests refused by Kaltura, remembered for their back-off. */
const REQUEST_FAILURES_MAX = 10_000;

/**
 * The back-off of requests Kaltura refused (a field it will not take, a KS not granted):
 * theirs alone, other requests go on. Bounded on its own — not by the cache, whose
 * evictions must not reset a back-off — forgetting the oldest first.
 */
export class RequestFailures {
  readonly #records = new Map<string, RequestFailure>();
  readonly #now: Clock;
  readonly #random: () => number;
  readonly #backoff: { baseMs: number; maxMs: number };

  constructor(now: Clock, random: () => number, backoff: { baseMs: number; maxMs: number }) {
    this.#now = now;
    this.#random = random;
    this.#backoff = backoff;
  }

  /** The key's failure while its back-off lasts. */
  backingOff(key: string): RequestFailure | undefined {
    const failure = this.#records.get(key);
    return failure !== undefined && this.#now() < failure.retryAt ? failure : undefined;
  }

  /** Counts a failure for `key`; `remember: false` computes the back-off without keeping it. */
  record(key: string, error: KsError, remember: boolean): RequestFailure {
    const count = (this.#records.get(key)?.count ?? 0) + 1;
    const { baseMs, maxMs } = this.#backoff;
    const failure = {
      count,
      retryAt: this.#now() + backoffDelay(count, baseMs, maxMs, this.#random),
      error,
    };
    if (remember) {
      this.#records.delete(key); // kept in the order of the latest failure
      if (this.#records.size >= REQUEST_FAILURES_MAX) {
        this.#records.delete(this.#records.keys().next().value as string);
      }
      this.#records.set(key, failure);
    }
    return failure;
  }

  delete(key: string): void {
    this.#records.delete(key);
  }

  clear(): void {
    this.#records.clear();
  }
}
