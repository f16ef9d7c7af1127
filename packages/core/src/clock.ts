import { invalidOption } from './options.js';

/** A clock: the current time in epoch milliseconds, like `Date.now`. Injected in tests. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Whole unix seconds, the unit of Kaltura's `validUntil`. */
export function unixSeconds(now: Clock): number {
  return Math.floor(now() / 1000);
}

/** An offset to Kaltura's clock further than this is not believed (ms): a day. */
export const MAX_CLOCK_OFFSET_MS = 24 * 3600_000;

/** The `kalturaClockOffsetMs` option (issuer and Kaltura client), checked. */
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
