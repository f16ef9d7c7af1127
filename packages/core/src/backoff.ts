/** How a back-off delay is drawn below its ceiling. */
export type BackoffJitter = 'equal' | 'full';

/**
 * Exponential back-off: the delay before the try that follows the n-th
 * consecutive failure (`failures`, 1-based). Its ceiling is `baseMs` doubled
 * per earlier failure, capped at `maxMs`; the delay is drawn below it so that
 * a fleet does not retry in step:
 *
 * - `'equal'` (equal jitter, the default): uniform in [ceiling / 2, ceiling],
 *   rounded to the ms — never sooner than half the ceiling, so a dependency
 *   that is down is not hammered. The issuer's breaker and revocation retries,
 *   the Redis store's reconnections, and the browser client (its own copy,
 *   checked against this one in packages/testing/src/backoff.test.ts through its retries).
 * - `'full'` (full jitter): uniform in [0, ceiling), rounded down — spreads the
 *   tries widest; the Kaltura API client's retries, few and under a deadline.
 *
 * `random` is in [0, 1). The exponent stops at 30 (no overflow to Infinity or NaN).
 */
export function backoffDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
  jitter: BackoffJitter = 'equal',
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return jitter === 'full'
    ? Math.floor(random() * ceiling)
    : Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
