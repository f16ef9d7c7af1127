/** A clock: the current time in epoch milliseconds, like `Date.now`. Injected in tests. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Whole unix seconds, the unit of Kaltura's `validUntil`. */
export function unixSeconds(now: Clock): number {
  return Math.floor(now() / 1000);
}
