import type { Clock } from '../clock.js';
import { KsError } from '../errors.js';
import { invalidOption } from '../options.js';

/** A measured offset is measured again after this long (ms). */
export const CLOCK_RECHECK_MS = 10 * 60_000;
/** After a failed measurement, the next one waits this long (ms). */
export const CLOCK_RETRY_MS = 30_000;
/** An answer further than this from the local clock is not believed (ms): a day. */
export const MAX_CLOCK_OFFSET_MS = 24 * 3600_000;

export interface ClockMeasurement {
  /** Kaltura's clock minus this server's, rounded up (see `KalturaClock`). */
  offsetMs: number;
  roundTripMs: number;
}

/** The `kalturaClockOffsetMs` option, checked. */
export function checkClockOffset(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    Math.abs(value) > MAX_CLOCK_OFFSET_MS
  ) {
    throw invalidOption(
      'kalturaClockOffsetMs must be a number of milliseconds, at most a day either way',
    );
  }
  return value;
}

/** What a remote minter needs of the clock: the offset, once the first measurement is in. */
export interface KalturaClockView {
  settled(): Promise<void> | undefined;
  readonly offsetMs: number;
}

export interface KalturaClockOptions {
  now: Clock;
  /** Kaltura's `system.getTime` (unix seconds); `undefined`: nothing to measure, the offset is fixed. */
  getTime: ((signal: AbortSignal) => Promise<number>) | undefined;
  /** The offset before (or instead of) any measurement. */
  offsetMs: number;
  /** A measurement is given up after this long (ms); the first mint waits for it at most this long. */
  timeoutMs: number;
  onMeasured(measurement: ClockMeasurement, previousOffsetMs: number): void;
  onError(error: KsError): void;
}

/**
 * Kaltura's clock as this server knows it. Kaltura refuses a KS once its own clock reaches
 * `validUntil`, with no grace, so every KS is signed in Kaltura's frame and every expiry is
 * brought back into this server's frame (`validUntil × 1000 − offsetMs`).
 *
 * The offset is learned from `system.getTime` — the very clock that checks `validUntil`,
 * unlike an HTTP `Date` header, which a load balancer or CDN in front of Kaltura may write
 * from its own clock — before the first mint, then every `CLOCK_RECHECK_MS` in the
 * background. Kaltura answers in whole seconds: its clock read `s` at some instant between
 * sending and receiving, so the offset lies in `[s·1000 − after, (s+1)·1000 − before]`. The
 * upper end is kept: an offset taken too large only makes a KS count as expiring a little
 * early (at most a second plus the round trip), never late.
 */
export class KalturaClock {
  readonly #options: KalturaClockOptions;
  #offsetMs: number;
  #nextAt = Number.NEGATIVE_INFINITY;
  #measuring: Promise<void> | undefined;
  /** The first measurement, which mints wait for; dropped once it has settled. */
  #first: Promise<void> | undefined;
  #firstSettled = false;

  constructor(options: KalturaClockOptions) {
    this.#options = options;
    this.#offsetMs = options.offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /**
   * Called before each mint: starts a measurement when one is due and, until the first
   * one has settled (at most `timeoutMs`), returns it to wait for. Afterwards `undefined`:
   * later measurements run in the background and never hold a mint up.
   */
  ready(): Promise<void> | undefined {
    if (this.#options.getTime === undefined) return undefined;
    if (this.#measuring === undefined && this.#options.now() >= this.#nextAt) {
      this.#measuring = this.#measure();
    }
    if (this.#firstSettled) return undefined;
    this.#first ??= this.#measuring?.finally(() => {
      this.#firstSettled = true;
      this.#first = undefined;
    });
    return this.#first;
  }

  /**
   * The first measurement while it runs, else `undefined`: a remote mint, which needs the
   * offset only once Kaltura has answered, waits for it then rather than before.
   */
  settled(): Promise<void> | undefined {
    return this.#firstSettled ? undefined : this.#first;
  }

  async #measure(): Promise<void> {
    const { now, getTime, timeoutMs } = this.#options;
    const controller = new AbortController();
    // Bounded here too, not only by the call honouring its signal.
    const expired = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
        once: true,
      });
    });
    expired.catch(() => {});
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref?.();
    const before = now();
    try {
      const seconds = await Promise.race([getTime!(controller.signal), expired]);
      const after = now();
      const offsetMs = (seconds + 1) * 1000 - before;
      if (!Number.isSafeInteger(seconds) || Math.abs(offsetMs) > MAX_CLOCK_OFFSET_MS) {
        throw new KsError(
          'ERR_KS_RESPONSE',
          'system.getTime: Kaltura answered a time more than a day from this server’s clock; it is not used',
        );
      }
      const previous = this.#offsetMs;
      this.#offsetMs = offsetMs;
      this.#nextAt = after + CLOCK_RECHECK_MS;
      this.#options.onMeasured({ offsetMs, roundTripMs: Math.max(0, after - before) }, previous);
    } catch (cause) {
      this.#nextAt = now() + CLOCK_RETRY_MS;
      this.#options.onError(
        controller.signal.aborted
          ? new KsError('ERR_KS_TIMEOUT', `system.getTime: no answer within ${timeoutMs} ms`)
          : cause instanceof KsError
            ? cause
            : new KsError('ERR_KS_UNAVAILABLE', "Kaltura's clock could not be read", { cause }),
      );
    } finally {
      clearTimeout(timer);
      controller.abort(); // lets the race's listener go
      this.#measuring = undefined;
    }
  }
}
