import { type Clock, MAX_CLOCK_OFFSET_MS } from '../clock.js';
import { KsError } from '../errors.js';

/** A measured offset is measured again after this long (ms). */
export const CLOCK_RECHECK_MS = 10 * 60_000;
/** After a failed measurement, the next one waits this long (ms). */
export const CLOCK_RETRY_MS = 30_000;

export interface ClockMeasurement {
  /** Kaltura's clock minus this server's, rounded up (see `KalturaClock`). */
  offsetMs: number;
  roundTripMs: number;
}

/**
 * What a remote minter needs of the clock: the offset it may promise an expiry by; and the
 * Kaltura client, to judge its widget session: the offset as known now.
 */
export interface KalturaClockView {
  offsetForMint(): number | Promise<number>;
  readonly offsetMs: number;
}

export interface KalturaClockOptions {
  now: Clock;
  /** Kaltura's `system.getTime` (unix seconds); `undefined`: nothing to measure, the offset is fixed. */
  getTime: ((signal: AbortSignal) => Promise<number>) | undefined;
  /** The offset before (or instead of) any measurement. */
  offsetMs: number;
  /** A measurement is given up after this long (ms); a mint waits for at most two of them. */
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
export class KalturaClock implements KalturaClockView {
  readonly #options: KalturaClockOptions;
  #offsetMs: number;
  /** A fixed offset, or one measured at least once: what an expiry may be promised by. */
  #known: boolean;
  #lastError: KsError | undefined;
  #nextAt = Number.NEGATIVE_INFINITY;
  #measuring: Promise<void> | undefined;

  constructor(options: KalturaClockOptions) {
    this.#options = options;
    this.#offsetMs = options.offsetMs;
    this.#known = options.getTime === undefined;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /**
   * Called before each mint: starts a measurement when one is due — in the background once
   * the offset is known, so that later measurements never hold a mint up.
   */
  ready(): void {
    if (this.#options.getTime === undefined || this.#measuring !== undefined) return;
    if (this.#known && this.#options.now() < this.#nextAt) return;
    // Cleared when it has settled (never synchronously, whatever getTime does).
    this.#measuring = this.#measure().finally(() => {
      this.#measuring = undefined;
    });
  }

  /**
   * The offset a mint may promise an expiry by. Until Kaltura's clock has been read once,
   * a mint waits for the reading under way or starts one, and tries once more if it fails
   * (a failed first reading is not left until `CLOCK_RETRY_MS` later), each reading bounded
   * by `timeoutMs` (at most half of `mintTimeoutMs`); if both fail the mint is refused
   * (`ERR_KS_UNAVAILABLE`, the reading's error as its cause): an offset of 0 in place of
   * Kaltura's could make an `expiresAt` later than the expiry Kaltura enforces.
   */
  offsetForMint(): number | Promise<number> {
    // Synchronous once known: a mint need not wait a tick for it.
    return this.#known ? this.#offsetMs : this.#firstReading();
  }

  async #firstReading(): Promise<number> {
    // The reading under way (or a new one), and once more if that one fails.
    for (let attempt = 0; attempt < 2 && !this.#known; attempt++) {
      this.ready();
      await this.#measuring;
    }
    if (!this.#known) {
      throw new KsError(
        'ERR_KS_UNAVAILABLE',
        "Kaltura's clock (system.getTime) could not be read yet, so no KS is minted: its expiry could not be promised on Kaltura's clock",
        { cause: this.#lastError },
      );
    }
    return this.#offsetMs;
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
      this.#known = true;
      this.#nextAt = after + CLOCK_RECHECK_MS;
      this.#options.onMeasured({ offsetMs, roundTripMs: Math.max(0, after - before) }, previous);
    } catch (cause) {
      this.#nextAt = now() + CLOCK_RETRY_MS;
      this.#lastError = controller.signal.aborted
        ? new KsError('ERR_KS_TIMEOUT', `system.getTime: no answer within ${timeoutMs} ms`)
        : cause instanceof KsError
          ? cause
          : new KsError('ERR_KS_UNAVAILABLE', "Kaltura's clock could not be read", { cause });
      this.#options.onError(this.#lastError);
    } finally {
      clearTimeout(timer);
      controller.abort(); // lets the race's listener go
    }
  }
}
